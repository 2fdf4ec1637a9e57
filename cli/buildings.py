"""``gridgeo buildings GRID``: a grid's buildings, units, households and heads."""

from __future__ import annotations

import json

import click

from cli.db import transaction


@click.command("buildings")
@click.argument("grid")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (as GET /grids/{code}/buildings)."
)
@click.option("--counts", is_flag=True, help="Counts per building only (what viewers see).")
def buildings_cmd(grid: str, as_json: bool, counts: bool) -> None:
    """List the buildings of GRID with their units (and the grid of each), households and heads."""
    from gridgeo.buildings.queries import grid_buildings

    with transaction() as conn:
        out = grid_buildings(conn, grid, detail=not counts)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"grid {grid}: {len(out['buildings'])} buildings, {out['households']} households")
    for b in out["buildings"]:
        floors = f"{b['floors']}F" if b["floors"] else "-"
        split = "  split 跨网格" if b["split"] else ""
        heads = ", ".join(h["name"] for h in b.get("heads", []))
        click.echo(
            f"{b['code']:<14} {b['name'] or b['number'] or '':<16} {floors:>4} "
            f"{b['households']:>5} households{split}" + (f"  楼长 {heads}" if heads else "")
        )
        for u in b.get("units", []):
            uh = ", ".join(h["name"] for h in u["heads"])
            here = "" if u["grid"] == grid else f" → grid {u['grid']}"
            click.echo(
                f"    {u['number']}单元 {u['households']:>4} households{here}"
                + (f"  单元长 {uh}" if uh else "")
            )
