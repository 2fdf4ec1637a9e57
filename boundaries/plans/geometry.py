"""The geometry of plan edits: strict parsing of drawn shapes, snapping, and the edit operations.

Pure functions over shapely geometries in EPSG:4326 (lon/lat). Operations work in degrees, so a
boundary that two grids share is computed once and stays bit-for-bit shared; only tolerances
are converted from metres (conservatively: a degree of latitude, the longest a degree gets).

Every function raises :class:`~gridgeo.errors.InvalidInput` with a sentence naming the grid
and the problem, and a ``location`` where one helps; nothing is repaired silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as shapely_split

from gridgeo.errors import InvalidInput

METRES_PER_DEGREE = 111_320.0
MIN_AREA_M2 = 1.0  # a drawn area smaller than this is degenerate


def degrees(metres: float) -> float:
    """A distance in degrees that is at most ``metres`` in any direction."""
    return metres / METRES_PER_DEGREE


def area_m2(geom: BaseGeometry) -> float:
    """Approximate area in m² of a lon/lat geometry (scaled at its latitude; ±0.5 % in a city)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return float(geom.area) * METRES_PER_DEGREE**2 * math.cos(math.radians(lat))


def _where(geom: BaseGeometry) -> list[float] | None:
    if geom is None or geom.is_empty:
        return None
    p = geom.representative_point()
    return [round(p.x, 7), round(p.y, 7)]


def _signed_area(ring: Sequence[Sequence[float]]) -> float:
    return (
        sum(
            (x1 - x0) * (y1 + y0)
            for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:], strict=False)
        )
        * -0.5
    )


def _position(pos: Any, what: str, ring: str, k: int) -> tuple[float, float]:
    if not isinstance(pos, list | tuple) or len(pos) < 2 or len(pos) > 3:
        raise InvalidInput(f"{what}: {ring}, position {k} is not [lon, lat]", field="geometry")
    try:
        x, y = float(pos[0]), float(pos[1])
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{what}: {ring}, position {k} has a coordinate that is not a number", field="geometry"
        ) from None
    if not (math.isfinite(x) and math.isfinite(y)) or abs(x) > 180 or abs(y) > 90:
        raise InvalidInput(
            f"{what}: {ring}, position {k} ({pos[0]}, {pos[1]}) is outside longitude/latitude "
            "range",
            field="geometry",
        )
    return x, y


def _rings(polygon: Any, what: str, label: str) -> list[list[tuple[float, float]]]:
    if not isinstance(polygon, list | tuple) or not polygon:
        raise InvalidInput(f"{what}: {label} has no rings", field="geometry")
    rings = []
    for r, ring in enumerate(polygon):
        name = f"{label} {'exterior ring' if r == 0 else f'hole {r}'}"
        if not isinstance(ring, list | tuple):
            raise InvalidInput(f"{what}: {name} is not a list of positions", field="geometry")
        pts = [_position(p, what, name, k) for k, p in enumerate(ring)]
        if len(pts) < 4:
            raise InvalidInput(
                f"{what}: {name} has {len(pts)} positions; a ring needs at least 4 (the first "
                "repeated at the end)",
                field="geometry",
            )
        if pts[0] != pts[-1]:
            raise InvalidInput(
                f"{what}: {name} is not closed: its first position {list(pts[0])} differs from "
                f"its last {list(pts[-1])}",
                field="geometry",
                location=list(pts[-1]),
            )
        signed = _signed_area(pts)
        if signed == 0:
            raise InvalidInput(f"{what}: {name} encloses no area", field="geometry")
        if (r == 0) != (signed > 0):
            want = "counter-clockwise" if r == 0 else "clockwise"
            raise InvalidInput(
                f"{what}: {name} is wound the wrong way; RFC 7946 wants exterior rings "
                f"counter-clockwise and holes clockwise, so this one must be {want}",
                field="geometry",
                location=list(pts[0]),
            )
        rings.append(pts)
    return rings


