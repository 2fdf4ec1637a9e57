"""``gridgeo export grids``: a level (current, or as it stood at a date) to a file."""

from __future__ import annotations

from pathlib import Path

import click

from boundaries.export import export_grids
from cli.db import transaction
from gridgeo.levels import load_hierarchy
from gridgeo.versions import parse_instant


@click.group("export")
def export_group() -> None:
    """Export grids to GeoJSON, GeoPackage or Shapefile."""


@export_group.command("grids")
@click.option("--level", required=True, help="Level to export (district, street, …).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: .geojson, .gpkg or .shp.",
)
@click.option("--crs", type=click.Choice(["4326", "4490"]), default="4326", show_default=True)
@click.option("--at", default=None, help="As it stood at this date (China time unless offset).")
def export_grids_cmd(level: str, out: Path, crs: str, at: str | None) -> None:
    """Write the grids of LEVEL to OUT (fields: code, name, parent_code, workers, version…)."""
    with transaction() as conn:
        when = parse_instant(at, "--at") if at is not None else None
        n = export_grids(conn, load_hierarchy(conn), level, out, crs=int(crs), at=when)
    click.echo(f"{n:,} {level} areas written to {out} (EPSG:{crs})")
