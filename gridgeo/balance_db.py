"""Load an area from PostGIS, balance it (:mod:`gridgeo.balance`), return a proposal. Reads only.

The proposal is a GeoJSON FeatureCollection (EPSG:4326) of the proposed grids, each with its
households, deviation from the equal share and Polsby–Popper compactness, plus the summary
figures (``summary``: worst and mean deviation, households moved, feasibility, reasons,
warnings). Nothing is written: plans of the boundary editor will store proposals later.

``k`` comes, in order, from the caller; from ``ceil(households / target)`` when a target is
given; from the area's effective workers (view ``grid_staff``); else from the standard.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely import wkb
from sqlalchemy import Connection, text

from gridgeo.balance import Proposal, balance
from gridgeo.balance_units import build_units
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.workload import DEFAULT_BAND, DEFAULT_STANDARD

AREA = text("SELECT ST_AsBinary(geom) FROM grids WHERE code = :c AND valid_to IS NULL")
BUILDINGS = text(
    """
    SELECT ST_X(h.location) AS x, ST_Y(h.location) AS y, h.household_count AS n, g.code
    FROM household_grid a
    JOIN households h ON h.id = a.household_id
    JOIN grids g ON g.id = a.grid_id
    WHERE g.valid_to IS NULL AND g.code LIKE :c || '%' AND h.household_count > 0
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


def _utm(lon: float, lat: float) -> tuple[Transformer, Transformer]:
    zone = int((lon + 180) // 6) + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    back = Transformer.from_crs(epsg, 4326, always_xy=True)
    return fwd, back


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


def propose(
    conn: Connection,
    area: str,
    *,
    k: int | None = None,
    target: int | None = None,
    band: float | None = None,
    default_standard: int = DEFAULT_STANDARD,
    candidates: int = 3,
) -> dict[str, Any]:
    """A balancing proposal for ``area`` (normally a community); nothing is stored.

    Raises:
        NotFound: unknown area. InvalidInput: k or target ≤ 0, band not in (0, 1), no
            households in the area, or no workers and neither k nor target.
    """
    raw = conn.execute(AREA, {"c": area}).scalar()
    if raw is None:
        raise NotFound(f"no area has the code '{area}'", field="area")
    cfg = conn.execute(CONFIG, {"c": area}).first()
    standard = int(cfg[0]) if cfg else default_standard
    band = float(band if band is not None else (cfg[1] if cfg else DEFAULT_BAND))
    if not 0 < band < 1:
        raise InvalidInput("the band must be a fraction between 0 and 1", field="band")
    rows = conn.execute(BUILDINGS, {"c": area}).all()
    households = sum(int(r.n) for r in rows)
    if households == 0:
        raise InvalidInput(f"the area '{area}' has no households to balance", field="area")
    workers = int(conn.execute(WORKERS, {"c": area}).scalar() or 0)
    k, k_source = choose_k(
        households=households, workers=workers, standard=standard, k=k, target=target
    )
    outline = wkb.loads(bytes(raw))
    c = outline.centroid
    fwd, back = _utm(c.x, c.y)
    lonlat = np.array([(r.x, r.y) for r in rows], dtype=float)
    xy = np.column_stack(fwd.transform(lonlat[:, 0], lonlat[:, 1]))
    area_m = shapely.transform(outline, lambda a: np.column_stack(fwd.transform(a[:, 0], a[:, 1])))
    units = build_units(xy, [int(r.n) for r in rows], area_m, [r.code for r in rows])
    proposal = balance(units, k, band, candidates=candidates)
    return _geojson(proposal, area, back, k_source, standard, workers, households)


def _geojson(
    p: Proposal,
    area: str,
    back: Transformer,
    k_source: str,
    standard: int,
    workers: int,
    households: int,
) -> dict[str, Any]:
    features = []
    for part in p.parts:
        geom = shapely.transform(
            part.geometry, lambda a: np.column_stack(back.transform(a[:, 0], a[:, 1]))
        )
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-7)),
                "properties": {
                    "index": part.index,
                    "households": part.households,
                    "deviation": round(part.deviation, 4),
                    "polsby_popper": round(part.polsby_popper, 4),
                    "buildings": len(part.units),
                    "current_grid": part.current,
                    "own_building": part.own_building,
                },
            }
        )
    summary = p.summary() | {
        "area": area,
        "households": households,
        "workers": workers,
        "standard": standard,
        "k_source": k_source,
        "share_vs_standard": round(p.share / standard - 1, 4),
    }
    if abs(p.share / standard - 1) > p.band:
        summary["warnings"] = [
            *summary["warnings"],
            f"the equal share {p.share:.0f} is outside ±{p.band:.0%} of the standard {standard}",
        ]
    return {"type": "FeatureCollection", "features": features, "summary": summary}
