"""Mapbox vector tiles of the levels, straight from PostGIS (``ST_AsMVT``), with a cache.

One MVT layer per tile, named after the level key. Every feature carries ``code``, ``name`` and
``level``; the leaf level (the grids) also carries the workload figures of
:mod:`gridgeo.workload` (households, workers, load, deviation, status against the standard and
band of the nearest configured ancestor) and its count of open incidents.

Boundaries are generalised per zoom (about half a screen pixel) before they are clipped and
quantised by ``ST_AsMVTGeom``. Tiles are kept in an in-process LRU keyed by the tile, the
caller's area filter and a cheap data version (see :func:`data_version`); the all-levels tiles
of the overview zooms (z ≤ :data:`STORED_ZOOM`) are also kept in the table ``map_tiles``
(migration 0028) for that version, so that a restarted service starts warm, and
:func:`prerender` makes them all once after a change (``bench/maps.py`` measures both).
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gridgeo.errors import InvalidInput
from gridgeo.incidents.policy import OPEN_STATES
from gridgeo.levels import Hierarchy
from gridgeo.workload import DEFAULT_BAND

MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
# All-levels tiles up to this zoom are kept in ``map_tiles``: the overview zooms, where a tile
# sums the households of thousands of grids (z12 p50 ~54 ms uncached at 10,000 grids, against
# ~1 ms to read one back), and there are few of them (~40 for a city, z ≤ 12).
STORED_ZOOM = 12

_REQ = """
env AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS e3857,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS e4326
),
req AS (
    SELECT g.id, g.code, g.name, g.geom FROM current_grids g, env
    WHERE g.level_id = :level_id AND g.geom && env.e4326 {areas}
)"""

_GEOM = (
    "ST_AsMVTGeom(ST_Transform(ST_Simplify(r.geom, :tolerance, true), 3857),"
    " env.e3857, :extent, :buffer, true) AS geom"
)

OUTLINE_TILE = f"""
WITH {_REQ}
SELECT ST_AsMVT(t, :layer, :extent, 'geom') FROM (
    SELECT r.code, r.name, :layer AS level, {_GEOM} FROM req r, env
) t WHERE t.geom IS NOT NULL
"""  # noqa: S608 - fixed fragments; values are bound

# The status rule of gridgeo.workload.classify, in SQL (tests/api/test_tiles.py compares them).
GRID_TILE = f"""
WITH {_REQ},
hh AS (
    SELECT s.grid_id, s.households AS n FROM grid_households s
    WHERE s.grid_id IN (SELECT id FROM req)
),
inc AS (
    SELECT grid_id, count(*)::int AS n FROM incidents
    WHERE grid_id IN (SELECT id FROM req) AND state = ANY(CAST(:open AS text[]))
    GROUP BY grid_id
),
f AS (
    SELECT r.code, r.name, coalesce(hh.n, 0) AS households, coalesce(s.workers, 0) AS workers,
           coalesce(c.households_per_worker, :standard) AS standard,
           coalesce(c.band, :band) AS band, coalesce(inc.n, 0) AS open_incidents, {_GEOM}
    FROM req r CROSS JOIN env
    LEFT JOIN hh ON hh.grid_id = r.id
    LEFT JOIN grid_staff s ON s.grid_id = r.id
    LEFT JOIN inc ON inc.grid_id = r.id
    LEFT JOIN LATERAL (
        SELECT households_per_worker, band FROM workload_config w
        WHERE left(r.code, length(w.area_code)) = w.area_code
        ORDER BY length(w.area_code) DESC LIMIT 1
    ) c ON true
),
d AS (
    SELECT f.*, CASE WHEN workers > 0
                THEN round(households::numeric / workers / standard - 1, 9)::float8 END AS dev
    FROM f WHERE geom IS NOT NULL
)
SELECT ST_AsMVT(t, :layer, :extent, 'geom') FROM (
    SELECT code, name, :layer AS level, households, workers, standard, band, open_incidents,
           CASE WHEN workers > 0 THEN round(households::numeric / workers, 1)::float8 END
               AS load,
           CASE WHEN workers > 0 THEN round(dev::numeric, 4)::float8 END AS deviation,
           CASE WHEN households = 0 THEN 'empty'
                WHEN workers = 0 THEN 'unstaffed'
                WHEN dev > band THEN 'over'
                WHEN dev < -band THEN 'under'
                ELSE 'within' END AS status,
           geom
    FROM d
) t
"""  # noqa: S608 - fixed fragments; values are bound

VERSION = """
SELECT concat_ws(':',
    (SELECT concat(max(updated_at), '/', count(*)) FROM grids),
    (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
     WHERE relname IN ('grids', 'households', 'household_grid', 'workers', 'workload_config',
                       'incidents')))