def parse_polygon(obj: Any, what: str) -> Polygon | MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon, checked strictly.

    Args:
        obj: the GeoJSON geometry (a mapping).
        what: who it is for, e.g. ``"grid 370705001001001"`` (starts every message).

    Raises:
        InvalidInput: not a polygon, unclosed or short rings, wrong winding, coordinates out of
            range, self-intersections or holes that cut it apart (with GEOS's reason and the
            place), or an area under 1 m².
    """
    if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise InvalidInput(
            f"{what}: the geometry must be a GeoJSON Polygon or MultiPolygon, not {kind}",
            field="geometry",
        )
    coords = obj.get("coordinates")
    if obj["type"] == "Polygon":
        polys = [_rings(coords, what, "the polygon")]
    else:
        if not isinstance(coords, list | tuple) or not coords:
            raise InvalidInput(f"{what}: the MultiPolygon has no polygons", field="geometry")
        polys = [_rings(p, what, f"polygon {i + 1}") for i, p in enumerate(coords)]
    built = [Polygon(rings[0], rings[1:]) for rings in polys]
    geom: Polygon | MultiPolygon = built[0] if len(built) == 1 else MultiPolygon(built)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidInput(
            f"{what}: the polygon is invalid: {reason}",
            field="geometry",
            location=_reason_point(reason),
        )
    if area_m2(geom) < MIN_AREA_M2:
        raise InvalidInput(
            f"{what}: the polygon is degenerate ({area_m2(geom):.3f} m²)",
            field="geometry",
            location=_where(geom),
        )
    return geom


def _reason_point(reason: str) -> list[float] | None:
    if "[" not in reason:
        return None
    try:
        x, y = reason[reason.index("[") + 1 : reason.index("]")].split()[:2]
        return [float(x), float(y)]
    except ValueError:
        return None


def parse_line(obj: Any, what: str) -> LineString:
    """A GeoJSON LineString of at least two distinct positions.

    Raises:
        InvalidInput: another type, positions out of range, or a line of no length.
    """
    if not isinstance(obj, dict) or obj.get("type") != "LineString":
        kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise InvalidInput(
            f"{what}: the line must be a GeoJSON LineString, not {kind}", field="line"
        )
    coords = obj.get("coordinates")
    if not isinstance(coords, list | tuple):
        raise InvalidInput(f"{what}: the line has no coordinates", field="line")
    pts = [_position(p, what, "the line", k) for k, p in enumerate(coords)]
    line = LineString(pts) if len(pts) >= 2 else None
    if line is None or line.length == 0:
        raise InvalidInput(f"{what}: the line needs two distinct positions", field="line")
    return line


def check_in_area(geom: BaseGeometry, area: BaseGeometry, what: str, area_code: str) -> None:
    """Refuse a shape drawn away from the plan's area, recognising swapped lon/lat.

    Raises:
        InvalidInput: the shape does not meet the area (buffered by 1 km).
    """
    if geom.intersects(area.buffer(degrees(1000))):
        return
    swapped = shapely.transform(geom, lambda xy: xy[:, ::-1])
    hint = (
        "; its coordinates look like [lat, lon]: GeoJSON positions are [lon, lat]"
        if swapped.intersects(area.buffer(degrees(1000)))
        else ""
    )
    raise InvalidInput(
        f"{what}: the shape lies outside the plan's area {area_code}{hint}",
        field="geometry",
        location=_where(geom),
    )


def polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """The polygonal parts of a geometry (a collection from an overlay) as one geometry."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    flat = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(flat) if len(flat) != 1 else flat[0]


def as_multi(geom: BaseGeometry) -> MultiPolygon:
    """A MultiPolygon (how grids are stored), dropping non-polygonal and empty parts."""
    poly = polygonal(geom)
    parts = [
        p for p in (poly.geoms if isinstance(poly, MultiPolygon) else [poly]) if not p.is_empty
    ]
    return MultiPolygon(parts)


