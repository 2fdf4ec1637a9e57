"""The whole-city join of households to grid parts, done in memory from the database's rows.

Why: at 1,000,000 households and 10,000 grids the SQL join of :mod:`gridgeo.bulk_assign`
(parts driven into the GiST index on points, ``ST_Covers`` per candidate) took 3.4 s of the
4.6 s of a bulk assignment, against 1.0 s for ``geopandas.sjoin`` on the same machine. The
same rule evaluated here - households and parts read with ``COPY``, candidates from a
shapely 2 ``STRtree`` and the point-in-polygon test vectorised on *prepared* parts - is as fast
as that anchor, and the answer goes back with a binary ``COPY`` into the table swapped in by
the caller's transaction (durable, all-or-nothing, as before).

The rule is the one of :mod:`gridgeo.rules` as bulk assignment applies it (``PICK_SQL`` and
``MISS_SQL``): among the *leaf* parts covering a point the smallest ``leaf_key`` (deepest level,
then smallest code) wins; a point covered by no leaf part takes the smallest ``leaf_key`` of any
covering part (a gap between leaves: the deepest covering grid of any level); else no grid.
*Covers*, not *within*: a point on a shared edge or vertex is covered by both sides. For a
point and a polygon, "intersects" and "covers" are the same predicate, so the vectorised
``shapely.intersects_xy`` on prepared parts states it exactly (tests/db/test_bulk_join.py
compares it with the SQL rule on edge, vertex, gap and outside points).

Memory stays bounded: no point geometries are made (10,000,000 shapely points would take
~1.5 GB, and making a million cost more than the whole join); points live as three numpy
arrays (24 bytes each) and candidate pairs are made ``CHUNK`` at a time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Connection, text

from gridgeo.point_join import CHUNK, rank_points

# The parts with what the rule orders them by: leaf parts first, then leaf_key (byte order, as
# the column's "C" collation; Python compares str by code point, which is UTF-8 byte order).
PARTS_SQL = """
SELECT p.grid_id, p.leaf_key,
       NOT EXISTS (SELECT 1 FROM current_grids c WHERE c.parent_id = p.grid_id) AS is_leaf,
       ST_AsBinary(p.geom)
FROM grid_parts p
"""

# Households as packed rows (id, lon, lat: 24 bytes, big-endian) in a few large values: COPY
# hands rows to the client one by one (1,000,000 round trips through the driver cost more than
# the server's scan); an aggregate per block of ids returns them in a handful of messages.
HOUSEHOLDS_SQL = """
SELECT string_agg(
    int8send(id) || float8send(coalesce(ST_X(location), 'NaN')) || float8send(coalesce(ST_Y(location), 'NaN'))
    || int4send(household_count),
    ''::bytea)
FROM households WHERE id >= %(lo)s AND id < %(hi)s
"""
ASSIGNED_SQL = """
SELECT string_agg(int8send(household_id) || int8send(grid_id), ''::bytea)
FROM household_grid WHERE household_id >= %(lo)s AND household_id < %(hi)s
"""
# One statement per block of ids (a range scan of the primary key): bounded memory on both
# sides. One GROUP BY over the table held every block in a hash at once and spilled to disk at
# 10,000,000 households (51 s of a 146 s assignment under load).
BLOCK = 1 << 18
MAX_BLOCKS = 4096
HOUSEHOLD_BOUNDS_SQL = "SELECT min(id), max(id) FROM households"
ASSIGNED_BOUNDS_SQL = "SELECT min(household_id), max(household_id) FROM household_grid"
# Blocks are joined in batches of about this many households (a sixth of the ids' span, at
# least one block): small enough for the read and the join to overlap, large enough that
# each batch's fixed cost (the parts' cells) stays small.
BATCH_MIN, BATCH_MAX, BATCHES = 1 << 18, 1 << 21, 6
# batches fetched ahead of the join (memory: 28 bytes a household each): enough for the
# reading to end well before the join, so that writing the answer can overlap the join
QUEUED = 16


# packed rows of the statements above; binary COPY rows written (PostgreSQL's format: int16
# field count, then int32 length + value for each field)
_HH_ROW = np.dtype([("id", ">i8"), ("x", ">f8"), ("y", ">f8"), ("n", ">i4")])
_PAIR = np.dtype([("a", ">i8"), ("b", ">i8")])
_ROW = [("n", ">i2"), ("l1", ">i4"), ("a", ">i8"), ("l2", ">i4"), ("b", ">i8")]
_PAIR_ROW = np.dtype(_ROW)
_TRIPLE_ROW = np.dtype([*_ROW, ("l3", ">i4"), ("w", ">i4")])
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"


@dataclass(frozen=True)
class Answer:
    """Every household's grid by the rule: ``grid_ids[i]`` for ``household_ids[i]``, -1 = none.

    ``household_ids`` is sorted. A later step (e.g. an explicit assignment of some
    households) may replace entries of ``grid_ids`` before the answer is written. ``old``,
    when asked for, is the stored assignment read in the same pass (household ids, grid ids).
    """

    household_ids: np.ndarray
    grid_ids: np.ndarray
    old: tuple[np.ndarray, np.ndarray] | None = None
    weights: np.ndarray | None = None  # each household's household_count

    def sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per grid assigned: grid ids, households (sum of weights), points (rows)."""
        keep = self.grid_ids >= 0
        ids = self.grid_ids[keep]
        w = self.weights[keep] if self.weights is not None else None
        if len(ids) and int(ids.max()) < 4 * len(ids) + (1 << 20):  # ids dense enough: no sort
            households = np.bincount(ids, weights=w)
            points = np.bincount(ids, minlength=len(households))
            grids = np.flatnonzero(points)
            households, points = households[grids], points[grids]
        else:
            grids, inverse = np.unique(ids, return_inverse=True)
            households = np.bincount(inverse, weights=w, minlength=len(grids))
            points = np.bincount(inverse, minlength=len(grids))
        return grids.astype(np.int64), np.rint(households).astype(np.int64), points.astype(np.int64)


