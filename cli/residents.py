"""``gridgeo residents``: jobs on residents' matters (the purge of their personal data)."""

from __future__ import annotations

from datetime import datetime

import click

from cli.db import database, load_settings
from cli.incidents import Instant
from gridgeo.clock import utcnow
from gridgeo.residents.purge import purge_personal_data


@click.group("residents")
def residents_group() -> None:
    """Residents' matters (居民提事)."""


@residents_group.command("purge")
@click.option("--at", "at", type=Instant(), default=None,
              help="Purge as of this time (default: now), ISO 8601, China time without offset.")  # fmt: skip
@click.option("--commit", is_flag=True, help="Remove the data (default: a dry run).")
def purge_cmd(at: datetime | None, commit: bool) -> None:
    """Remove the phone numbers and client addresses of matters closed long enough ago.

    Closed (or rejected) more than GRIDGEO_RESIDENT_PHONE_RETENTION_DAYS ago.
    """
    now = at if at is not None else utcnow().replace(microsecond=0)
    days = load_settings().residents.resident_phone_retention_days
    with database() as db, db.engine.begin() as conn:
        tracking = purge_personal_data(conn, now=now, retention_days=days, commit=commit)
    for t in tracking:
        click.echo(t)
    if commit:
        click.echo(f"{len(tracking)} matters purged of phone and address as of {now.isoformat()}")
    else:
        click.echo(f"dry run: {len(tracking)} matters would be purged; add --commit to apply")
