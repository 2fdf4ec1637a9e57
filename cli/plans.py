"""``gridgeo plan …``: open, edit, preview, commit and discard plans; revert a commit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from boundaries.plans.commit import commit_plan, revert_change
from boundaries.plans.drafts import load_draft
from boundaries.plans.edits import apply_edit, undo_edit
from boundaries.plans.preview import preview
from boundaries.plans.records import discard_plan, list_edits, list_plans, open_plan
from cli.db import load_settings, transaction
from gridgeo.audit import cli_actor
from gridgeo.levels import load_hierarchy


def _snap() -> float:
    return load_settings().boundaries.plan_snap_m


@click.group("plan")
def plan_group() -> None:
    """Plans: drafts of boundary redraws, checked and previewed before they are committed."""


@plan_group.command("open")
@click.argument("area")
@click.option("--title", required=True, help="What the plan is for.")
def open_cmd(area: str, title: str) -> None:
    """Open a plan over the grids below AREA (a code); prints its id."""
    with transaction() as conn:
        plan = open_plan(conn, area, title, cli_actor())
    click.echo(f"plan {plan['id']} opened over {area}: {plan['title']}")


@plan_group.command("import")
@click.argument("area")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", required=True, help="What the plan is for.")
@click.option("--code-field", default=None, help="Field with grid codes (kept grids, new codes).")
@click.option("--name-field", default=None, help="Field with grid names.")
@click.option("--workers-field", default=None, help="Field with worker counts.")
@click.option("--layer", default=None, help="Layer of a multi-layer file.")
def import_cmd(
    area: str,
    file: Path,
    title: str,
    code_field: str | None,
    name_field: str | None,
    workers_field: str | None,
    layer: str | None,
) -> None:
    """Open a plan that redraws the grids below AREA as drawn in FILE (from desktop GIS).

    FILE (GeoJSON, GeoPackage, Shapefile, any CRS) holds the new grids of the level below AREA.
    Features with a current code replace that grid; new codes create grids; features without
    codes keep the code of the grid they overlap most; grids left out are retired. Then
    preview and commit the plan as usual.
    """
    from boundaries.io import read_features, require_fields
    from boundaries.plans.proposals import plan_from_proposal

    fields = {"code": code_field, "name": name_field, "workers": workers_field}
    with transaction() as conn:  # a file error is reported like any other, nothing written
        gdf = read_features(file, layer)
        require_fields(file, list(gdf.columns), fields)
        grids = []
        for k, row in gdf.iterrows():
            geom = row.geometry
            if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise click.ClickException(
                    f"{file}: feature #{k} is not a polygon; nothing changed"
                )
            item: dict[str, Any] = {"geometry": geom}
            for key, column in fields.items():
                value = row[column] if column is not None else None
                if value is not None and str(value) not in ("", "nan", "None"):
                    item[key] = int(value) if key == "workers" else str(value).strip()
            grids.append(item)
        plan = plan_from_proposal(
            conn, load_hierarchy(conn), area, title, cli_actor(), grids,
            source="import", detail={"file": file.name},
        )  # fmt: skip
    click.echo(
        f"plan {plan['id']} opened over {area} from {file.name} ({len(grids)} grids); "
        f"next: gridgeo plan preview {plan['id']}"
    )


@plan_group.command("list")
@click.option("--status", type=click.Choice(["open", "committed", "discarded"]), default=None)
def list_cmd(status: str | None) -> None:
    """Plans, newest first."""
    with transaction() as conn:
        rows = list_plans(conn, status=status)
    for p in rows:
        change = f" change {p['change_id']}" if p["change_id"] else ""
        click.echo(
            f"{p['id']:>5} {p['status']:<9} {p['area_code']:<16} {p['created_by']:<16} "
            f"{p['title']}{change}"
        )


@plan_group.command("show")
@click.argument("plan_id", type=int)
def show_cmd(plan_id: int) -> None:
    """A plan's edits and the grids it touches."""
    with transaction() as conn:
        draft = load_draft(conn, load_hierarchy(conn), plan_id, snap_m=_snap())
        edits = list_edits(conn, plan_id)
    p = draft.plan
    click.echo(f"plan {p['id']} ({p['status']}) over {p['area_code']}: {p['title']}")
    for e in edits:
        click.echo(f"  edit {e['seq']}: {e['summary']} ({e['by']}, {e['at']:%Y-%m-%d %H:%M})")
    for g in draft.touched():
        click.echo(f"  {g.state:<8} {g.code} {g.name}")


