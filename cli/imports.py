"""``gridgeo import grids|households``: dry run by default, ``--commit`` writes all or nothing."""

from __future__ import annotations

from pathlib import Path

import click

from cli.db import load_settings
from gridgeo.audit import cli_actor, record
from gridgeo.db import open_database
from gridgeo.errors import GridgeoError
from gridgeo.versions import record_change


@click.group("import")
def import_group() -> None:
    """Import grids or households from files (dry run unless --commit)."""


def run_import(
    kind: str, file: Path, commit: bool, call: object, message: str | None = None
) -> None:
    """Open the database, run ``call(conn)`` in one transaction, print its report.

    With ``message``, a committed import of grids is recorded as a change (who and why) that
    stamps the grid versions it writes.
    """
    settings = load_settings()
    try:
        db = open_database(settings.database)
    except GridgeoError as exc:
        raise click.ClickException(exc.message) from exc
    try:
        with db.engine.begin() as conn:
            try:
                if commit and message is not None:
                    record_change(conn, cli_actor(), message, "import", file=str(file))
                report = call(conn)  # type: ignore[operator]
            except GridgeoError as exc:
                rep = exc.detail.get("report")
                if rep is not None and hasattr(rep, "to_text"):
                    click.echo(rep.to_text())
                raise click.ClickException(exc.message + "; nothing was written") from exc
            click.echo(report.to_text())
            if commit:
                record(conn, cli_actor(), "import", kind, None, file=str(file), **summary(report))
            if not commit:
                click.echo(f"dry run: no {kind} written (add --commit to write)")
    finally:
        db.close()


def summary(report: object) -> dict[str, object]:
    """Counts of a report for the audit log (no personal data)."""
    out: dict[str, object] = {}
    for name in ("errors", "warnings"):
        value = getattr(report, name, None)
        if value is not None:
            out[name] = len(value)
    to_dict = getattr(report, "to_dict", None)
    if callable(to_dict):
        data = to_dict()
        for key in ("inserted", "assigned", "unassigned", "features"):
            if isinstance(data, dict) and key in data:
                out[key] = data[key]
    return out


@import_group.command("grids")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--level", required=True, help="Level of the features (district, street, …).")
@click.option("--layer", default=None, help="Layer of a GeoPackage.")
@click.option("--code-field", default="code", show_default=True)
@click.option("--name-field", default="name", show_default=True)
@click.option("--parent-field", default=None, help="Field with the parent's code.")
@click.option("--workers-field", default=None, help="Field with the number of workers.")
@click.option(
    "--tolerance",
    type=float,
    default=None,
    help="Metres a child may stick out (default: GRIDGEO_EDGE_TOLERANCE_M, 1).",
)
@click.option("--fix", is_flag=True, help="Repair invalid geometry (make_valid) and report it.")
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
@click.option("--message", "-m", default=None, help="Why (kept with the grid versions).")
def import_grids_cmd(
    file: Path,
    level: str,
    layer: str | None,
    code_field: str,
    name_field: str,
    parent_field: str | None,
    workers_field: str | None,
    tolerance: float | None,
    fix: bool,
    commit: bool,
    message: str | None,
) -> None:
    """Import grid boundaries of one level from GeoJSON, GeoPackage, Shapefile or GeoParquet."""
    from boundaries.importer import import_grids

    tolerance_m = load_settings().boundaries.edge_tolerance_m if tolerance is None else tolerance
    run_import(
        "grids",
        file,
        commit,
        lambda conn: import_grids(
            conn,
            file,
            level,
            code_field=code_field,
            name_field=name_field,
            parent_field=parent_field,
            workers_field=workers_field,
            commit=commit,
            fix=fix,
            tolerance_m=tolerance_m,
            layer=layer,
        ),
        message=message or f"import {file.name} ({level})",
    )


