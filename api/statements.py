"""Statements on the event loop, for the hot path of reports.

``POST /incidents`` is what hundreds of phones send at once. Its common case (a JSON report
inside a grid) runs on an async psycopg pool (:class:`PoolStatements`, ``autocommit``) with no
worker thread and no ORM layer between; everything else goes through :func:`in_transaction`,
the sync path of every other route, on a worker thread.

Reports go through :meth:`PoolStatements.batched`: a report that finds a connection free is
its own transaction; those that arrive while every connection is busy wait in a queue, and
the next connection to come free sends all of them at once (psycopg's pipeline mode: one
round trip) as one transaction with one commit. Each is answered only once that commit is
done, so what is acknowledged is on disk; a statement that fails rolls back the whole group,
which is then sent again one statement at a time, so that only the failing one fails.

Two database layers, with one boundary: this pool serves the statements of the hot path (the
report statement, which authenticates its token itself, and the token check of a route on the
loop), because a report must not wait for a worker thread nor an ORM layer; every other
statement — including whatever a report's statement could not settle — goes through
SQLAlchemy (:func:`in_transaction`, ``api.deps.get_conn``). Both are the app's state, given
by ``create_app``; a test rig passes its own (say, statements in the test's transaction).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

import psycopg
from fastapi import Request, Response
from fastapi.routing import APIRoute
from psycopg import AsyncConnection, pq
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from gridgeo.errors import DatabaseUnavailable

T = TypeVar("T")


class Statements(Protocol):
    """Runs one statement (in the driver's ``%(name)s`` style), answering its first row."""

    async def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of ``sql`` with ``params`` (None for no row), committed."""
        ...

    async def batched(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """As :meth:`one`, maybe committed in one transaction with statements sent meanwhile."""
        ...

    async def close(self) -> None:
        """Release what the statements hold (the app is stopping)."""
        ...


Row = dict[str, Any] | None


class _Queued(NamedTuple):
    sql: str
    params: Mapping[str, Any]
    done: asyncio.Future[Row]
    alone: bool = False  # to be sent in a transaction of its own


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"the database did not answer ({type(exc).__name__}); the request may not "
        "have been stored: send it again (a report with the same Idempotency-Key)"
    )


def _settle(item: _Queued, row: Row = None, exc: BaseException | None = None) -> None:
    if item.done.done():  # the caller went away (cancelled)
        return
    if exc is not None:
        item.done.set_exception(exc)
    else:
        item.done.set_result(row)


async def _configure(conn: AsyncConnection[DictRow]) -> None:
    conn.prepare_threshold = 1  # the hot statements are few: plan each once per connection


class PoolStatements:
    """At most ``max_size`` autocommit connections of psycopg's async pool, opened on first use.

    psycopg prepares a statement on the server from its second use on a connection, and the
    connections keep to the prepared (generic) plan: the report's plan is made once per
    connection, not per request. (By default PostgreSQL plans the first five executions for
    their values and may keep doing so when those plans look cheaper, as they do on a nearly
    empty table: a millisecond of planning per report.)

    :meth:`batched` statements queue while ``flights`` connections are busy sending them (by
    default as many as the cores, at least two); each takes what has queued, up to
    ``max_batch``, as one transaction.
    """

    def __init__(
        self, conninfo: str, max_size: int, *, max_batch: int = 32, flights: int | None = None
    ) -> None:
        self.max_size = max(1, max_size)
        # connections sending queued statements at once: more than the cores only adds
        # contention, fewer makes larger groups (each a commit and a round trip for many)
        self.max_flights = min(self.max_size, flights or max(2, os.cpu_count() or 2))
        self.max_batch = max(1, max_batch)
        self._queue: deque[_Queued] = deque()
        self._flights = 0  # tasks sending the queue, each on a connection of its own
        self._tasks: set[asyncio.Task[None]] = set()
        self.pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=self.max_size,
            open=False,
            name="gridgeo-statements",
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "application_name": "gridgeo-statements",
                "options": "-c plan_cache_mode=force_generic_plan",
            },  # fmt: skip
            configure=_configure,
            timeout=30.0,
        )
        self._opened = False
        self._lock = asyncio.Lock()
        self._checking: asyncio.Task[None] | None = None

    async def _open(self) -> None:
        async with self._lock:
            if not self._opened:
                await self.pool.open(wait=False)
                self._opened = True

    async def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of ``sql`` on a pooled connection.

        Raises:
            DatabaseUnavailable: the connection broke or none came in time (503). The pool
                then checks its idle connections, so that the next requests get sound ones.
        """
        if not self._opened:
            await self._open()
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute(sql, params)
                return await cur.fetchone()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self._check_soon()
            raise _unavailable(exc) from exc

    async def batched(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of ``sql``, committed alone or with the statements queued meanwhile.

        Raises:
            DatabaseUnavailable: as :meth:`one`. Errors of the statement itself as raised.
        """
        if not self._opened:
            await self._open()
        loop = asyncio.get_running_loop()
        item = _Queued(sql, params, loop.create_future())
        self._queue.append(item)
        if self._flights < self.max_flights:
            self._flights += 1
            task = loop.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await item.done

    async def _flush(self) -> None:
        """Send the queue, a group at a time, on one connection while there is any."""
        try:
            while self._queue:
                try:
                    async with self.pool.connection() as conn:
                        while self._queue:
                            group = [q for q in self._take() if not q.done.done()]
                            if group:
                                await self._send(conn, group)
                except PoolTimeout as exc:  # no connection in time: none will come soon
                    self._check_soon()
                    while self._queue:
                        _settle(self._queue.popleft(), exc=_unavailable(exc))
                except psycopg.Error:  # broke, or given up: the group is settled or queued again
                    self._check_soon()
        finally:
            self._flights -= 1

    def _take(self) -> list[_Queued]:
        """The next group: the first queued statement and those after it, up to max_batch."""
        group = [self._queue.popleft()]
        while (
            not group[0].alone
            and self._queue
            and not self._queue[0].alone
            and len(group) < self.max_batch
        ):
            group.append(self._queue.popleft())
        return group

    async def _send(self, conn: AsyncConnection[DictRow], group: list[_Queued]) -> None:
        """``group`` in one transaction (a statement alone in its own); every item settled.

        The group goes as one pipeline in autocommit: PostgreSQL runs the statements up to the
        pipeline's sync as one implicit transaction, committed at the sync.

        A group that fails is queued again, each item to go alone, so that only the bad one
        fails.

        Raises:
            psycopg.Error: the connection broke (the items have their 503), or the group's
                commit failed, which leaves psycopg unable to leave pipeline mode: the
                connection is closed (its items are queued again).
        """
        try:
            if len(group) == 1:
                cur = await conn.execute(group[0].sql, group[0].params)
                rows = [await cur.fetchone()]
            else:
                async with conn.pipeline():
                    cursors = []
                    for item in group:
                        cursors.append(cur := conn.cursor())
                        await cur.execute(item.sql, item.params)
                rows = [await cur.fetchone() for cur in cursors]
        except asyncio.CancelledError as exc:  # the app is stopping
            for item in group:
                _settle(item, exc=_unavailable(exc))
            raise
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                for item in group:
                    _settle(item, exc=_unavailable(exc))
                raise
            if len(group) == 1:
                _settle(group[0], exc=exc)
                return
            # nothing of the group was stored: each again on its own (first in the queue), so
            # that only the bad one fails
            self._queue.extendleft(reversed([item._replace(alone=True) for item in group]))
            if (
                conn.pgconn.pipeline_status != pq.PipelineStatus.OFF
                or conn.info.transaction_status != pq.TransactionStatus.IDLE
            ):  # the commit failed (say, a deferred check): this connection cannot go on
                await conn.close()
                raise
            return
        for item, row in zip(group, rows, strict=True):
            _settle(item, row)

    def _check_soon(self) -> None:
        if self._checking is None or self._checking.done():
            self._checking = asyncio.get_running_loop().create_task(self.pool.check())

    async def close(self) -> None:
        """Close the pool's connections (if it was ever opened)."""
        if self._checking is not None:
            self._checking.cancel()
        for task in list(self._tasks):
            task.cancel()
        while self._queue:
            _settle(self._queue.popleft(), exc=DatabaseUnavailable("the server is stopping"))
        if self._opened:
            await self.pool.close()
            self._opened = False


class DirectRoute(APIRoute):
    """A route whose endpoint takes the request and answers a response itself.

    Listed in the OpenAPI schema (with what ``openapi_extra`` declares) and served with the
    app's error handlers, but with no dependency solving (FastAPI would parse cookies and
    headers and solve the tree on every call): for the one route on the hot path.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint itself."""
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


def statements(request: Request) -> Statements:
    """Where this request's hot statements run: the app's (``create_app(statements=…)``)."""
    found: Statements = request.app.state.statements
    return found


async def in_transaction(request: Request, work: Callable[[Connection], T]) -> T:
    """``work`` on a worker thread with a connection in a transaction, as ``get_conn`` gives.

    Committed when ``work`` returns (before the caller answers), rolled back if it raises.
    """

    def run() -> T:
        with request.app.state.transaction() as conn:
            return work(conn)

    async with request.app.state.connection_slots:
        return await run_in_threadpool(run)
