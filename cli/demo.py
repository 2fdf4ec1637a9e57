"""Loading the demo city from the command line."""

from __future__ import annotations

import time

import click
from sqlalchemy import Connection, text

from gridgeo.accounts import add_user
from gridgeo.audit import record
from gridgeo.clock import utcnow
from gridgeo.db import Database
from gridgeo.settings import Settings

# Documented in the README; `serve` refuses to start with them when GRIDGEO_ENV=production.
DEMO_PASSWORDS = {
    "admin": "admin-demo-2026",
    "planner": "planner-demo-2026",
    "dispatcher": "dispatcher-demo-2026",
    "patrol": "patrol-demo-2026",
    "viewer": "viewer-demo-2026",
}


def load_demo_if_empty(
    db: Database, settings: Settings, force_message: bool = False
) -> dict[str, int] | None:
    """Generate and load the demo city when the database has no grids yet."""
    with db.engine.begin() as conn:
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM grids)")).scalar():
            if force_message:
                click.echo("gridgeo: the database already has grids; the demo city is not loaded")
            return None
    from gridgeo.demo.city import build_demo_city, load_demo
    from gridgeo.demo.history_load import load_history
    from gridgeo.demo.incidents import seed_demo_incidents

    click.echo("gridgeo: empty database: generating the demo city (奎文区) …")
    start = time.perf_counter()
    city = build_demo_city()
    with db.engine.begin() as conn:
        counts = load_demo(conn, city)
        record(conn, "demo", "demo.load", "grids", None, **counts)
        accounts = add_demo_accounts(conn)
        now = utcnow()
        counts |= load_history(conn, now)  # a year of history, for the dashboard
        snap_m = settings.incidents.incident_snap_m
        counts |= seed_demo_incidents(conn, now, snap_m=snap_m)
    took = time.perf_counter() - start
    shown = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    click.echo(f"gridgeo: demo city loaded in {took:.1f} s: {shown}")
    click.echo("gridgeo: demo accounts (documented passwords; change them or disable them):")
    for name, role, area, password in accounts:
        click.echo(f"    {name:<11} role {role:<11} area {area or 'all':<16} password {password}")
    return counts


def add_demo_accounts(conn: Connection) -> list[tuple[str, str, str | None, str]]:
    """One account per role with a documented demo password (refused in production).

    The planner, dispatcher and patrol accounts work in the first street of the demo district;
    the patrol worker has one grid of it; the viewer (a leader) sees the whole district.
    """
    district = conn.execute(
        text(
            "SELECT g.code FROM grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.depth = 0 ORDER BY g.code LIMIT 1"
        )
    ).scalar_one()
    street = conn.execute(
        text(
            "SELECT g.code FROM grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.depth = 1 ORDER BY g.code LIMIT 1"
        )
    ).scalar_one()
    grid = conn.execute(
        text(
            "SELECT g.code FROM grids g JOIN levels l ON l.id = g.level_id "
            "WHERE l.key = 'grid' AND g.code LIKE :s ORDER BY g.code LIMIT 1"
        ),
        {"s": street + "%"},
    ).scalar_one()
    plan = [
        ("admin", "admin", None),
        ("planner", "planner", street),
        ("dispatcher", "dispatcher", street),
        ("patrol", "patrol", grid),
        ("viewer", "viewer", district),
    ]
    out = []
    for name, role, area in plan:
        password = DEMO_PASSWORDS[name]
        add_user(
            conn,
            name=name,
            role=role,
            areas=[area] if area else [],
            password=password,
            actor="demo",
            demo=True,
        )
        out.append((name, role, area, password))
    return out
