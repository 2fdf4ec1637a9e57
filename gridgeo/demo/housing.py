"""The demo city's housing as Chinese cities have it: compounds of walk-ups and towers, lanes.

Every grid gets buildings until its households are housed. A community has a style (walk-up
compounds, towers, mixed, or old lanes) that sets the odds of each kind of building:

- walk-up (多层): 5–7 floors, 2–4 units (单元), 2 households a floor: 20–56 households;
- tower (高层): 18–33 floors, 2–4 units, 2–4 households a floor: 72–528;
- lane (平房/里弄): old low-rise row, 1–2 floors, one entrance, 4–24 households;
- large (单体大楼): a single large building, one core, 8–16 floors, 10–20 a floor.

Occupancy is 85–100 % of the capacity; the last building of a grid takes what is left, so
every grid's total is exactly its target. Footprints are rectangles facing south (long axis
east–west, units side by side along it), shrunk until they lie 2 m inside their block, so a
building is in one grid; a unit's point (its stairwell) lies on the footprint's axis.

Pure numpy/shapely; a separate generator stream so the areas and totals of the city do not
depend on it. Measured: the whole city (≈ 235,000 households) in about 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

KINDS = ("walkup", "tower", "lane", "large")
# odds of each kind (in KINDS order) by community style
STYLES = {
    "walkup": (0.86, 0.06, 0.05, 0.03),
    "tower": (0.22, 0.74, 0.0, 0.04),
    "mixed": (0.56, 0.36, 0.05, 0.03),
    "old": (0.30, 0.0, 0.68, 0.02),
}
STYLE_ODDS = {"walkup": 0.35, "tower": 0.25, "mixed": 0.30, "old": 0.10}
# metres per unit along the front, and depth, by kind
UNIT_WIDTH = {"walkup": 13.0, "tower": 11.0, "lane": 40.0, "large": 45.0}
DEPTH = {"walkup": 11.0, "tower": 18.0, "lane": 9.0, "large": 28.0}
EDGE = 2.0  # metres a footprint keeps from its block's edge
SCALES = (1.0, 0.7, 0.5, 0.35, 0.2, 0.1)


@dataclass(frozen=True)
class Housing:
    """Buildings (n) and their units (m), metric coordinates.

    Attributes:
        xy: building centres (n, 2).
        households: households per building.
        kind: kind of each building (``KINDS``).
        floors: floors of each building.
        grid: grid index of each building.
        footprints: shapely Polygons (metric).
        unit_building: building index of each unit (m,).
        unit_number: 1-based unit number within its building.
        unit_households: households of each unit (≥ 1).
        unit_xy: the point of each unit's stairwell (m, 2).
    """

    xy: np.ndarray
    households: np.ndarray
    kind: np.ndarray
    floors: np.ndarray
    grid: np.ndarray
    footprints: np.ndarray
    unit_building: np.ndarray
    unit_number: np.ndarray
    unit_households: np.ndarray
    unit_xy: np.ndarray


def _spec(kind: str, rng: np.random.Generator) -> tuple[int, int, int]:
    """Floors, units and households a floor of a new building of ``kind``."""
    if kind == "walkup":
        return int(rng.integers(5, 8)), int(rng.integers(2, 5)), 2
    if kind == "tower":
        return int(rng.integers(18, 34)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    if kind == "lane":
        return int(rng.integers(1, 3)), 1, int(rng.integers(4, 13))
    return int(rng.integers(8, 17)), 1, int(rng.integers(10, 21))


def grid_buildings(
    total: int, style: str, rng: np.random.Generator
) -> list[tuple[str, int, list[int]]]:
    """Buildings housing exactly ``total`` households: (kind, floors, households per unit)."""
    odds = np.asarray(STYLES[style])
    out: list[tuple[str, int, list[int]]] = []
    left = int(total)
    while left > 0:
        kind = KINDS[int(rng.choice(len(KINDS), p=odds))]
        floors, units, per_floor = _spec(kind, rng)
        size = max(units, round(floors * units * per_floor * rng.uniform(0.85, 1.0)))
        if left - size < 6:  # no stub of a few households after this one: it takes the rest
            size = left
        units = min(units, size)
        base, extra = divmod(size, units)
        out.append((kind, floors, [base + (1 if u < extra else 0) for u in range(units)]))
        left -= size
    return out


def community_styles(n: int, rng: np.random.Generator) -> list[str]:
    """The style of each of ``n`` communities."""
    names = list(STYLE_ODDS)
    picks = rng.choice(len(names), size=n, p=np.asarray(list(STYLE_ODDS.values())))
    return [names[int(i)] for i in picks]


def footprints(
    xy: np.ndarray, kinds: list[str], units: np.ndarray, blocks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """South-facing rectangles around each centre, shrunk to lie ``EDGE`` m inside the block.

    Args:
        xy: centres (n, 2), metric.
        kinds: kind of each building.
        units: units of each building.
        blocks: the block polygon holding each centre (n,).

    Returns:
        The footprints and their half-lengths along the east–west axis (for the units).
    """
    half_w = np.array([UNIT_WIDTH[k] for k in kinds]) * units / 2.0
    half_d = np.array([DEPTH[k] for k in kinds]) / 2.0
    inner = shapely.buffer(blocks, -EDGE, join_style="mitre")
    shapely.prepare(inner)
    scale = np.full(len(xy), SCALES[-1])
    todo = np.ones(len(xy), dtype=bool)
    for s in SCALES:
        box = shapely.box(
            xy[:, 0] - half_w * s,
            xy[:, 1] - half_d * s,
            xy[:, 0] + half_w * s,
            xy[:, 1] + half_d * s,
        )
        fits = todo & shapely.within(box, inner)
        scale[fits] = s
        todo &= ~fits
    half_w, half_d = half_w * scale, half_d * scale
    boxes = shapely.box(xy[:, 0] - half_w, xy[:, 1] - half_d, xy[:, 0] + half_w, xy[:, 1] + half_d)
    return boxes, half_w


def unit_points(
    xy: np.ndarray,
    half_w: np.ndarray,
    unit_building: np.ndarray,
    unit_number: np.ndarray,
    units: np.ndarray,
) -> np.ndarray:
    """Each unit's stairwell: evenly along its building's east–west axis."""
    b = unit_building
    frac = (unit_number - 0.5) / units[b] * 2.0 - 1.0  # -1..1 along the front
    return np.column_stack([xy[b, 0] + frac * half_w[b] * 0.9, xy[b, 1]])
