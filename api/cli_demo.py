"""Loading the demo city from the command line."""

from __future__ import annotations

import time

import click
from sqlalchemy import text

from gridgeo.db import Database


def load_demo_if_empty(db: Database, force_message: bool = False) -> dict[str, int] | None:
    """Generate and load the demo city when the database has no grids yet."""
    with db.engine.begin() as conn:
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM grids)")).scalar():
            if force_message:
                click.echo("gridgeo: the database already has grids; the demo city is not loaded")
            return None
    from gridgeo.demo import build_demo_city, load_demo

    click.echo("gridgeo: empty database: generating the demo city (奎文区) …")
    start = time.perf_counter()
    city = build_demo_city()
    with db.engine.begin() as conn:
        counts = load_demo(conn, city)
    took = time.perf_counter() - start
    shown = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    click.echo(f"gridgeo: demo city loaded in {took:.1f} s: {shown}")
    return counts