@import_group.command("households")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option(
    "--addresses",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV of Chinese addresses (3号楼2单元501室, 3-2-502 …) matched to stored buildings.",
)
@click.option("--compound", default=None, help="--addresses: compound of addresses naming none.")
@click.option("--community", default=None, help="--addresses: match buildings of this community.")
@click.option("--layer", default=None)
@click.option(
    "--count-field",
    default=None,
    help="Households at each point (default: a field households, 户数 or household_count; else 1).",
)
@click.option("--address-field", default=None)
@click.option("--external-id-field", default=None)
@click.option("--lon-field", default=None, help="CSV: longitude column (auto-detected).")
@click.option("--lat-field", default=None, help="CSV: latitude column (auto-detected).")
@click.option(
    "--chunk-rows",
    type=int,
    default=100_000,
    show_default=True,
    help="Points read, checked and written at a time (memory is that of one chunk).",
)
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
def import_households_cmd(
    file: Path | None,
    addresses: Path | None,
    compound: str | None,
    community: str | None,
    layer: str | None,
    count_field: str | None,
    address_field: str | None,
    external_id_field: str | None,
    lon_field: str | None,
    lat_field: str | None,
    chunk_rows: int,
    commit: bool,
) -> None:
    """Import household points (GeoParquet, GeoJSON, GeoPackage, CSV with lon/lat) or addresses.

    The file is read, checked and written chunk by chunk: 10,000,000 points fit in well under
    2 GB of memory, the report still lists every bad row (row numbers from 0, in file order),
    and a commit writes every row or none.

    With --addresses, each address is parsed into building, unit, floor and room and matched
    to a stored building; lines that cannot be parsed or matched are listed and not written.
    """
    if addresses is not None:
        from boundaries.buildings import import_addresses

        run_import(
            "households",
            addresses,
            commit,
            lambda conn: import_addresses(
                conn, addresses, address_field=address_field, count_field=count_field,
                external_id_field=external_id_field, compound=compound, community=community,
                commit=commit, actor=cli_actor(),
            ),
        )  # fmt: skip
        return
    if file is None:
        raise click.UsageError("give a FILE of household points, or --addresses CSV")
    from boundaries.importer import import_households

    run_import(
        "households",
        file,
        commit,
        lambda conn: import_households(
            conn,
            file,
            count_field=count_field,
            address_field=address_field,
            external_id_field=external_id_field,
            lon_field=lon_field,
            lat_field=lat_field,
            commit=commit,
            layer=layer,
            chunk_rows=chunk_rows,
        ),
    )


@import_group.command("buildings")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", default=None)
@click.option("--code-field", default=None, help="Stable id (default: code, 编号).")
@click.option("--number-field", default=None, help="楼号 (default: number, 楼号).")
@click.option("--name-field", default=None)
@click.option("--compound-field", default=None, help="小区 (default: compound, 小区).")
@click.option("--floors-field", default=None, help="Floors (default: floors, 层数).")
@click.option("--units-field", default=None, help="Units 单元数 (default: units, 单元数).")
@click.option("--households-field", default=None, help="Households (default: households, 户数).")
@click.option("--community", default=None, help="Community code of every building.")
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
def import_buildings_cmd(
    file: Path,
    layer: str | None,
    code_field: str | None,
    number_field: str | None,
    name_field: str | None,
    compound_field: str | None,
    floors_field: str | None,
    units_field: str | None,
    households_field: str | None,
    community: str | None,
    commit: bool,
) -> None:
    """Import building footprints (GeoJSON, GeoPackage, Shapefile, GeoParquet) with their units."""
    from boundaries.buildings import import_buildings

    fields = {"code": code_field, "number": number_field, "name": name_field,
              "compound": compound_field, "floors": floors_field, "units": units_field,
              "households": households_field}  # fmt: skip
    run_import(
        "buildings",
        file,
        commit,
        lambda conn: import_buildings(
            conn, file, fields=fields, community=community, commit=commit, layer=layer,
            actor=cli_actor(),
        ),
    )  # fmt: skip


@import_group.command("workers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
def import_workers_cmd(file: Path, commit: bool) -> None:
    """Import worker rosters from CSV/XLSX (grid_code,name,role,full_time[,phone,external_id]).

    The file is the named roster of every grid it names: their named workers are replaced.
    """
    from cli.db import transaction
    from gridgeo.workers import import_workers, report_text

    with transaction() as conn:
        report = import_workers(
            conn, file.read_bytes(), file.name, actor=cli_actor(), commit=commit
        )
        click.echo(report_text(report))
    if not commit:
        click.echo("dry run: no workers written (add --commit to write)")