def snap(
    geom: Polygon | MultiPolygon, reference: Sequence[BaseGeometry], tolerance_deg: float
) -> Polygon | MultiPolygon:
    """Snap a drawn shape to the vertices and edges of its neighbours within the tolerance.

    Shared boundaries then stay shared: a vertex drawn 30 cm from a neighbour's corner lands on
    it. Returns the input unchanged when there is nothing near, or when snapping would make the
    shape invalid (the checks of the preview will then say why).
    """
    near = [r.boundary for r in reference if r is not None and not r.is_empty]
    if not near or tolerance_deg <= 0:
        return geom
    ref = shapely.union_all(near)
    # densify the reference with the shape's own projections so edges, not only vertices, attract
    snapped = shapely.snap(geom, ref, tolerance_deg)
    if not snapped.is_valid or snapped.is_empty:
        return geom
    return polygonal(snapped)


def _extend(line: LineString, by: float) -> LineString:
    """The line with both end segments extended by ``by`` (so ends drawn on an edge cross it)."""
    coords = list(line.coords)

    def push(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
        dx, dy = b[0] - a[0], b[1] - a[1]
        n = math.hypot(dx, dy) or 1.0
        return (b[0] + dx / n * by, b[1] + dy / n * by)

    return LineString([push(coords[1], coords[0]), *coords, push(coords[-2], coords[-1])])


def split_by_line(
    geom: Polygon | MultiPolygon, line: LineString, what: str, tolerance_deg: float
) -> list[Polygon]:
    """The pieces of ``geom`` cut by ``line``, largest first.

    Ends of the line within the tolerance of the boundary are extended to cross it.

    Raises:
        InvalidInput: the line does not cut the shape into two or more pieces.
    """
    cut = _extend(line, tolerance_deg * 2)
    if not cut.intersects(geom):
        raise InvalidInput(
            f"{what}: the split line does not cross the grid (it lies wholly outside it)",
            field="line",
            location=_where(line),
        )
    pieces = [p for p in shapely_split(geom, cut).geoms if isinstance(p, Polygon)]
    pieces = [p for p in pieces if area_m2(p) >= MIN_AREA_M2]
    if len(pieces) < 2:
        raise InvalidInput(
            f"{what}: the split line does not cross the grid from one edge to another, so it "
            "cuts nothing off; draw it to enter and leave the grid",
            field="line",
            location=_where(line),
        )
    return sorted(pieces, key=lambda p: -p.area)


def merge(shapes: dict[str, BaseGeometry], what: str) -> Polygon:
    """The union of grids that must form one piece (neighbours sharing an edge).

    Raises:
        InvalidInput: naming a grid that shares no edge with the others.
    """
    union = shapely.union_all(list(shapes.values()))
    if isinstance(union, Polygon):
        return union
    codes = list(shapes)
    first = shapes[codes[0]]
    for code in codes[1:]:
        shared = first.boundary.intersection(shapes[code].boundary)
        if shared.length == 0:
            raise InvalidInput(
                f"{what}: grids {codes[0]} and {code} are not adjacent (they share no edge), "
                "so their merge would be in several pieces",
                field="codes",
                location=_where(shapes[code]),
            )
    raise InvalidInput(
        f"{what}: the grids {', '.join(codes)} do not form one piece together", field="codes"
    )


def move_boundary(
    a: BaseGeometry, b: BaseGeometry, line: LineString, codes: tuple[str, str], tol: float
) -> tuple[Polygon | MultiPolygon, Polygon | MultiPolygon]:
    """Redraw the boundary between neighbours ``a`` and ``b`` along ``line``.

    Their union is cut by the line; each piece goes to the grid it overlaps more. Both sides
    change together, so no sliver or gap opens between them.

    Raises:
        InvalidInput: not neighbours, a line that cuts nothing, or a line that leaves one side
            empty or unchanged.
    """
    what = f"grids {codes[0]} and {codes[1]}"
    if a.boundary.intersection(b.boundary).length == 0:
        raise InvalidInput(
            f"{what} are not neighbours (they share no edge), so they have no boundary to move",
            field="codes",
        )
    union = shapely.union_all([a, b])
    pieces = split_by_line(polygonal(union), line, what, tol)
    to_a = [p for p in pieces if p.intersection(a).area >= p.intersection(b).area]
    to_b = [p for p in pieces if p.intersection(a).area < p.intersection(b).area]
    if not to_a or not to_b:
        lost = codes[1] if not to_b else codes[0]
        raise InvalidInput(
            f"{what}: the new boundary would leave nothing to grid {lost}; draw the line "
            "between the two grids",
            field="line",
            location=_where(line),
        )
    new_a = polygonal(shapely.union_all(to_a))
    new_b = polygonal(shapely.union_all(to_b))
    if new_a.symmetric_difference(a).area <= 1e-16:
        raise InvalidInput(
            f"{what}: the line does not move their boundary (draw it where the new boundary "
            "should run, from one end of the shared edge to the other)",
            field="line",
            location=_where(line),
        )
    return new_a, new_b


def transfer(
    source: BaseGeometry, target: BaseGeometry, piece: BaseGeometry, codes: tuple[str, str]
) -> tuple[Polygon | MultiPolygon, Polygon | MultiPolygon]:
    """Move the part of ``source`` inside ``piece`` to its neighbour ``target``.

    Raises:
        InvalidInput: the polygon takes nothing, takes everything, or the part does not touch
            the target (the target would come apart).
    """
    moved = polygonal(source.intersection(piece))
    if area_m2(moved) < MIN_AREA_M2:
        raise InvalidInput(
            f"grid {codes[0]}: the polygon takes nothing from it",
            field="geometry",
            location=_where(piece),
        )
    rest = polygonal(source.difference(piece))
    if area_m2(rest) < MIN_AREA_M2:
        raise InvalidInput(
            f"grid {codes[0]}: the polygon takes all of it; merge it into {codes[1]} instead",
            field="geometry",
        )
    grown = polygonal(shapely.union_all([target, moved]))
    if not isinstance(grown, Polygon):
        raise InvalidInput(
            f"grid {codes[1]}: the part taken from {codes[0]} does not touch it, so {codes[1]} "
            "would come apart",
            field="geometry",
            location=_where(moved),
        )
    return rest, grown


def released_to_neighbours(
    old: BaseGeometry, new: BaseGeometry, neighbours: dict[str, BaseGeometry]
) -> dict[str, BaseGeometry]:
    """Where a reshaped grid gave up area, the neighbours that take it.

    Each released piece joins the neighbour it shares the longest edge with; pieces touching no
    neighbour are left as gaps (the preview reports them).

    Returns:
        The new shape of each neighbour that changes (grown, and minus any overlap with ``new``).
    """
    released = polygonal(old.difference(new))
    pieces = released.geoms if isinstance(released, MultiPolygon) else [released]
    grow: dict[str, list[BaseGeometry]] = {}
    for piece in pieces:
        if piece.is_empty:
            continue
        best, longest = None, 0.0
        for code, shape_ in neighbours.items():
            shared = piece.boundary.intersection(shape_.boundary).length
            if shared > longest:
                best, longest = code, shared
        if best is not None:
            grow.setdefault(best, []).append(piece)
    out: dict[str, BaseGeometry] = {}
    for code, shape_ in neighbours.items():
        grown = shapely.union_all([shape_, *grow.get(code, [])])
        if grown.intersects(new):
            grown = grown.difference(new)
        if code in grow or shape_.intersects(new):
            out[code] = polygonal(grown)
    return out


def to_geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    """GeoJSON mapping of a geometry (None for none)."""
    if geom is None:
        return None
    return dict(shapely.geometry.mapping(geom))


def from_geojson(obj: dict[str, Any]) -> BaseGeometry:
    """A shapely geometry from a trusted GeoJSON mapping (stored, not user input)."""
    return shape(obj)