"""


def tolerance(z: int) -> float:
    """Simplification tolerance in degrees at zoom ``z``: about half a 256-pixel screen pixel."""
    return 360.0 / (2**z) / 512.0


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the XYZ pyramid.

    Raises:
        InvalidInput: z outside 0..MAX_ZOOM or x, y outside 0..2**z - 1.
    """
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"z must be between 0 and {MAX_ZOOM}", field="z")
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(f"x and y must be between 0 and {n - 1} at zoom {z}", field="x")


def levels_at(hierarchy: Hierarchy, z: int) -> Sequence[str]:
    """Keys of the levels drawn at tile zoom ``z``, top first.

    The top two levels at every zoom; each finer level from zoom ``6 + depth`` (the leaf
    grids of the default chain, depth 3, from zoom 9, where a 500 m grid spans a few pixels).
    """
    keys = [s.key for s in hierarchy.levels]
    shown = max(2, z - 5)
    return keys[:shown]


def data_version(conn: Connection) -> str:
    """A cheap token that changes when grids, households, workers or incidents change.

    Grids by their latest ``updated_at`` and count; the rest by the write counters of the
    statistics collector (published within about a second of a commit).
    """
    return str(conn.execute(text(VERSION)).scalar())


def render_tile(
    conn: Connection,
    hierarchy: Hierarchy,
    *,
    layer: str,
    z: int,
    x: int,
    y: int,
    standard: int,
    areas: tuple[str, ...] | None = None,
) -> bytes:
    """One tile of one level as MVT bytes (empty bytes when no feature meets the tile).

    Args:
        conn: database connection.
        hierarchy: the level chain; ``layer`` is a level key.
        layer: level key, also the MVT layer name.
        z: zoom.
        x: tile column (XYZ, from the west).
        y: tile row (XYZ, from the north).
        standard: households per worker where no area sets its own (grids are filled by load).
        areas: only areas at or below these codes (None: no restriction).

    Raises:
        InvalidInput: unknown level or a tile outside the pyramid.
    """
    check_tile(z, x, y)
    spec = hierarchy.get(layer)
    params: dict[str, Any] = {
        "z": z,
        "x": x,
        "y": y,
        "margin": BUFFER / EXTENT,
        "level_id": spec.id,
        "layer": spec.key,
        "tolerance": tolerance(z),
        "extent": EXTENT,
        "buffer": BUFFER,
    }
    area_sql = ""
    if areas is not None:
        params["areas"] = [a + "%" for a in areas]
        area_sql = "AND g.code LIKE ANY(CAST(:areas AS text[]))"
    if spec.depth == len(hierarchy.levels) - 1:
        sql = GRID_TILE
        params.update(open=list(OPEN_STATES), standard=standard, band=DEFAULT_BAND)
    else:
        sql = OUTLINE_TILE
    data = conn.execute(text(sql.format(areas=area_sql)), params).scalar()
    return bytes(data or b"")


