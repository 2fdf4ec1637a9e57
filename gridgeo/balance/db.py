"""Load an area from PostGIS, balance it (:mod:`gridgeo.balance.ladder`), return a proposal. Reads only.

The households are read with their building and unit (单元, migration 0018), so that the atoms
can go from whole buildings to units (:mod:`gridgeo.balance.atoms`). The proposal is a GeoJSON
FeatureCollection (EPSG:4326) of the proposed grids, each with its households, deviation from
the equal share and Polsby–Popper compactness, plus the summary (``summary``: the method, the
status — within the band, proved impossible with the reason, or out of time — the buildings
split by unit, worst and mean deviation, households moved, reasons, warnings, and with a line
layer the blocks and the share of boundary on the lines), its sentences in the caller's
language (:mod:`gridgeo.balance.words`). Each grid gets a share of the area's workers in
proportion to its households (``workers``). Nothing is written here:
:mod:`boundaries.plans.from_balance` turns a proposal into a plan.

``k`` comes, in order, from the caller; from ``ceil(households / target)`` when a target is
given; from the area's effective workers (view ``grid_staff``); else from the standard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from gridgeo.balance.atoms import area_levels, housing_from_rows
from gridgeo.balance.exact import TIME_LIMIT_S
from gridgeo.balance.ladder import Settled, settle
from gridgeo.balance.lines import LINE_TOLERANCE_M, line_share
from gridgeo.balance.propose import Proposal
from gridgeo.balance.stairwells import Housing, split_buildings
from gridgeo.balance.words import METHOD, STATUS, Said, both, say, word
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.lines import area_lines
from gridgeo.workload import DEFAULT_BAND

AREA = text("SELECT ST_AsBinary(geom) FROM current_grids WHERE code = :c")
BUILDINGS = text(
    """
    SELECT ST_X(h.location) AS x, ST_Y(h.location) AS y, h.household_count AS n, g.code,
           h.building_id AS bid, b.code AS bcode, b.name AS bname, h.unit_id AS uid,
           u.number AS unum
    FROM household_grid a
    JOIN households h ON h.id = a.household_id
    JOIN current_grids g ON g.id = a.grid_id
    LEFT JOIN buildings b ON b.id = h.building_id
    LEFT JOIN building_units u ON u.id = h.unit_id
    WHERE g.code LIKE :c || '%' AND h.household_count > 0
    ORDER BY h.id
    """
)
WORKERS = text(
    "SELECT coalesce(sum(workers), 0) FROM grid_staff WHERE code LIKE :c || '%' AND code <> :c"
)
CONFIG = text(
    """
    SELECT households_per_worker, band FROM workload_config
    WHERE left(:c, length(area_code)) = area_code ORDER BY length(area_code) DESC LIMIT 1
    """
)


def choose_k(
    *, households: int, workers: int, standard: int, k: int | None, target: int | None
) -> tuple[int, str]:
    """The number of grids and where it came from.

    Raises:
        InvalidInput: k or target ≤ 0; no k, no target and no workers in the area.
    """
    if k is not None:
        if k <= 0:
            raise InvalidInput("k (the number of grids) must be > 0", field="k")
        return k, "given"
    if target is not None:
        if target <= 0:
            raise InvalidInput("the target (households per grid) must be > 0", field="target")
        return max(1, math.ceil(households / target)), f"ceil(households / {target})"
    if workers <= 0:
        raise InvalidInput(
            "the area has no workers: give k (grids) or a target (households per grid)",
            field="k",
        )
    return workers, "workers"


@dataclass(frozen=True)
class AreaData:
    """What balancing needs of one area, in metres (UTM ``epsg``); picklable, no connection.

    Attributes:
        code: the area's code.
        epsg: the UTM zone the coordinates are in.
        outline: the area's outline.
        xy: building coordinates (n, 2); ``households`` and ``labels`` (current grid) per building.
        lines: the stored lines that cross the area.
        workers: effective workers in the area; ``standard`` and ``band`` its configuration.
        housing: the building and unit (单元) of each row; None where no row has a building.
    """

    code: str
    epsg: int
    outline: BaseGeometry
    xy: np.ndarray
    households: np.ndarray
    labels: list[str]
    lines: list[BaseGeometry]
    workers: int
    standard: int
    band: float
    housing: Housing | None = None


def _utm_epsg(lon: float, lat: float) -> int:
    return (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1


def _to_metres(geom: BaseGeometry, fwd: Transformer) -> BaseGeometry:
    return shapely.transform(geom, lambda a: np.column_stack(fwd.transform(a[:, 0], a[:, 1])))


def area_data(
    conn: Connection,
    area: str,
    *,
    band: float | None = None,
    default_standard: int,
    rows: list[Any] | None = None,
) -> AreaData:
    """Read an area, its buildings, workers, standard and lines (``rows``: buildings given).

    Raises:
        NotFound: unknown area. InvalidInput: band not in (0, 1).
    """
    raw = conn.execute(AREA, {"c": area}).scalar()
    if raw is None:
        raise NotFound(f"no area has the code '{area}'", field="area")
    cfg = conn.execute(CONFIG, {"c": area}).first()
    standard = int(cfg[0]) if cfg else default_standard
    band = float(band if band is not None else (cfg[1] if cfg else DEFAULT_BAND))
    if not 0 < band < 1:
        raise InvalidInput("the band must be a fraction between 0 and 1", field="band")
    if rows is None:
        rows = list(conn.execute(BUILDINGS, {"c": area}).all())
    workers = int(conn.execute(WORKERS, {"c": area}).scalar() or 0)
    outline = wkb.loads(bytes(raw))
    c = outline.centroid
    epsg = _utm_epsg(c.x, c.y)
    # Straight edges in degrees are curves in metres: densify the outline so that proposed
    # grids, moved back to degrees, meet the stored outline with no gap or overlap.
    # (Only large areas: over a few km the bend is below a millimetre, and new vertices on the
    # outline would no longer meet the stored lines that run along it.)
    x0, y0, x1, y1 = outline.bounds
    if max(x1 - x0, y1 - y0) > 0.05:
        outline = shapely.segmentize(outline, max(2e-3, outline.length / 2000))
    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    lonlat = np.array([(r.x, r.y) for r in rows], dtype=float).reshape(-1, 2)
    xy = np.column_stack(fwd.transform(lonlat[:, 0], lonlat[:, 1])) if rows else lonlat
    return AreaData(
        code=area,
        epsg=epsg,
        outline=_to_metres(outline, fwd),
        xy=xy,
        households=np.array([int(r.n) for r in rows], dtype=np.int64),
        labels=[str(r.code) for r in rows],
        lines=[_to_metres(g, fwd) for g in area_lines(conn, area)],
        workers=workers,
        standard=standard,
        band=band,
        housing=housing_from_rows(rows),
    )


def solve(
    data: AreaData,
    *,
    k: int | None = None,
    target: int | None = None,
    lines: bool | None = None,
    candidates: int = 3,
    time_limit: float = TIME_LIMIT_S,
    lang: str = "en",
) -> dict[str, Any]:
    """Balance one area read by :func:`area_data` (pure: no database).

    ``lines``: None uses the stored lines when any cross the area; True requires them;
    False ignores them (cells around the buildings). Atoms go from coarse to fine and the
    exact method runs when the tree method misses the band (:mod:`gridgeo.balance.ladder`).
    ``lang``: the language of the sentences (``zh`` or ``en``; both are in ``messages``).

    Raises:
        InvalidInput: no households, k or target ≤ 0, no workers and neither k nor target,
            lines required but none cross the area.
    """
    households = int(data.households.sum())
    if households == 0:
        raise InvalidInput(f"the area '{data.code}' has no households to balance", field="area")
    k, k_source = choose_k(
        households=households, workers=data.workers, standard=data.standard, k=k, target=target
    )
    if lines is True and not data.lines:
        raise InvalidInput(
            f"no stored line (road, river, rail) crosses the area '{data.code}': import a line "
            "layer (gridgeo import lines FILE) or balance without lines",
            field="lines",
        )
    use = list(data.lines) if data.lines and lines is not False else []
    lv = area_levels(
        data.xy, data.households, data.labels, data.outline, use, k, data.band, data.housing
    )
    done = settle(lv.levels, k, data.band, proof=lv.proof, candidates=candidates,
                  time_limit=time_limit)  # fmt: skip
    proposal = done.proposal
    shapes = [p.geometry for p in proposal.parts]
    share = line_share(shapes, data.outline, data.lines)
    extra: dict[str, Any] = {
        "lines": len(data.lines),
        "units": "blocks" if use else "buildings",
        "line_share": None if share is None else round(share, 4),
        "line_tolerance_m": LINE_TOLERANCE_M,
    }
    if use:
        assert done.units.block is not None
        extra["blocks"] = lv.blocks
        extra["blocks_split"] = int((np.bincount(done.units.block, minlength=lv.blocks) > 1).sum())
    extra |= _outcome(done, data.housing, lv.by_unit_above, lang)
    back = Transformer.from_crs(data.epsg, 4326, always_xy=True)
    out = _geojson(
        proposal, data.code, back, k_source, data.standard, data.workers, households, lang
    )
    out["summary"] |= extra
    return out


def _outcome(
    done: Settled, housing: Housing | None, by_unit_above: float, lang: str
) -> dict[str, Any]:
    """Method, status, reason, the exact method's run and the split buildings."""
    p = done.proposal
    names = [f"#{q.index}" + (f" ({q.current})" if q.current else "") for q in p.parts]
    split = split_buildings(done.units, p.assignment, housing, names) if housing else []
    for entry in split:
        entry["text"] = "; ".join(s[lang if lang == "zh" else "en"] for s in entry["said"])
    ex = done.exact
    return {
        "method": done.method,
        "method_text": word(METHOD, done.method, lang),
        "status": done.status,
        "status_text": word(STATUS, done.status, lang),
        "status_reason": None if done.reason is None else say(done.reason, lang),
        "status_messages": None if done.reason is None else both(done.reason),
        "every_grid_within_band": done.status == "within_band",
        "grid_households": [done.lo, done.hi],
        "atoms": len(done.units),
        "units_by_stairwell_above": round(by_unit_above, 1) if housing else None,
        "exact": None
        if ex is None
        else {"status": ex.status, "seconds": round(ex.seconds, 3), **ex.detail},
        "split_buildings": split,
    }


