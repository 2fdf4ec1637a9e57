"""Request dependencies: a connection in a transaction, the level hierarchy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from gridgeo.levels import Hierarchy, load_hierarchy


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection in a transaction: committed when the handler succeeds, else rolled back."""
    with request.app.state.engine.begin() as conn:
        yield conn


def get_hierarchy(request: Request, conn: Annotated[Connection, Depends(get_conn)]) -> Hierarchy:
    """The level chain (cached on the app after the first read)."""
    cached: Hierarchy | None = getattr(request.app.state, "hierarchy", None)
    if cached is None:
        cached = load_hierarchy(conn)
        request.app.state.hierarchy = cached
    return cached


ConnDep = Annotated[Connection, Depends(get_conn)]
HierarchyDep = Annotated[Hierarchy, Depends(get_hierarchy)]
