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
