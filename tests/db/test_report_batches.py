"""PoolStatements.batched: statements queued while the connections are busy, sent together.

On a real server through psycopg's async pool: each caller gets its own row; a group is one
transaction; a statement that fails (at once or at commit) fails alone, and the others of its
group are stored exactly once; nobody is answered before the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from api.statements import PoolStatements
from gridgeo.db import libpq_conninfo
from tests.conftest import _database

INSERT = (
    "INSERT INTO batch_probe (n) VALUES (%(n)s) "
    "RETURNING n, 10 / %(d)s AS q, txid_current() AS tx, pg_backend_pid() AS pid"
)


@pytest.fixture(scope="module")
def engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_report_batches")
    yield eng
    eng.dispose()


@pytest.fixture
def probe(engine: Engine) -> Iterator[Engine]:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS batch_probe"))
        conn.execute(text("CREATE TABLE batch_probe (n int PRIMARY KEY, late int DEFAULT 0)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE batch_probe"))


def _stored(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [
            int(n) for n in conn.execute(text("SELECT n FROM batch_probe ORDER BY n")).scalars()
        ]


STATS: dict[str, int] = {}  # the pool's statistics at the end of the last _run_all


async def _run_all(engine: Engine, calls: list[dict[str, int]], size: int = 2) -> list[object]:
    pool = PoolStatements(libpq_conninfo(engine.url), size)
    try:
        return await asyncio.gather(
            *(pool.batched(INSERT, params) for params in calls), return_exceptions=True
        )
    finally:
        STATS.clear()
        STATS.update(pool.pool.get_stats())
        await pool.close()


def test_each_caller_gets_its_own_row_and_groups_share_a_transaction(probe):
    calls = [{"n": n, "d": 1} for n in range(60)]
    rows = asyncio.run(_run_all(probe, calls))
    assert [r["n"] for r in rows] == list(range(60))  # type: ignore[index]
    transactions = {r["tx"] for r in rows}  # type: ignore[index]
    # 60 callers at once on 2 connections: most waited and went in a group
    assert len(transactions) < 30, len(transactions)
    assert len({r["pid"] for r in rows}) <= 2  # type: ignore[index]  # the pool's size
    assert _stored(probe) == list(range(60))


def test_a_failing_statement_fails_alone_and_the_rest_of_its_group_is_stored_once(probe):
    calls = [{"n": n, "d": 0 if n in (7, 31) else 1} for n in range(40)]
    results = asyncio.run(_run_all(probe, calls))
    failed = [n for n, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [7, 31]
    assert all(isinstance(results[n], psycopg.errors.DivisionByZero) for n in failed)
    assert [r["n"] for r in results if not isinstance(r, Exception)] == [  # type: ignore[index]
        n for n in range(40) if n not in (7, 31)
    ]
    # the groups with 7 and 31 were rolled back and sent again one by one: no loss, no double
    assert _stored(probe) == [n for n in range(40) if n not in (7, 31)]


def test_a_commit_that_fails_is_no_answer_for_anyone_of_the_group(probe):
    """A deferred check fails at commit for one row: the others are stored and answered."""
    with probe.begin() as conn:
        conn.execute(
            text(
                """
                CREATE FUNCTION probe_refuse() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN IF NEW.n = 13 THEN RAISE EXCEPTION 'refused at commit'; END IF;
                RETURN NULL; END $$;
                CREATE CONSTRAINT TRIGGER probe_refuse AFTER INSERT ON batch_probe
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION probe_refuse();
                """
            )
        )
    try:
        results = asyncio.run(_run_all(probe, [{"n": n, "d": 1} for n in range(30)]))
    finally:
        with probe.begin() as conn:
            conn.execute(text("DROP TRIGGER probe_refuse ON batch_probe"))
            conn.execute(text("DROP FUNCTION probe_refuse()"))
    assert [n for n, r in enumerate(results) if isinstance(r, Exception)] == [13]
    assert "refused at commit" in str(results[13])
    # 13 went in a group: its connection, stuck in pipeline mode, was closed and not reused
    assert STATS.get("returns_bad", 0) >= 1, STATS
    assert _stored(probe) == [n for n in range(30) if n != 13]


def test_answers_come_after_the_commit(probe):
    """Every answered row is visible to another connection the moment its caller has it."""
    seen: list[bool] = []

    async def main() -> None:
        pool = PoolStatements(libpq_conninfo(probe.url), 2)
        check = await psycopg.AsyncConnection.connect(libpq_conninfo(probe.url), autocommit=True)

        async def one(n: int) -> None:
            await pool.batched(INSERT, {"n": n, "d": 1})
            cur = await check.execute("SELECT count(*) FROM batch_probe WHERE n = %s", (n,))
            row = await cur.fetchone()
            seen.append(row is not None and row[0] == 1)

        try:
            await asyncio.gather(*(one(n) for n in range(40)))
        finally:
            await check.close()
            await pool.close()

    asyncio.run(main())
    assert seen == [True] * 40


def test_a_caller_that_goes_away_does_not_stop_the_others(probe):
    async def main() -> list[object]:
        pool = PoolStatements(libpq_conninfo(probe.url), 1)
        try:
            tasks = [
                asyncio.ensure_future(pool.batched(INSERT, {"n": n, "d": 1})) for n in range(20)
            ]
            await asyncio.sleep(0)
            tasks[5].cancel()
            return await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await pool.close()

    results = asyncio.run(main())
    assert isinstance(results[5], asyncio.CancelledError)
    assert [r["n"] for n, r in enumerate(results) if n != 5] == [  # type: ignore[index]
        n for n in range(20) if n != 5
    ]
    stored = _stored(probe)
    assert [n for n in stored if n != 5] == [n for n in range(20) if n != 5]
