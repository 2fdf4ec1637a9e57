"""``gridgeo workload``: the workload report as a table, CSV or Excel file."""

from __future__ import annotations

from pathlib import Path

import click

from cli.db import load_settings, transaction
from gridgeo.levels import load_hierarchy
from gridgeo.workload import STATUS_ZH, WorkloadRow, to_csv, to_xlsx, workload_report


def table(rows: list[WorkloadRow]) -> str:
    """Rows as a fixed-width text table."""
    head = (
        f"{'code':<16} {'households':>10} {'workers':>7} {'load':>7} {'dev':>7} "
        f"{'needed':>6} {'gap':>5}  status      name"
    )
    lines = [head]
    for r in rows:
        load = "-" if r.load is None else f"{r.load:.1f}"
        dev = "-" if r.deviation is None else f"{r.deviation:+.1%}"
        lines.append(
            f"{r.code:<16} {r.households:>10,} {r.workers:>7,} {load:>7} {dev:>7} "
            f"{r.workers_needed:>6,} {r.gap:>+5}  {r.status:<9} {STATUS_ZH[r.status]}  {r.name}"
        )
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUS_ZH}
    lines.append(f"{len(rows)} areas: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines)


@click.command("workload")
@click.option("--level", default=None, help="Areas of this level (grid, community, …).")
@click.option("--parent", default=None, help="Code of an area: its children (or --level below).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "xlsx"]),
    default="table",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def workload_cmd(level: str | None, parent: str | None, fmt: str, out: Path | None) -> None:
    """Households per worker against the standard (300), per area.

    Without --level and --parent: every grid (level 'grid').
    """
    if level is None and parent is None:
        level = "grid"
    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    with transaction() as conn:
        rows = workload_report(
            conn,
            load_hierarchy(conn),
            level=level,
            parent=parent,
            default_standard=load_settings().workload.households_per_worker,
        )
    if fmt == "table":
        text = table(rows)
        if out is None:
            click.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
        return
    data = to_csv(rows) if fmt == "csv" else to_xlsx(rows)
    if out is None:
        click.echo(data.decode("utf-8-sig"), nl=False)
        return
    out.write_bytes(data)
    click.echo(f"{len(rows)} areas written to {out}")