Overrides = tuple[np.ndarray, np.ndarray]
Writer = Callable[["Answer"], None]


def join_households(
    conn: Connection,
    spent: dict[str, float] | None = None,
    chunk: int = CHUNK,
    assigned: bool = False,
    overrides: Overrides | None = None,
    write: Writer | None = None,
) -> Answer:
    """Read households and grid parts from the caller's transaction and apply the rule.

    The read and the join overlap: a thread fetches the households block by block (the
    server's work, its CPU) while this one ranks the blocks already fetched (numpy and
    shapely's vectorised functions release the GIL), so on 2 cores the two take about as long
    as the longer of them instead of their sum (10,000,000 households: read 10.9 s and join
    7.8 s one after the other). With ``assigned`` the thread then reads the stored assignment
    too (for the count of changes) while the last blocks are ranked; it lands in
    ``Answer.old``.

    Args:
        conn: a connection in the caller's transaction.
        spent: when given, receives the seconds of each step: ``parts``, ``read`` (waiting
            for blocks), ``rank`` (the join), ``copy_in`` (``write``) and ``wait_assigned``.
        chunk: candidate pairs examined at a time.
        assigned: read the stored assignment too (``Answer.old``).
        overrides: households whose grid is given (a unit's explicit grid: the rule's one
            extension), as (household ids, grid ids) sorted by id; applied batch by batch.
        write: called with each batch of the answer (sorted by id, overrides applied), in
            order, from a thread of its own once the reading is over, while later batches are
            still being ranked: the caller writes them on this connection (COPY), and the
            server's work of the write overlaps the join.
    """
    t0 = time.perf_counter()
    parts, grid_of_rank, leaves = read_parts(conn)
    t1 = time.perf_counter()
    stop = threading.Event()
    read_over = threading.Event()  # the thread no longer uses the connection
    blocks: queue.Queue[object] = queue.Queue(maxsize=QUEUED)
    old: dict[str, object] = {}

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                blocks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            for rows in _iter_packed(conn, HOUSEHOLDS_SQL, HOUSEHOLD_BOUNDS_SQL, _HH_ROW, stop):
                put(rows)
            if assigned and not stop.is_set():
                old["rows"] = _fetch_packed(conn, ASSIGNED_SQL, ASSIGNED_BOUNDS_SQL, _PAIR)
            read_over.set()
            put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the joining thread, raised there
            old["error"] = exc  # before read_over: a failed transaction is not written to
            read_over.set()
            put(exc)

    fetcher = threading.Thread(target=fetch, name="gridgeo-bulk-read", daemon=True)
    fetcher.start()
    # The writer: once the reading is over, it writes each batch joined (the server ingests
    # the COPY on one core while this thread joins the next batch on the other).
    ranked_batches: queue.Queue[Answer | None] = queue.Queue()
    wrote: dict[str, object] = {"s": 0.0}

    def write_all() -> None:
        assert write is not None
        try:
            read_over.wait()
            while not stop.is_set() and "error" not in old:
                batch = ranked_batches.get()
                if batch is None:
                    return
                t = time.perf_counter()
                write(batch)
                wrote["s"] = float(wrote["s"]) + time.perf_counter() - t  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - raised by the joining thread
            wrote["error"] = exc

    writer = None
    if write is not None:
        writer = threading.Thread(target=write_all, name="gridgeo-bulk-write", daemon=True)
        writer.start()
    batches: list[Answer] = []
    waited = ranked = 0.0
    try:
        while True:
            t = time.perf_counter()
            item = blocks.get()
            waited += time.perf_counter() - t
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            rows: np.ndarray = np.concatenate(item) if isinstance(item, list) else item  # type: ignore[assignment]
            t = time.perf_counter()
            ids = rows["id"].astype(np.int64)
            order = None if np.all(ids[1:] > ids[:-1]) else np.argsort(ids, kind="stable")
            if order is not None:
                rows, ids = rows[order], ids[order]
            x, y = rows["x"].astype(np.float64), rows["y"].astype(np.float64)
            rank = rank_points(x, y, parts, leaves, chunk)
            grid = np.where(rank >= 0, grid_of_rank[np.maximum(rank, 0)], -1)
            if overrides is not None:
                from gridgeo.buildings.rules import override_grids

                override_grids(ids, grid, overrides)
            batches.append(Answer(ids, grid, weights=rows["n"].astype(np.int64)))
            ranked += time.perf_counter() - t
            if writer is not None:
                if "error" in wrote and "error" not in old:
                    raise wrote["error"]  # type: ignore[misc]
                ranked_batches.put(batches[-1])
        t = time.perf_counter()
        fetcher.join()
        wait_assigned = time.perf_counter() - t
        if writer is not None:
            ranked_batches.put(None)
            t = time.perf_counter()
            writer.join()
            wait_written = time.perf_counter() - t
    finally:
        stop.set()
        read_over.set()  # a writer still waiting for the reading: let it see the stop
        ranked_batches.put(None)
        fetcher.join()
        if writer is not None:
            writer.join()
    if "error" in old:
        raise old["error"]  # type: ignore[misc]
    if "error" in wrote:
        raise wrote["error"]  # type: ignore[misc]
    answer = _concatenate(batches)
    if spent is not None:
        spent.update(parts=t1 - t0, read=waited, rank=ranked, wait_assigned=wait_assigned)
        if write is not None:
            spent["copy_in"] = float(wrote["s"])  # type: ignore[arg-type]
            spent["wait_written"] = wait_written
    if assigned:
        read = old.get("rows")
        pairs = read if isinstance(read, np.ndarray) else np.empty(0, dtype=_PAIR)
        stored = (pairs["a"].astype(np.int64), pairs["b"].astype(np.int64))
        return Answer(answer.household_ids, answer.grid_ids, stored, answer.weights)
    return answer


