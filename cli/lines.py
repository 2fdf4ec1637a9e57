"""``gridgeo import lines FILE --kind road|river|rail``: the line layer balancing follows."""

from __future__ import annotations

from pathlib import Path

import click

from cli.imports import import_group, run_import


@import_group.command("lines")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["road", "river", "rail"]),
    default=None,
    help="Kind of every line (or --kind-field).",
)
@click.option("--kind-field", default=None, help="Field with each line's kind.")
@click.option("--name-field", default=None, help="Field with each line's name.")
@click.option("--layer", default=None, help="Layer of a GeoPackage.")
@click.option("--replace", is_flag=True, help="Delete lines imported before from this file name.")
@click.option("--commit", is_flag=True, help="Write (all or nothing); default is a dry run.")
def import_lines_cmd(
    file: Path,
    kind: str | None,
    kind_field: str | None,
    name_field: str | None,
    layer: str | None,
    replace: bool,
    commit: bool,
) -> None:
    """Import roads, rivers or railways (GeoJSON, GeoPackage, Shapefile; any CRS).

    Balancing cuts areas into blocks along these lines, so proposed grids follow them.
    """
    from boundaries.lines import import_lines

    run_import(
        "lines",
        file,
        commit,
        lambda conn: import_lines(
            conn,
            file,
            kind=kind,
            kind_field=kind_field,
            name_field=name_field,
            layer=layer,
            commit=commit,
            replace=replace,
        ),
    )