class TileCache:
    """A thread-safe LRU of rendered tiles, keyed by tile, area filter and data version."""

    def __init__(self, standard: int, max_entries: int = 4096, *, keep: bool = True) -> None:
        """Keep at most ``max_entries`` tiles, filled against the staffing ``standard``.

        ``keep``: also read and keep the overview tiles in ``map_tiles`` (False: the benchmark
        of uncached tiles).
        """
        self.keep = keep
        self.standard = standard
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stored_hits = 0  # all-levels tiles read back from ``map_tiles``

    def get(
        self,
        conn: Connection,
        hierarchy: Hierarchy,
        *,
        layer: str,
        z: int,
        x: int,
        y: int,
        areas: tuple[str, ...] | None = None,
        version: str | None = None,
    ) -> bytes:
        """The tile from the cache, rendered (and kept) when missing or stale.

        ``version`` is the :func:`data_version` when the caller has just read it.
        """
        check_tile(z, x, y)
        hierarchy.get(layer)
        key = (layer, z, x, y, areas, version or data_version(conn))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
        tile = render_tile(
            conn, hierarchy, layer=layer, z=z, x=x, y=y, standard=self.standard, areas=areas
        )
        with self._lock:
            self.misses += 1
            self._items[key] = tile
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return tile

    def get_levels(
        self,
        conn: Connection,
        hierarchy: Hierarchy,
        *,
        z: int,
        x: int,
        y: int,
        areas: tuple[str, ...] | None = None,
        compress: bool = False,
        only: tuple[str, ...] | None = None,
    ) -> bytes:
        """One tile holding a layer per level (leaf first, so coarser outlines draw on top).

        MVT layers are independent messages of the tile, so the tile is the concatenation of
        the cached single-level tiles; levels too fine to see at ``z`` are left out (see
        :func:`levels_at`), and with ``only`` the levels not named (a map that draws the
        streets needs no grid layer: the evaluation map at a district's first view asked 1–3 s
        a tile for grids it hid, bench/evaluation.py). With ``compress`` the bytes are gzipped.

        Raises:
            InvalidInput: a tile outside the pyramid, or an unknown level in ``only``.
        """
        check_tile(z, x, y)
        for name in only or ():
            hierarchy.get(name)
        version = data_version(conn)
        key = ("*", z, x, y, areas, compress, only, version)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found
        keep = self.keep and z <= STORED_ZOOM
        stored_key = store_key(z, x, y, areas, compress, only) if keep else None
        stored = None if stored_key is None else _stored(conn, stored_key, version)
        if stored is not None:
            body = stored
            self.stored_hits += 1
        else:
            parts = [
                self.get(conn, hierarchy, layer=k, z=z, x=x, y=y, areas=areas, version=version)
                for k in reversed(levels_at(hierarchy, z))
                if only is None or k in only
            ]
            body = b"".join(parts)
            if compress and body:
                body = gzip.compress(body, compresslevel=5)
            if stored_key is not None:
                _store(conn, stored_key, version, body)
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return body

    def clear(self) -> None:
        """Forget every tile."""
        with self._lock:
            self._items.clear()


def store_key(
    z: int,
    x: int,
    y: int,
    areas: tuple[str, ...] | None,
    compress: bool,
    only: tuple[str, ...] | None = None,
) -> str:
    """The ``map_tiles`` key of a levels tile for an area filter, its levels and an encoding."""
    key: list[object] = [z, x, y, None if areas is None else sorted(areas), compress]
    if only is not None:  # all levels keep the key they were stored under before
        key.append(sorted(only))
    return json.dumps(key)


def _stored(conn: Connection, key: str, version: str) -> bytes | None:
    """The tile kept under ``key`` when it was made from ``version``, else None."""
    row = conn.execute(
        text("SELECT version, body FROM map_tiles WHERE key = :key"), {"key": key}
    ).first()
    return bytes(row[1]) if row is not None and row[0] == version else None


def _store(conn: Connection, key: str, version: str, body: bytes) -> None:
    """Keep a tile for ``version``; a failure (a read-only transaction) only loses the keeping."""
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO map_tiles (key, version, body) VALUES (:key, :version, :body)"
                    " ON CONFLICT (key) DO UPDATE SET version = excluded.version,"
                    " body = excluded.body, made_at = now()"
                ),
                {"key": key, "version": version, "body": body},
            )
    except DBAPIError:
        pass


