"""``gridgeo evaluation``: the month's evaluation as a table, a CSV or the workbook."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.db import transaction
from gridgeo.errors import GridgeoError
from gridgeo.evaluation import evaluate
from gridgeo.evaluation.export import to_csv, workbook
from gridgeo.evaluation.figures import parse_weights
from gridgeo.evaluation.periods import month_of, parse_period, zone
from gridgeo.levels import load_hierarchy
from gridgeo.settings import get_settings


def table(t: dict[str, Any]) -> str:
    """An evaluation table as fixed-width text."""

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    lines = [f"{'rank':>4} {'grade':<5} {'score':>5} {'closure':>8} {'on time':>8} "
             f"{'rework':>7} {'rating':>6} {'in grid':>8} {'due':>5}  code / name"]  # fmt: skip
    for r in [*t["rows"], {"rank": None, "key": "", "name": "total"} | t["total"]]:
        score = "-" if r["score"] is None else f"{r['score']:.1f}"
        rating = "-" if r["mean_rating"] is None else f"{r['mean_rating']:.2f}"
        lines.append(
            f"{r['rank'] or '':>4} {r['grade'] or '-':<5} {score:>5} {pct(r['closure_rate']):>8} "
            f"{pct(r['on_time_rate']):>8} {pct(r['rework_rate']):>7} {rating:>6} "
            f"{pct(r['in_grid_rate']):>8} {r['due']:>5}  {r['key']} {r['name']}"
        )
    return "\n".join(lines)


@click.command("evaluation")
@click.option("--month", "period", default=None,
              help="The period: a month 2026-11 (default: last month), 2026Q4, 2026-W47, a day.")  # fmt: skip
@click.option("--level", default=None, help="Areas of this level (the workbook: its last sheet).")
@click.option("--parent", default=None, help="Code of an area: everything under it.")
@click.option("--by", type=click.Choice(["area", "department", "worker", "category"]),
              default="area", show_default=True, help="Groups of the table (not the workbook).")  # fmt: skip
@click.option("--workers", is_flag=True, help="The workbook lists workers too (they are named).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file: .xlsx the workbook, .csv the table.")  # fmt: skip
def evaluation_cmd(
    period: str | None,
    level: str | None,
    parent: str | None,
    by: str,
    workers: bool,
    out: Path | None,
) -> None:
    """The evaluation (综合评价) of a month: score, grade and rates per area (docs/evaluation.md).

    Without --out, prints the table; with --out report.xlsx, writes the monthly workbook (a
    sheet per level down to --level, departments, categories, definitions).
    """
    settings = get_settings()
    tz = zone(settings.evaluation.evaluation_timezone)
    now = datetime.now(UTC)
    try:
        p = parse_period(period, tz) if period else month_of(now, tz).previous()
    except GridgeoError as exc:
        raise click.BadParameter(exc.message, param_hint="--month") from exc
    weights = parse_weights(settings.evaluation.evaluation_weights)
    with transaction() as conn:
        hierarchy = load_hierarchy(conn)
        if out is not None and out.suffix.lower() == ".xlsx":
            data = workbook(conn, hierarchy, period=p, now=now, parent=parent, level=level,
                            workers=workers, weights=weights)  # fmt: skip
            out.write_bytes(data)
            click.echo(f"the evaluation of {p.label} written to {out}")
            return
        t = evaluate(conn, hierarchy, period=p, now=now, by=by, level=level, parent=parent,
                     weights=weights)  # fmt: skip
    if out is not None:
        out.write_bytes(to_csv(t))
        click.echo(f"{len(t['rows'])} rows of {p.label} written to {out}")
        return
    click.echo(f"evaluation {p.label} ({p.first} – {p.last}), by {by}")
    click.echo(table(t))
