"""``gridgeo balance AREA_CODE``: propose a balanced partition (a dry run unless ``--plan``).

``--all`` balances every community below a street or district, one Dask task per community
(a LocalCluster of ``--jobs`` workers, or ``--scheduler ADDRESS``); ``--suggest`` lists workers
to move and grids to merge or split without redrawing; ``--plan`` opens the proposal as a
plan (a draft, previewed; committed through the plans API).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.db import load_settings, transaction


def _print_proposal(p: dict[str, Any]) -> None:
    s = p["summary"]
    click.echo(
        f"{'grid':>4} {'households':>10} {'workers':>7} {'deviation':>9} {'compact':>7}  current"
    )
    for f in p["features"]:
        q = f["properties"]
        own = "  (one building)" if q["own_building"] else ""
        click.echo(
            f"{q['index']:>4} {q['households']:>10,} {q['workers']:>7} {q['deviation']:>+9.1%} "
            f"{q['polsby_popper']:>7.2f}  {q['current_grid'] or '-'}{own}"
        )
    click.echo(
        f"k={s['k']} ({s['k_source']}), share {s['share']:.0f}: worst deviation "
        f"{s['max_abs_deviation']:.1%}, mean {s['mean_abs_deviation']:.1%}, compactness "
        f"{s['mean_polsby_popper']:.2f}, households moved {s['moved_households']:,}"
    )
    status = s.get("status_text") or s.get("status")
    click.echo(f"method: {s.get('method_text') or s.get('method')}; status: {status}")
    if s.get("status_reason"):
        click.echo(f"  {s['status_reason']}")
    for b in s.get("split_buildings") or ():
        click.echo(f"split: {b['text']}")
    if s.get("units") == "blocks":
        click.echo(
            f"units: {s['blocks']} blocks between {s['lines']} lines, {s['blocks_split']} split; "
            f"boundary on the lines {s['line_share'] or 0:.0%} (within {s['line_tolerance_m']:.0f} m)"
        )
    for line in s["reasons"]:
        click.echo(f"reason: {line}")
    for line in s["warnings"]:
        click.echo(f"warning: {line}")


def _print_all(r: dict[str, Any]) -> None:
    click.echo(
        f"{'community':<14} {'households':>10} {'k':>4} {'worst':>7} {'moved':>7} "
        f"{'on lines':>8} {'s':>6}  status"
    )
    for a in r["areas"]:
        if "error" in a:
            click.echo(f"{a['area']:<14} error: {a['error']}")
            continue
        share = "-" if a.get("line_share") is None else f"{a['line_share']:.0%}"
        status = a.get("status_text") or ("within band" if a["within_band"] else "")
        if a.get("status") != "within_band" and a.get("status_reason"):
            status += ": " + a["status_reason"][:80]
        elif a.get("method") == "exact":
            status += f" ({a.get('method_text')})"
        click.echo(
            f"{a['area']:<14} {a['households']:>10,} {a['k_effective']:>4} "
            f"{a['max_abs_deviation_balanced']:>7.1%} {a['moved_households']:>7,} {share:>8} "
            f"{a['seconds']:>6.2f}  {status}"
        )
    t = r["totals"]
    line = "-" if t["mean_line_share"] is None else f"{t['mean_line_share']:.0%}"
    click.echo(
        f"total: {t['communities']} communities ({t['failed']} failed), {t['households']:,} "
        f"households in {t['grids']} grids; {t['every_grid_within_band']} with every grid within "
        f"the band ({t['exact']} by the exact method), {t['proved_infeasible']} proved "
        f"impossible, {t['time_limit']} out of time; {t['split_buildings']} buildings split; households "
        f"moved {t['moved_households']:,}; boundary on the lines {line}; "
        f"{t['seconds']:.1f} s, {t['scheduler']} ({t['jobs']} worker(s))"
    )


def _print_suggestions(r: dict[str, Any]) -> None:
    for s in r["suggestions"]:
        act = s["action"]
        if act == "move_worker":
            a = s["to_after"]
            click.echo(
                f"move 1 worker  {s['from']} -> {s['to']}  (then {a['load']} households/worker)"
            )
        elif act == "merge":
            click.echo(
                f"merge          {' + '.join(s['grids'])}  ({s['households']:,} households, "
                f"{s['workers']} workers, frees {s['frees_workers']})"
            )
        elif act == "split":
            click.echo(
                f"split          {s['grid']}: about {s['split_off_households']:,} households into "
                f"a new grid with {s['new_grid_workers']} worker(s)"
            )
        else:
            click.echo(f"add workers    {s['grid']}: {s['workers']} more")
    click.echo(
        f"{r['grids']} grids: {r['over_before']} over, {r['under_before']} under the band; "
        f"after the suggested moves and merges {r['over_after']} over; " + str(r["counts"])
    )


@click.command("balance")
@click.argument("area_code")
@click.option("--k", "k", type=click.IntRange(min=1), default=None, help="Grids wanted.")
@click.option("--target", type=click.IntRange(min=1), default=None, help="Households per grid.")
@click.option("--band", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None)
@click.option(
    "--lines/--no-lines",
    default=None,
    help="Follow the stored roads and rivers (default: when any cross the area).",
)
@click.option("--all", "all_", is_flag=True, help="Every community below a street or district.")
@click.option(
    "--jobs", type=click.IntRange(min=1), default=None, help="LocalCluster workers for --all."
)
@click.option(
    "--scheduler",
    default="",
    help="--all on this Dask scheduler (tcp://host:8786) instead of a LocalCluster.",
)
@click.option("--suggest", is_flag=True, help="Only suggest worker moves, merges and splits.")
@click.option("--plan", is_flag=True, help="Open the proposal as a plan (draft) and preview it.")
@click.option("--title", default=None, help="Title of the plan.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the reasons, warnings and plan title.",
)
def balance_cmd(
    area_code: str,
    k: int | None,
    target: int | None,
    band: float | None,
    lines: bool | None,
    all_: bool,
    jobs: int | None,
    scheduler: str,
    suggest: bool,
    plan: bool,
    title: str | None,
    out: Path | None,
    lang: str,
) -> None:
    """Propose AREA_CODE split into k contiguous, balanced grids; nothing is stored.

    k: --k, else ceil(households / --target), else the area's workers. With stored lines
    (gridgeo import lines) grids follow roads and rivers. --out writes the result as JSON.
    """
    from gridgeo.audit import cli_actor
    from gridgeo.balance.db import propose
    from gridgeo.balance.district import propose_all
    from gridgeo.balance.suggest import suggestions
    from gridgeo.batch.cluster import ClusterSpec
    from gridgeo.levels import load_hierarchy

    if sum((all_, suggest, plan)) > 1:
        raise click.UsageError("--all, --suggest and --plan do not combine")
    settings = load_settings()
    standard = settings.workload.households_per_worker
    with transaction() as conn:
        if suggest:
            r = suggestions(conn, load_hierarchy(conn), area_code, default_standard=standard)
            _print_suggestions(r)
        elif all_:
            r = propose_all(
                conn,
                area_code,
                k=k,
                target=target,
                band=band,
                lines=lines,
                default_standard=standard,
                jobs=jobs,
                lang=lang,
                cluster=ClusterSpec(scheduler=scheduler),
            )
            _print_all(r)
        else:
            r = propose(
                conn,
                area_code,
                k=k,
                target=target,
                band=band,
                lines=lines,
                default_standard=standard,
                lang=lang,
            )
            _print_proposal(r)
            if plan:
                from boundaries.plans.from_balance import proposal_to_plan
                from gridgeo.balance.words import plan_title

                r |= proposal_to_plan(
                    conn,
                    load_hierarchy(conn),
                    r,
                    actor=cli_actor(),
                    snap_m=settings.boundaries.plan_snap_m,
                    title=title or plan_title(area_code, len(r["features"]), lang),
                )
                pv = r["preview"]
                click.echo(
                    f"plan {r['plan']['id']} opened ({r['plan']['title']}): preview "
                    f"{'ok' if pv['ok'] else 'not ok'}, {pv['errors']} errors, "
                    f"{pv['warnings']} warnings; commit with POST /plans/{r['plan']['id']}/commit"
                )
    if out is not None:
        out.write_text(json.dumps(r, ensure_ascii=False, default=str), encoding="utf-8")
        click.echo(f"written to {out}")
