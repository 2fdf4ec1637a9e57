"""``gridgeo batch assign|validate`` on Dask, and ``gridgeo import assignments`` of the answers.

Every batch runs on a LocalCluster of this machine unless ``--scheduler ADDRESS`` names a
running Dask scheduler (docs/batch.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.db import load_settings
from cli.imports import import_group, run_import
from gridgeo.errors import GridgeoError

if TYPE_CHECKING:
    from gridgeo.batch.cluster import ClusterSpec


def _spec(scheduler: str, workers: int | None, threads_only: bool) -> ClusterSpec:
    from gridgeo.batch.cluster import ClusterSpec

    return ClusterSpec(scheduler=scheduler, workers=workers, processes=not threads_only)


_SCHEDULER = click.option(
    "--scheduler", default="", help="A Dask scheduler (tcp://host:8786); default: a LocalCluster."
)
_WORKERS = click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="LocalCluster workers."
)
_THREADS = click.option(
    "--threads-only", is_flag=True, help="LocalCluster workers as threads of this process."
)


@click.group("batch")
def batch_group() -> None:
    """Batches across cities on Dask: assign households, validate boundary files."""


@batch_group.command("assign")
@click.option(
    "--grids",
    "grids_source",
    required=True,
    help="A database URL, or a file (GeoParquet, GeoPackage…) with code, depth or level.",
)
@click.option("--households", required=True, help="GeoParquet files of points: 'PATH/*.parquet'.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--partitions", type=click.IntRange(min=1), default=None, help="Partitions (default: files)."
)
@_SCHEDULER
@_WORKERS
@_THREADS
def batch_assign_cmd(
    grids_source: str,
    households: str,
    out: Path,
    partitions: int | None,
    scheduler: str,
    workers: int | None,
    threads_only: bool,
) -> None:
    """Assign households to grids by the database's rule; write GeoParquet and a summary."""
    from gridgeo.batch.assign import COUNTS, SUMMARY, batch_assign
    from gridgeo.batch.cluster import dask_client
    from gridgeo.batch.grids import read_grids

    try:
        grids = read_grids(grids_source)
        with dask_client(_spec(scheduler, workers, threads_only)) as client:
            s = batch_assign(client, grids, households, out, npartitions=partitions)
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"{s['points']:,} points ({s['households']:,} households) in {s['partitions']} "
        f"partitions on {s['workers']} workers: {s['assigned_points']:,} in a grid, "
        f"{s['outside_points']:,} outside every grid (nearest grid and metres given)"
    )
    click.echo(
        f"{s['seconds']:.1f} s; worker-seconds: join {s['join_seconds']:.1f}, write "
        f"{s['write_seconds']:.1f}; phases {s['phases']}"
    )
    click.echo(f"written to {out} (summary {out / SUMMARY}, households per grid {out / COUNTS})")


@batch_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--level", required=True, help="Level of every file's features.")
@click.option("--code-field", default="code", show_default=True)
@click.option("--name-field", default="name", show_default=True)
@click.option("--parent-field", default=None)
@click.option("--workers-field", default=None)
@click.option("--tolerance", type=float, default=None, help="Metres (default: the setting).")
@click.option("--fix", is_flag=True, help="Repair invalid geometry before the checks.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_SCHEDULER
@_WORKERS
@_THREADS
def batch_validate_cmd(
    files: tuple[str, ...],
    level: str,
    code_field: str,
    name_field: str,
    parent_field: str | None,
    workers_field: str | None,
    tolerance: float | None,
    fix: bool,
    csv_out: Path | None,
    json_out: Path | None,
    scheduler: str,
    workers: int | None,
    threads_only: bool,
) -> None:
    """The import report of every FILE against the store, in parallel, as one table.

    Nothing is written to the store. Exits 1 when any file has errors.
    """
    from gridgeo.batch.cluster import dask_client
    from gridgeo.batch.validate import Options, as_csv, as_json, as_text, validate_files
    from gridgeo.db import open_database

    settings = load_settings()
    opts = Options(
        level=level,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
        workers_field=workers_field,
        tolerance_m=settings.boundaries.edge_tolerance_m if tolerance is None else tolerance,
        fix=fix,
    )
    try:
        db = open_database(settings.database)
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc
    try:
        url = db.engine.url.render_as_string(hide_password=False)
        paths = [str(Path(f).resolve()) for f in files]
        if len(paths) == 1 and not scheduler:
            rows = validate_files(None, url, paths, opts)
        else:
            with dask_client(_spec(scheduler, workers, threads_only)) as client:
                rows = validate_files(client, url, paths, opts)
    finally:
        db.close()
    click.echo(as_text(rows))
    if csv_out is not None:
        csv_out.write_text(as_csv(rows), encoding="utf-8")
        click.echo(f"table written to {csv_out}")
    if json_out is not None:
        json_out.write_text(as_json(rows), encoding="utf-8")
        click.echo(f"reports written to {json_out}")
    if any(not r["ok"] for r in rows):
        raise SystemExit(1)


@import_group.command("assignments")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
def import_assignments_cmd(file: Path, commit: bool) -> None:
    """Load a batch's answers (gridgeo batch assign --out) into this city's household grids.

    Households are matched by external_id; answers for other cities' households are counted
    and left alone.
    """
    from gridgeo.batch.results import load_assignments

    run_import(
        "assignments", file, commit, lambda conn: load_assignments(conn, file, commit=commit)
    )
