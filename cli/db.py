"""Opening the database for one command-line command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import Connection

from gridgeo.db import Database, open_database
from gridgeo.errors import GridgeoError
from gridgeo.settings import Settings, get_settings


def load_settings() -> Settings:
    """The settings from the environment; a refused one becomes a clear CLI message."""
    try:
        return get_settings()
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc


@contextmanager
def database() -> Iterator[Database]:
    """The configured database (starting the embedded cluster for the command if needed)."""
    settings = load_settings()
    try:
        db = open_database(settings.database)
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc
    try:
        yield db
    finally:
        db.close()


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction: committed on success; a core error becomes a clear CLI message."""
    with database() as db, db.engine.begin() as conn:
        try:
            yield conn
        except GridgeoError as exc:
            raise click.ClickException(exc.message + "; nothing was changed") from exc