def overview_tiles(
    box: tuple[float, float, float, float], *, min_zoom: int, max_zoom: int = STORED_ZOOM
) -> list[tuple[int, int, int]]:
    """``(z, x, y)`` of every tile that meets ``box`` (lon/lat) from ``min_zoom`` to ``max_zoom``."""

    def xy(lon: float, lat: float, z: int) -> tuple[int, int]:
        n = 2**z
        lat = max(min(lat, 85.0511), -85.0511)
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return min(max(x, 0), n - 1), min(max(y, 0), n - 1)

    out = []
    for z in range(min_zoom, max_zoom + 1):
        x0, y0 = xy(box[0], box[3], z)
        x1, y1 = xy(box[2], box[1], z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def prerender(
    conn: Connection,
    hierarchy: Hierarchy,
    cache: TileCache,
    *,
    min_zoom: int = 2,
    max_zoom: int = STORED_ZOOM,
    areas: tuple[str, ...] | None = None,
) -> int:
    """Make and keep every all-levels overview tile of the city (gzipped, as browsers ask).

    Run once after a change (the tiles of another version are made again when asked for);
    the caller commits. Returns the number of tiles made.
    """
    box = extent(conn, areas=areas)
    if box is None:
        return 0
    tiles = overview_tiles(box, min_zoom=min_zoom, max_zoom=max_zoom)
    for z, x, y in tiles:
        cache.get_levels(conn, hierarchy, z=z, x=x, y=y, areas=areas, compress=True)
    return len(tiles)


def extent(
    conn: Connection, *, areas: tuple[str, ...] | None = None
) -> tuple[float, float, float, float] | None:
    """``(minlon, minlat, maxlon, maxlat)`` of the current top-level areas (within ``areas``).

    None when there is nothing to show.
    """
    where, params = _area_where(areas)
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("  # noqa: S608
            " SELECT ST_Extent(g.geom) AS e FROM current_grids g"
            f" WHERE g.parent_id IS NULL {where}) s"
        ),
        params,
    ).one()
    if row[0] is None:
        if areas is None:
            return None
        # scoped accounts: the extent of their own areas
        row = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
                " SELECT ST_Extent(g.geom) AS e FROM current_grids g"
                " WHERE g.code = ANY(CAST(:codes AS text[]))) s"
            ),
            {"codes": list(areas)},
        ).one()
        if row[0] is None:
            return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _area_where(areas: tuple[str, ...] | None) -> tuple[str, dict[str, Any]]:
    if areas is None:
        return "", {}
    return "AND g.code LIKE ANY(CAST(:areas AS text[]))", {"areas": [a + "%" for a in areas]}


def search_areas(
    conn: Connection,
    query: str,
    *,
    areas: tuple[str, ...] | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Current areas whose code starts with ``query`` or whose name contains it.

    Returns:
        ``{code, name, level, bbox: [minlon, minlat, maxlon, maxlat]}`` per match, shortest
        (coarsest) codes first.
    """
    q = query.strip()
    if not q:
        return []
    where, params = _area_where(areas)
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params.update(code=like + "%", name="%" + like + "%", limit=limit)
    rows = conn.execute(
        text(
            "SELECT g.code, g.name, l.key, ST_XMin(g.geom), ST_YMin(g.geom), ST_XMax(g.geom),"  # noqa: S608
            " ST_YMax(g.geom) FROM current_grids g JOIN levels l ON l.id = g.level_id"
            " WHERE (g.code LIKE :code OR g.name ILIKE :name)"
            f" {where} ORDER BY length(g.code), g.code LIMIT :limit"
        ),
        params,
    ).all()
    return [
        {"code": r[0], "name": r[1], "level": r[2], "bbox": [float(v) for v in r[3:7]]}
        for r in rows
    ]