@plan_group.command("edit")
@click.argument("plan_id", type=int)
@click.argument("edit_json", required=False)
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the edit (a JSON object with 'op') from this file; '-' reads standard input.",
)
def edit_cmd(plan_id: int, edit_json: str | None, path: Path | None) -> None:
    """Apply one edit, given as JSON: {"op": "split", "code": …, "line": {GeoJSON}}."""
    raw = path.read_text(encoding="utf-8") if path else edit_json
    if raw == "-" or raw is None:
        raw = sys.stdin.read()
    try:
        edit: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"the edit is not JSON: {exc}") from exc
    with transaction() as conn:
        result, _ = apply_edit(
            conn, load_hierarchy(conn), plan_id, edit, cli_actor(), snap_m=_snap()
        )
    click.echo(f"edit {result.seq}: {result.summary}")


@plan_group.command("undo")
@click.argument("plan_id", type=int)
def undo_cmd(plan_id: int) -> None:
    """Undo the plan's last edit."""
    with transaction() as conn:
        result, _ = undo_edit(conn, load_hierarchy(conn), plan_id, cli_actor(), snap_m=_snap())
    click.echo(result.summary)


def print_preview(out: dict[str, Any]) -> None:
    """The preview as text: problems, then moves and per-grid load before → after."""
    state = "can be committed" if out["ok"] else "cannot be committed"
    click.echo(
        f"plan {out['plan_id']}: {out['errors']} errors, {out['warnings']} warnings; {state}"
    )
    for p in out["problems"]:
        at = f" at ({p['location'][0]:.6f}, {p['location'][1]:.6f})" if p["location"] else ""
        click.echo(f"  {p['severity'].upper():7} {p['code']} {p['kind']}: {p['message']}{at}")
    imp = out["impact"]
    click.echo(
        f"households moving: {imp['households_moved']:,} in {imp['points_moved']:,} buildings"
        f" (standard {imp['standard']} ±{imp['band']:.0%})"
    )
    for m in imp["moves"]:
        click.echo(f"  {m['from'] or '(none)'} → {m['to'] or '(no grid)'}: {m['households']:,}")
    click.echo(f"{'grid':<16} {'state':<9} {'households':>17} {'workers':>9} {'load':>15}  status")
    for g in imp["grids"]:
        hh = f"{_n(g['households_before'])} → {_n(g['households_after'])}"
        wk = f"{_n(g['workers_before'])} → {_n(g['workers_after'])}"
        ld = f"{_n(g['load_before'])} → {_n(g['load_after'])}"
        st = f"{g['status_before'] or '-'} → {g['status_after'] or '-'}"
        click.echo(f"{g['code']:<16} {g['state']:<9} {hh:>17} {wk:>9} {ld:>15}  {st}")
    for i in imp["incidents"]:
        click.echo(f"  open incident {i['id']}: {i['from']} → {i['to']}")


def _n(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if isinstance(value, int | float) else str(value)


@plan_group.command("preview")
@click.argument("plan_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the preview as JSON.")
def preview_cmd(plan_id: int, as_json: bool) -> None:
    """Topology problems (errors block a commit) and the impact on households and load."""
    settings = load_settings()
    snap_m, standard = settings.boundaries.plan_snap_m, settings.workload.households_per_worker
    with transaction() as conn:
        draft = load_draft(conn, load_hierarchy(conn), plan_id, snap_m=snap_m, households=False)
        out = preview(conn, draft, standard=standard, tolerance_m=snap_m)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, default=str))
    else:
        print_preview(out)


@plan_group.command("commit")
@click.argument("plan_id", type=int)
@click.option("-m", "--message", required=True, help="Why the plan is committed.")
def commit_cmd(plan_id: int, message: str) -> None:
    """Apply the plan in one transaction (versions, reassignment, history)."""
    with transaction() as conn:
        out = commit_plan(conn, load_hierarchy(conn), plan_id, cli_actor(), message, snap_m=_snap())
    click.echo(
        f"plan {plan_id} committed as change {out['change_id']}: {len(out['grids'])} grids, "
        f"{out['households_moved']:,} households ({out['points_changed']:,} building points) and "
        f"{out['incidents_moved']} open incidents reassigned"
    )


@plan_group.command("discard")
@click.argument("plan_id", type=int)
def discard_cmd(plan_id: int) -> None:
    """Discard an open plan."""
    with transaction() as conn:
        discard_plan(conn, plan_id, cli_actor())
    click.echo(f"plan {plan_id} discarded")


@plan_group.command("revert")
@click.argument("change_id", type=int)
@click.option("-m", "--message", required=True, help="Why the change is reverted.")
def revert_cmd(change_id: int, message: str) -> None:
    """Revert a committed change by a new, checked commit restoring the earlier grids."""
    with transaction() as conn:
        out = revert_change(
            conn, load_hierarchy(conn), change_id, cli_actor(), message, snap_m=_snap()
        )
    click.echo(
        f"change {change_id} reverted by change {out['change_id']} (plan {out['plan']['id']})"
    )
