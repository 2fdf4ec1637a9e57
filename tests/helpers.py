"""Tiny geometry fixtures built in code: rectangular grids inserted straight into the store."""

from __future__ import annotations

from sqlalchemy import Connection, text

INSERT_BOX = text(
    """
    INSERT INTO grids (code, name, level_id, parent_id, geom, workers)
    SELECT :code, :name, l.id,
           (SELECT id FROM grids WHERE code = :parent AND valid_to IS NULL),
           ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), :workers
    FROM levels l WHERE l.key = :level
    """
)


def add_box(
    conn: Connection,
    code: str,
    level: str,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    parent: str | None = None,
    workers: int = 0,
    name: str | None = None,
) -> None:
    """Insert a grid whose boundary is the box x0..x1 × y0..y1 (degrees)."""
    conn.execute(
        INSERT_BOX,
        dict(code=code, name=name or f"网格{code}", level=level, parent=parent, workers=workers)
        | dict(x0=x0, y0=y0, x1=x1, y1=y1),
    )


def add_strip(
    conn: Connection,
    code: str,
    level: str,
    x0: float,
    x1: float,
    parent: str | None = None,
    workers: int = 0,
    name: str | None = None,
) -> None:
    """Insert a grid whose boundary is the box x0..x1 × 0..1."""
    add_box(conn, code, level, x0, 0.0, x1, 1.0, parent, workers, name)


# A district of two streets, two communities and three grids, side by side on x = 0..3.
D, S1, S2 = "110101", "110101001", "110101002"
C1, C2 = "110101001001", "110101002001"
G1, G2, G3 = "110101001001001", "110101001001002", "110101002001001"


def add_strip_city(conn: Connection) -> None:
    """Insert the small city above: G1 (2 workers) and G2 (1) in C1, G3 (1) in C2."""
    add_strip(conn, D, "district", 0, 3)
    add_strip(conn, S1, "street", 0, 2, D)
    add_strip(conn, S2, "street", 2, 3, D)
    add_strip(conn, C1, "community", 0, 2, S1)
    add_strip(conn, C2, "community", 2, 3, S2)
    add_strip(conn, G1, "grid", 0, 1, C1, workers=2)
    add_strip(conn, G2, "grid", 1, 2, C1, workers=1)
    add_strip(conn, G3, "grid", 2, 3, C2, workers=1)
