"""``gridgeo balance AREA_CODE``: propose a balanced partition of an area (a dry run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from api.cli_db import transaction
from gridgeo.balance_db import propose
from gridgeo.settings import get_settings


@click.command("balance")
@click.argument("area_code")
@click.option("--k", "k", type=click.IntRange(min=1), default=None, help="Grids wanted.")
@click.option("--target", type=click.IntRange(min=1), default=None, help="Households per grid.")
@click.option("--band", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def balance_cmd(
    area_code: str, k: int | None, target: int | None, band: float | None, out: Path | None
) -> None:
    """Propose AREA_CODE split into k contiguous, balanced grids; nothing is stored.

    k: --k, else ceil(households / --target), else the area's workers. --out writes the
    proposal as GeoJSON.
    """
    with transaction() as conn:
        p = propose(
            conn,
            area_code,
            k=k,
            target=target,
            band=band,
            default_standard=get_settings().households_per_worker,
        )
    s = p["summary"]
    click.echo(f"{'grid':>4} {'households':>10} {'deviation':>9} {'compact':>7}  current grid")
    for f in p["features"]:
        q = f["properties"]
        own = "  (one building)" if q["own_building"] else ""
        click.echo(
            f"{q['index']:>4} {q['households']:>10,} {q['deviation']:>+9.1%} "
            f"{q['polsby_popper']:>7.2f}  {q['current_grid'] or '-'}{own}"
        )
    click.echo(
        f"k={s['k']} ({s['k_source']}), share {s['share']:.0f}: worst deviation "
        f"{s['max_abs_deviation']:.1%}, mean {s['mean_abs_deviation']:.1%}, compactness "
        f"{s['mean_polsby_popper']:.2f}, households moved {s['moved_households']:,}"
    )
    for line in s["reasons"]:
        click.echo(f"infeasible: {line}")
    for line in s["warnings"]:
        click.echo(f"warning: {line}")
    if out is not None:
        out.write_text(json.dumps(p, ensure_ascii=False), encoding="utf-8")
        click.echo(f"proposal written to {out}")
