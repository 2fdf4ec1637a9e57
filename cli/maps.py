"""``gridgeo map KIND --out FILE.html``: the maps as standalone files to share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from cli.db import load_settings, transaction
from gridgeo.clock import utcnow
from gridgeo.grids import list_grids
from gridgeo.levels import Hierarchy, load_hierarchy
from gridgeo.tiles import extent
from gridgeo.workload import DEFAULT_BAND, workload_report
from maps.basemaps import resolve
from maps.frame import render_page
from maps.incident_data import (
    IncidentFilter,
    area_bounds,
    categories,
    check_filter,
    incident_points,
)
from maps.standalone import KINDS, build_area_file, build_incident_file, inline_assets
from maps.vector_layer import LevelLayer

# Beyond this many embedded areas the file gets slow to open: ask for --area or --level.
MAX_AREAS = 3000


def _layers(
    conn: Connection,
    h: Hierarchy,
    *,
    level: str,
    area: str | None,
    simplify_m: float,
    standard: int,
) -> list[tuple[LevelLayer, dict[str, Any]]]:
    """The levels down to ``level`` within ``area``, the last with workload figures."""
    keys = [s.key for s in h.levels]
    chosen = h.get(level)
    areas = (area,) if area else None
    out = []
    for spec in h.levels[: keys.index(chosen.key) + 1]:
        fc = list_grids(conn, h, level=spec.key, areas=areas, simplify_m=simplify_m, precision=6)
        out.append((LevelLayer(spec.key, spec.label_zh, spec.label_en), fc))
    report = workload_report(conn, h, level=chosen.key, areas=areas, default_standard=standard)
    rows = {r.code: r for r in report}
    for f in out[-1][1]["features"]:
        r = rows.get(f["properties"]["code"])
        if r is not None:
            d = r.to_dict()
            f["properties"].update(status=r.status, load=d["load"], deviation=d["deviation"])
    return out


def _bounds(conn: Connection, area: str | None) -> list[list[float]] | None:
    if area:
        return area_bounds(conn, area)
    box = extent(conn)
    return None if box is None else [[box[1], box[0]], [box[3], box[2]]]


@click.command("map")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--area", default=None, help="Only this area (code) and what lies below it.")
@click.option("--level", default=None, help="Finest level shown (default: the grids).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--simplify", "simplify_m", type=float, default=2.0, show_default=True,
              help="Simplify boundaries to about this many metres.")  # fmt: skip
@click.option("--state", default=None, help="incidents: a state, or 'open'.")
@click.option("--category", default=None, help="incidents: a category key.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="incidents: first day reported (China time).")  # fmt: skip
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="incidents: last day reported.")  # fmt: skip
@click.option("--overdue", is_flag=True, help="incidents: only the overdue ones.")
@click.option("--force", is_flag=True, help=f"Embed more than {MAX_AREAS:,} areas anyway.")
def map_cmd(
    kind: str,
    out: Path,
    area: str | None,
    level: str | None,
    lang: str,
    simplify_m: float,
    state: str | None,
    category: str | None,
    start: datetime | None,
    end: datetime | None,
    overdue: bool,
    force: bool,
) -> None:
    """Write the KIND map (grids, workload or incidents) as one standalone HTML file.

    Everything is inside the file (scripts, styles, geometry, figures), so it opens without
    gridgeo, offline too; only the base map (GRIDGEO_MAP_TILES) is loaded from outside.
    Households appear only as counts per area; incidents without descriptions or names.
    """
    settings = load_settings()
    bases = resolve(settings.maps.map_tiles, settings.maps.tianditu_key)
    with transaction() as conn:
        h = load_hierarchy(conn)
        bounds = _bounds(conn, area)
        if area and bounds is None:
            raise click.ClickException(f"no area has the code '{area}'")
        if kind == "incidents":
            f = IncidentFilter(
                state=state, category=category, area=area,
                start=start.date() if start else None, end=end.date() if end else None,
                overdue=overdue,
            )  # fmt: skip
            check_filter(conn, f)
            data = incident_points(conn, f, areas=None, now=utcnow())
            fmap = build_incident_file(
                data, categories=categories(conn), bounds=bounds, lang=lang, bases=bases
            )
            summary = f"{data['count']:,} incidents ({data['overdue']:,} overdue)"
        else:
            chosen = level or h.levels[-1].key
            standard = settings.workload.households_per_worker
            layers = _layers(
                conn, h, level=chosen, area=area, simplify_m=simplify_m, standard=standard
            )
            n = sum(len(fc["features"]) for _, fc in layers)
            if n > MAX_AREAS and not force:
                raise click.ClickException(
                    f"{n:,} areas would be embedded; narrow with --area or --level "
                    "(or pass --force)"
                )
            fmap = build_area_file(
                kind, layers, bounds=bounds, lang=lang, bases=bases,
                standard=standard, band=DEFAULT_BAND,
            )  # fmt: skip
            summary = f"{n:,} areas down to level {chosen}"
    html = inline_assets(render_page(fmap, lang))
    out.write_text(html, encoding="utf-8")
    click.echo(f"{out}: {kind} map, {summary}, {len(html.encode()) / 1e6:.1f} MB")
