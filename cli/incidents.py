"""``gridgeo incidents``: the incident jobs from the command line (cron, replays, checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from cli.db import database, load_settings, transaction
from gridgeo.audit import cli_actor
from gridgeo.clock import utcnow
from gridgeo.errors import InvalidInput
from gridgeo.incidents.escalation import escalate_once
from gridgeo.versions import parse_instant


class Instant(click.ParamType):
    """An ISO 8601 time, answered in UTC.

    With an offset as given; without one China time (UTC+8), as the README says of every time
    without a zone (the rule is :func:`gridgeo.versions.parse_instant`).
    """

    name = "time"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """The instant in UTC, or a usage error naming the option."""
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value)).astimezone(UTC)
        except InvalidInput:
            self.fail(
                f"'{value}' is not an ISO time such as 2026-12-07T08:18:46+08:00 or "
                "2026-12-07T08:18 (China time)",
                param,
                ctx,
            )


@click.group("incidents")
def incidents_group() -> None:
    """Incident jobs."""


@incidents_group.command("escalate")
@click.option(
    "--at",
    "at",
    type=Instant(),
    default=None,
    help="Escalate as of this time (default: now): ISO 8601, China time unless it has an "
    "offset (2026-12-07T08:18:46+08:00, 2026-12-07T00:18Z); for replays and checks.",
)
@click.option("--commit", is_flag=True, help="Apply the escalation (default: a dry run).")
def escalate_cmd(at: datetime | None, commit: bool) -> None:
    """Move every overdue open incident one level up the hierarchy.

    The job the server runs every GRIDGEO_ESCALATION_INTERVAL_S seconds, under the same lock:
    while another process is escalating, nothing is done (exit status 3).
    """
    now = at if at is not None else utcnow().replace(microsecond=0)
    with database() as db:
        moved = escalate_once(db.engine, now, actor=cli_actor(), commit=commit)
    if moved is None:
        click.echo("another process is escalating right now; nothing done", err=True)
        raise SystemExit(3)
    for incident_id, queue, level in moved:
        click.echo(f"incident {incident_id:>8} → level {level} queue {queue}")
    if commit:
        click.echo(f"{len(moved)} incidents escalated as of {now.isoformat()}")
    else:
        click.echo(
            f"dry run: {len(moved)} incidents would be escalated as of {now.isoformat()}; "
            "add --commit to apply"
        )


@incidents_group.command("photos")
@click.option(
    "--min-age",
    default=3600.0,
    show_default=True,
    help="Seconds before an unreferenced file counts as an orphan.",
)
@click.option("--commit", is_flag=True, help="Delete the orphan files (default: only list).")
def photos_cmd(min_age: float, commit: bool) -> None:
    """Check the photo folder: every recorded photo's file present with its SHA-256; orphans.

    Exit status 1 when a recorded photo's file is missing or altered.
    """
    from gridgeo.incidents.photos import PhotoStore, check_store

    store = PhotoStore(load_settings().photo_dir)
    with database() as db, db.engine.connect() as conn:
        found = check_store(conn, store, min_age_s=min_age)
    for pid, sha in found.missing:
        click.echo(f"photo {pid}: file missing ({sha})")
    for pid, sha in found.altered:
        click.echo(f"photo {pid}: file altered, checksum differs ({sha})")
    for path in found.orphans:
        if commit:
            path.unlink(missing_ok=True)
        click.echo(f"orphan {'removed' if commit else 'file'}: {path}")
    bad = len(found.missing) + len(found.altered)
    click.echo(
        f"{found.rows} photos recorded in {store.root}: {bad} bad, {len(found.orphans)} orphan "
        f"files{' removed' if commit else ''}"
    )
    if bad:
        raise SystemExit(1)


@incidents_group.command("classification")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
def classification_cmd(file: Path, commit: bool) -> None:
    """Import a classification table (CSV: code, name …) into the incident categories.

    导入事件分类代码表(CJ/T 214、GB/T 30428.2、GB/T 47678.5)。Each code becomes the category
    of its key (existing categories get the code), and Open311's service_code.
    """
    from gridgeo.incidents.codes import import_classification

    with transaction() as conn:
        report = import_classification(conn, file, commit=commit, actor=cli_actor())
        click.echo(report.to_text())
    if commit:
        click.echo("分类已导入 committed")
    else:
        click.echo("dry run: nothing written (add --commit to write)")
    if report.errors:
        raise SystemExit(1)
