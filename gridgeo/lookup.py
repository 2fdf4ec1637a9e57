"""Looking up a current grid by its code (the one place that says "no such grid")."""

from __future__ import annotations

from sqlalchemy import Connection, text

from gridgeo.errors import NotFound

CURRENT_ID = text("SELECT id FROM grids WHERE code = :c AND valid_to IS NULL")


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