def propose(
    conn: Connection,
    area: str,
    *,
    k: int | None = None,
    target: int | None = None,
    band: float | None = None,
    default_standard: int,
    candidates: int = 3,
    lines: bool | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """A balancing proposal for ``area`` (normally a community); nothing is stored.

    With stored lines crossing the area (and ``lines`` not False) the atoms are the blocks
    between them (:mod:`gridgeo.balance.lines`); otherwise cells around the buildings; large
    buildings by unit (单元) when needed (:mod:`gridgeo.balance.atoms`).

    Raises:
        NotFound: unknown area. InvalidInput: k or target ≤ 0, band not in (0, 1), no
            households in the area, no workers and neither k nor target, or ``lines`` True
            and no line crosses the area.
    """
    data = area_data(conn, area, band=band, default_standard=default_standard)
    return solve(data, k=k, target=target, lines=lines, candidates=candidates, lang=lang)


def apportion(total: int, weights: list[int]) -> list[int]:
    """Whole numbers proportional to ``weights`` summing to ``total`` (largest remainder)."""
    if not weights:
        return []
    s = sum(weights)
    if s <= 0:
        return [total // len(weights) + (i < total % len(weights)) for i in range(len(weights))]
    raw = [total * w / s for w in weights]
    out = [math.floor(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[: total - sum(out)]:
        out[i] += 1
    return out


def _rounded(geom: BaseGeometry) -> BaseGeometry:
    """Coordinates on a 1e-7 degree grid (about 1 cm), kept valid."""
    try:
        return shapely.set_precision(geom, 1e-7)
    except shapely.errors.GEOSException:  # a topology GEOS cannot snap: round, then repair
        return shapely.make_valid(shapely.set_precision(geom, 1e-7, mode="pointwise"))


def _geojson(
    p: Proposal,
    area: str,
    back: Transformer,
    k_source: str,
    standard: int,
    workers: int,
    households: int,
    lang: str = "en",
) -> dict[str, Any]:
    features = []
    staff = (
        apportion(workers, [q.households for q in p.parts])
        if workers > 0
        else [math.ceil(q.households / standard) for q in p.parts]
    )
    for part, staffed in zip(p.parts, staff, strict=True):
        geom = shapely.transform(
            part.geometry, lambda a: np.column_stack(back.transform(a[:, 0], a[:, 1]))
        )
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(_rounded(geom)),
                "properties": {
                    "index": part.index,
                    "households": part.households,
                    "workers": staffed,
                    "deviation": round(part.deviation, 4),
                    "polsby_popper": round(part.polsby_popper, 4),
                    "buildings": len(part.units),
                    "current_grid": part.current,
                    "own_building": part.own_building,
                },
            }
        )
    summary = p.summary(lang) | {
        "area": area,
        "households": households,
        "workers": workers,
        "standard": standard,
        "k_source": k_source,
        "share_vs_standard": round(p.share / standard - 1, 4),
    }
    if abs(p.share / standard - 1) > p.band:
        said = Said("share_vs_standard", share=p.share, band=p.band, standard=standard)
        summary["warnings"] = [*summary["warnings"], say(said, lang)]
        summary["messages"] = [*summary["messages"], both(said) | {"kind": "warning"}]
    return {"type": "FeatureCollection", "features": features, "summary": summary}
