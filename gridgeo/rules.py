"""The spatial rules, stated once (as SQL, in migration 0012) and named here.

Every statement that needs one of them composes the SQL function or view; none restates it.

- **Which grid a point is in**: among the current grids whose boundary *covers* the point
  (a point on a shared edge is covered by both sides), the deepest level wins, then the
  smallest code. The order is ``gridgeo_leaf_key(depth, code)``, stored per subdivided part as
  ``grid_parts.leaf_key``; ``gridgeo_leaf(point)`` gives the first covering part by it
  (grid_id, code, depth). Candidates from elsewhere (a plan's draft shapes) sort by
  ``gridgeo_leaf_key`` over their depth and code.
- **Which grid a household or a point of a unit is in** (migration 0018): the unit's explicit
  current assignment (``unit_grids``, the view ``current_unit_grids``) when a unit is given and
  has one, otherwise the rule above: ``gridgeo_place(point, unit_id)`` (grid_id, code, depth).
  Everything that places a household or a report that may name a unit calls this one; set-based
  work (a whole city) joins ``current_unit_grids`` after the point join
  (``gridgeo.buildings.rules.apply_unit_grids``).
  ``gridgeo_leaf_key`` over their depth and code. Work done away from the database (the Dask
  batches of :mod:`gridgeo.batch`) sorts by :func:`leaf_key`, the same key in Python.
- **The chain**: ``gridgeo_chain(grid_id)`` walks a grid's parent links to the top (id,
  parent_id, code, name, level key, depth per row; sort by depth).
- **The ancestor** ``steps`` levels up (the top when the chain is shorter):
  ``gridgeo_ancestor_code(grid_id, steps)``, the queue area of an incident escalated
  ``steps`` times.
- **The nearest grid** to a point outside every grid, with its geodesic distance in metres:
  ``gridgeo_nearest(point)`` (grid_id, code, depth, metres), as migration 0026 states it: of
  the 32 parts nearest in planar degrees, the 8 nearest with longitude scaled by
  cos(latitude), the fewest geodesic metres; **grids equally near — within 1e-7 m — are a
  tie, and the leaf key breaks it: the deepest level, then the smallest code** (grids of
  several levels share the nearest edge; PostGIS measures each apart, a few nanometres
  differently). The geodesic is measured only for the candidates a lower bound does not rule
  out, which changes no answer (``tests/db/test_locate.py``).
- **Locating a point** (the two rules above and the chain, for one point):
  ``gridgeo_locate(lon, lat)`` (code, name, level, depth, metres): the chain top first, or the
  nearest grid alone with its metres; PL/pgSQL, so its statements are planned once per
  connection. :func:`gridgeo.assign.locate` and ``GET /locate`` call it.
- **The current grid by code**: the view ``current_grids`` (rows with ``valid_to IS NULL``;
  codes are unique among them); :func:`current_grid_id` for a code a request named.

One evaluation outside SQL, for speed: :mod:`gridgeo.bulk_join` applies the leaf rule to every
household in memory, ordering by the stored ``leaf_key`` and testing *covers* with shapely;
``tests/db/test_bulk_join.py`` holds it to the SQL rule.

The table functions are inlined by PostgreSQL into the statement that calls them, so they plan
exactly as the subqueries they replaced (``tests/db/test_rules.py`` checks the plans).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from gridgeo.errors import NotFound

#: Levels deeper than this do not fit the key's four digits (the SQL pads 1000 - depth to 4).
MAX_DEPTH = 999


def leaf_key(depth: int, code: str) -> str:
    """The order of the leaf rule, as ``gridgeo_leaf_key(depth, code)`` computes it in SQL.

    The deepest level first, then the smallest code; compared as strings by code point, which is
    the byte order of UTF-8 and so of the ``COLLATE "C"`` column ``grid_parts.leaf_key``.
    ``tests/db/test_batch_assign.py`` checks it against the SQL function.
    """
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth {depth} is outside 0..{MAX_DEPTH}")
    return f"{1000 - depth:04d}{code}"


CURRENT_ID = text("SELECT id FROM current_grids WHERE code = :c")


def current_grid_id(conn: Connection, code: str, field: str = "code") -> int:
    """The id of the current grid with ``code``.

    Args:
        conn: database connection.
        code: the grid's code.
        field: the request field that carried the code (named in the error).

    Raises:
        NotFound: no current grid has that code.
    """
    gid = conn.execute(CURRENT_ID, {"c": code}).scalar()
    if gid is None:
        raise NotFound(f"no grid has the code '{code}'", field=field)
    return int(gid)
