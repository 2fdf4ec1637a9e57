"""``gridgeo export grids|buildings|households|incidents``: the store to files."""

from __future__ import annotations

from pathlib import Path

import click

from boundaries.export import export_grids
from cli.db import transaction
from gridgeo.levels import load_hierarchy
from gridgeo.versions import parse_instant, parse_until


@click.group("export")
def export_group() -> None:
    """Export grids, buildings, households or incidents (GeoParquet, GeoPackage, GeoJSON …)."""


@export_group.command("grids")
@click.option("--level", required=True, help="Level to export (district, street, …).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: .geojson, .gpkg, .shp or .parquet (GeoParquet).",
)
@click.option("--crs", type=click.Choice(["4326", "4490"]), default="4326", show_default=True)
@click.option("--at", default=None, help="As it stood at this date (China time unless offset).")
def export_grids_cmd(level: str, out: Path, crs: str, at: str | None) -> None:
    """Write the grids of LEVEL to OUT (fields: code, name, parent_code, workers, version…)."""
    with transaction() as conn:
        when = parse_instant(at, "--at") if at is not None else None
        n = export_grids(conn, load_hierarchy(conn), level, out, crs=int(crs), at=when)
    click.echo(f"{n:,} {level} areas written to {out} (EPSG:{crs})")


@export_group.command("buildings")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: .parquet (GeoParquet), .gpkg or .geojson.",
)
@click.option("--area", default=None, help="Only buildings of communities under this code.")
def export_buildings_cmd(out: Path, area: str | None) -> None:
    """Write buildings with their units and households (gridgeo import buildings reads it back).

    导出楼栋(含单元数、户数)。
    """
    from boundaries.export import export_buildings

    with transaction() as conn:
        n = export_buildings(conn, out, area=area)
    click.echo(f"已导出 {n:,} 栋楼 {n:,} buildings written to {out}")


@export_group.command("households")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: .parquet (GeoParquet), written chunk by chunk.",
)
@click.option("--area", default=None, help="Only households in grids under this code.")
def export_households_cmd(out: Path, area: str | None) -> None:
    """Write household points with their counts, addresses, ids and grids (personal data).

    导出住户点位(含户数、地址、编号、所在网格;个人信息,注意保管)。Read back with
    ``gridgeo import households OUT --address-field address --external-id-field external_id``.
    """
    from boundaries.export import export_households

    with transaction() as conn:
        n = export_households(conn, out, area=area)
    click.echo(f"已导出 {n:,} 个住户点位 {n:,} household points written to {out}")


@export_group.command("incidents")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: .csv, .geojson, .gpkg or .parquet.",
)
@click.option(
    "--from", "start", default=None, help="Reported at or after (China time unless offset)."
)
@click.option("--to", "end", default=None, help="Reported at or before; a date: the whole day.")
@click.option("--state", default=None)
@click.option("--category", default=None)
@click.option("--area", default=None, help="An area code (and everything below).")
def export_incidents_cmd(
    out: Path, start: str | None, end: str | None, state: str | None, category: str | None,
    area: str | None,
) -> None:  # fmt: skip
    """Write incidents to OUT with their category's classification code (category_code).

    导出事件(含分类编码)。Times in China time with their offset; the state as its key and in
    words.
    """
    from gridgeo.clock import utcnow
    from gridgeo.incidents.export import export_incidents

    with transaction() as conn:
        n = export_incidents(
            conn, out, areas=None, names=True, now=utcnow(),
            since=parse_instant(start, "--from") if start else None,
            until=parse_until(end, "--to") if end else None,
            state=state, category=category, area=area,
        )  # fmt: skip
    click.echo(f"已导出 {n:,} 件事件 {n:,} incidents written to {out}")
