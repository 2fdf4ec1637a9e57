"""Request dependencies: a connection in a transaction, the level hierarchy.

The connection is committed *before* the response is sent (``scope="function"``): an answer
of 201 means the row is stored, so a phone may safely drop the report from its outbox. And a
request first waits in the event loop for a free connection slot, only then takes a worker
thread: with more requests in flight than connections, threads would otherwise block on the
pool while the requests holding connections wait for a thread, and the server would wedge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from gridgeo.levels import Hierarchy, load_hierarchy


async def connection_slot(request: Request) -> AsyncIterator[None]:
    """Hold one of the app's connection slots (as many as the pool has connections)."""
    async with request.app.state.connection_slots:
        yield


def get_conn(
    request: Request, _slot: Annotated[None, Depends(connection_slot, scope="function")]
) -> Iterator[Connection]:
    """A connection in a transaction: committed when the handler succeeds, else rolled back.

    The transaction is the app's (``create_app(transaction=…)``; the engine's by default).
    """
    with request.app.state.transaction() as conn:
        yield conn


def get_hierarchy(
    request: Request, conn: Annotated[Connection, Depends(get_conn, scope="function")]
) -> Hierarchy:
    """The level chain (cached on the app after the first read)."""
    cached: Hierarchy | None = getattr(request.app.state, "hierarchy", None)
    if cached is None:
        cached = load_hierarchy(conn)
        request.app.state.hierarchy = cached
    return cached


ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
HierarchyDep = Annotated[Hierarchy, Depends(get_hierarchy)]
