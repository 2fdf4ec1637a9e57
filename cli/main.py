"""The ``gridgeo`` command line."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from cli.db import database, load_settings, transaction
from gridgeo.audit import cli_actor, record


@click.group()
@click.version_option(package_name="gridgeo")
def main() -> None:
    """gridgeo: grid management (网格化管理) on PostGIS."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Do not load the demo city into an empty database.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, no_demo: bool, workers: int) -> None:
    """Serve the HTTP API (starts the embedded PostGIS unless GRIDGEO_DATABASE_URL is set)."""
    from api.serve import serve as run

    run(load_settings(), host, port, demo=not no_demo, workers=workers)


@main.command()
def demo() -> None:
    """Generate and load the demo city (奎文区: 65 communities, 386 grids) if the store is empty."""
    from cli.demo import load_demo_if_empty

    with database() as db:
        load_demo_if_empty(db, load_settings(), force_message=True)


@main.command()
def assign() -> None:
    """(Re)assign every household to its leaf grid; report assigned / unassigned."""
    from cli.progress import Stages
    from gridgeo.bulk_assign import assign_households

    with Stages("assign", ["database", "assign", "commit"]) as stages, database() as db:
        stages.next()
        with db.engine.begin() as conn:
            report = assign_households(conn)
            counts = {
                k: v for k, v in asdict(report).items() if k not in ("unassigned_sample", "seconds")
            }
            record(conn, cli_actor(), "assign", "households", None, **counts)
            stages.next()
    click.echo(
        f"households {report.households:,}: assigned {report.assigned:,}, "
        f"changed {report.changed:,}, unassigned {report.unassigned:,}"
    )
    for hid, code, dist in report.unassigned_sample:
        click.echo(f"  unassigned household {hid}: nearest grid {code} at {dist:,.1f} m")


@main.command()
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--building", default=None, help="A building's code: its point and unit decide.")
@click.option("--unit", default=None, help="The unit (单元) number in that building.")
def locate(lon: float, lat: float, building: str | None, unit: str | None) -> None:
    """Print the chain of grids that covers LON LAT (WGS84), or holds a building's unit."""
    from gridgeo.assign import locate as find

    with transaction() as conn:
        loc = find(conn, lon, lat, building=building, unit=unit)
    if loc.chain:
        for item in loc.chain:
            click.echo(f"{item.level:<10} {item.code:<16} {item.name}")
        return
    if loc.nearest is None:
        click.echo("outside every grid (the store has no grids)")
    else:
        n = loc.nearest
        click.echo(
            f"outside every grid; nearest: {n.level} {n.code} {n.name} at {n.distance_m:,.1f} m"
        )
    sys.exit(1)


from cli.imports import import_group  # noqa: E402
from cli.users import user_group  # noqa: E402

main.add_command(import_group)
main.add_command(user_group)
from cli.workload import workload_cmd  # noqa: E402

main.add_command(workload_cmd)
from cli.export import export_group  # noqa: E402

main.add_command(export_group)
from cli.balance import balance_cmd  # noqa: E402

main.add_command(balance_cmd)
from cli.incidents import incidents_group  # noqa: E402

main.add_command(incidents_group)
import cli.lines  # noqa: E402,F401  (registers ``gridgeo import lines``)
from cli.plans import plan_group  # noqa: E402

main.add_command(plan_group)
from cli.maps import map_cmd  # noqa: E402

main.add_command(map_cmd)
from cli.backup import backup_cmd, restore_cmd  # noqa: E402

main.add_command(backup_cmd)
main.add_command(restore_cmd)
from cli.evaluation import evaluation_cmd  # noqa: E402
from cli.residents import residents_group  # noqa: E402

main.add_command(evaluation_cmd)
from cli.buildings import buildings_cmd  # noqa: E402

main.add_command(buildings_cmd)
main.add_command(residents_group)
from cli.batch import batch_group  # noqa: E402  (also registers ``gridgeo import assignments``)

main.add_command(batch_group)