def _concatenate(batches: list[Answer]) -> Answer:
    """One answer, sorted by household id, from batches each sorted by id."""
    if not batches:
        empty = np.empty(0, dtype=np.int64)
        return Answer(empty, empty.copy(), weights=empty.copy())
    ids = np.concatenate([b.household_ids for b in batches])
    grid = np.concatenate([b.grid_ids for b in batches])
    weight = np.concatenate([b.weights for b in batches if b.weights is not None])
    if not np.all(ids[1:] > ids[:-1]):  # blocks come in id order: sorted already as a rule
        order = np.argsort(ids, kind="stable")
        ids, grid, weight = ids[order], grid[order], weight[order]
    return Answer(ids, grid, weights=weight)


def read_households(conn: Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Household ids and coordinates, packed by the server, parsed by numpy."""
    rows = _fetch_packed(conn, HOUSEHOLDS_SQL, HOUSEHOLD_BOUNDS_SQL, _HH_ROW)
    return rows["id"].astype(np.int64), rows["x"].astype(np.float64), rows["y"].astype(np.float64)


def read_assigned(conn: Connection) -> tuple[np.ndarray, np.ndarray]:
    """The stored assignment (household ids, grid ids), packed by the server."""
    rows = _fetch_packed(conn, ASSIGNED_SQL, ASSIGNED_BOUNDS_SQL, _PAIR)
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


def read_parts(conn: Connection) -> tuple[np.ndarray, np.ndarray, int]:
    """The grid parts, prepared, in the rule's order.

    Returns:
        The parts, the grid id of each rank, and how many of them (the first) are leaf parts.
    """
    rows = sorted(conn.execute(text(PARTS_SQL)).all(), key=lambda r: (not r[2], r[1]))
    geoms = shapely.from_wkb([bytes(r[3]) for r in rows])
    shapely.prepare(geoms)
    leaves = sum(1 for r in rows if r[2])
    grid_of_rank = np.array([int(r[0]) for r in rows], dtype=np.int64)
    return np.asarray(geoms, dtype=object), grid_of_rank, leaves


def write_assignment(conn: Connection, table: str, answer: Answer, every: bool = False) -> int:
    """COPY the answer's rows into ``table`` (household_id, grid_id, households), binary.

    Only the assigned rows (grid id >= 0), or with ``every`` all of them (-1: no grid).
    ``households`` is each household's weight (its ``household_count``, as read).
    """
    keep = answer.grid_ids >= 0 if not every else np.ones(len(answer.grid_ids), dtype=bool)
    if answer.weights is None:
        raise ValueError("the answer carries no weights (household counts) to write")
    n = int(keep.sum())
    rows = np.empty(n, dtype=_TRIPLE_ROW)
    rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 8, 8, 4
    rows["a"] = answer.household_ids[keep]
    rows["b"] = answer.grid_ids[keep]
    rows["w"] = answer.weights[keep]
    columns = "household_id, grid_id, households"
    _copy_binary(conn, f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)", rows)
    return n


def write_sums(conn: Connection, answer: Answer) -> int:
    """Replace ``grid_households`` with the answer's sums (after the table was swapped)."""
    grids, households, points = answer.sums()
    rows = np.empty(len(grids), dtype=np.dtype([*_ROW, ("l3", ">i4"), ("w", ">i8")]))
    rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 8, 8, 8
    rows["a"], rows["b"], rows["w"] = grids, households, points
    conn.execute(text("DELETE FROM grid_households"))
    sql = "COPY grid_households (grid_id, households, points) FROM STDIN (FORMAT binary)"
    _copy_binary(conn, sql, rows)
    return len(grids)


def _copy_binary(conn: Connection, sql: str, rows: np.ndarray) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(sql) as cp:
            cp.write(_HEADER)
            view = rows.tobytes()
            step = 8 << 20
            for i in range(0, len(view), step):
                cp.write(view[i : i + step])
            cp.write(_TRAILER)


def changed_rows(answer: Answer, old_ids: np.ndarray, old_grids: np.ndarray) -> Answer:
    """The households whose grid differs from the stored one, with new grid and weight.

    A new grid of -1 is none; no stored row counts as no grid.
    """
    before = np.full(len(answer.household_ids), -1, dtype=np.int64)
    if len(old_ids):
        pos = np.searchsorted(answer.household_ids, old_ids)
        pos = np.minimum(pos, len(answer.household_ids) - 1)
        found = answer.household_ids[pos] == old_ids
        before[pos[found]] = old_grids[found]
    differ = before != answer.grid_ids
    weights = answer.weights[differ] if answer.weights is not None else None
    return Answer(answer.household_ids[differ], answer.grid_ids[differ], weights=weights)


def count_changed(answer: Answer, old_ids: np.ndarray, old_grids: np.ndarray) -> int:
    """Households whose grid differs from the stored one (no row = no grid)."""
    return len(changed_rows(answer, old_ids, old_grids).household_ids)


def _fetch_packed(conn: Connection, sql: str, bounds_sql: str, row: np.dtype) -> np.ndarray:
    """The records of ``sql`` run per block of ids (``lo``, ``hi``): packed fixed-width rows."""
    batches = [np.concatenate(b) for b in _iter_packed(conn, sql, bounds_sql, row)]
    return np.concatenate(batches) if batches else np.empty(0, dtype=row)


def _iter_packed(
    conn: Connection,
    sql: str,
    bounds_sql: str,
    row: np.dtype,
    stop: threading.Event | None = None,
) -> Iterator[list[np.ndarray]]:
    """Batches (lists of blocks) of the records of ``sql`` run per block of ids."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor(binary=True) as cur:  # type: ignore[attr-defined]
        lo, hi = cur.execute(bounds_sql).fetchone()
        if lo is None:
            return
        span = int(hi) - int(lo) + 1
        step = max(BLOCK, -(-span // MAX_BLOCKS))
        batch = max(step, min(BATCH_MAX, max(BATCH_MIN, span // BATCHES)))
        pending: list[np.ndarray] = []
        size = 0
        for start in range(int(lo), int(hi) + 1, step):
            if stop is not None and stop.is_set():
                return
            value = cur.execute(sql, {"lo": start, "hi": start + step}).fetchone()[0]
            if value is None:
                continue
            data = bytes(value)
            if len(data) % row.itemsize:
                raise ValueError(
                    f"packed rows of {len(data)} bytes are not {row.itemsize}-byte records"
                )
            pending.append(np.frombuffer(data, dtype=row))
            size += len(pending[-1])
            if size >= batch:
                yield pending
                pending, size = [], 0
        if pending:
            yield pending
