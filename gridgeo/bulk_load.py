"""Loading household points at COPY speed: vectorised encoding, chunks, bulk index builds.

Where the time of ``copy_households`` went (1,000,000 random points with addresses, durable
embedded cluster, load average 2.6, /tmp/load-bench/probe.py of issue 19):

- encoding the COPY text in Python: 7.7 s, of which ``shapely.to_wkb(hex=True)`` 3-5 s and the
  per-row f-string loop the rest. Points are now encoded straight from their coordinates
  (:func:`point_hex`, a byte table lookup in numpy: ~0.5 s at load 10) and the rows written
  as CSV by Arrow (:func:`copy_text`: 0.55 s a million in all);
- COPY into ``households`` with every index and constraint: 19.6 s, against 2.9 s for the same
  rows into an unindexed table (the floor). Of the difference, the GiST index of points
  maintained row by row cost ~7 s (dropped and built after the rows: 2.8 s) and the two
  foreign-key triggers (``building_id``, ``unit_id``; an after-trigger event per row and key,
  even when the key is NULL) ~9 s (checked again as one anti-join when re-added: well under
  a second).

So a bulk load (:func:`households_bulk`, when the rows to load are many against those stored)
drops the GiST index and the foreign keys of ``households`` inside the caller's transaction,
COPYs the rows, then builds the index (sorted build) and re-adds the keys. DDL is
transactional in PostgreSQL, so a failure anywhere rolls everything back: all rows or none,
and the table keeps its indexes. The price: the table is locked (ACCESS EXCLUSIVE) until the
transaction ends, so readers of households wait for a bulk load; small loads stay row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy import Connection, text

#: Rows per COPY statement: ~10 MB of text, a few tens of MB of Python objects per chunk.
CHUNK_ROWS = 100_000
#: A load is bulk (indexes and keys rebuilt after) from this many rows ...
BULK_MIN_ROWS = 100_000
#: ... and when it adds at least this share of the rows already stored (rebuilding costs
#: ~2.8 s per million rows stored; maintaining row by row ~16 s per million rows added).
BULK_MIN_SHARE = 0.25

COLUMNS = "location, household_count, address, external_id"
COPY_SQL = f"COPY households ({COLUMNS}) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t')"
_HEX = np.array([f"{i:02X}".encode() for i in range(256)], dtype="S2")
# EWKB of a 2D point with SRID: byte order 1 (little endian), type 0x20000001, SRID.
_POINT_HEAD = np.frombuffer(
    b"\x01"
    + np.uint32(0x20000001).astype("<u4").tobytes()
    + np.uint32(4326).astype("<u4").tobytes(),
    dtype=np.uint8,
)


@dataclass(frozen=True)
class HouseholdChunk:
    """Household rows to write: coordinates in EPSG:4326 and their fields (n each)."""

    x: np.ndarray
    y: np.ndarray
    counts: np.ndarray
    addresses: np.ndarray | None = None
    external_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)


def point_hex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hex EWKB of points with SRID 4326, as PostGIS reads them (``S50`` array).

    Equal to ``shapely.to_wkb(points, hex=True, include_srid=True)`` for 2D points, ~20×
    faster: no geometry objects are made.
    """
    n = len(x)
    raw = np.empty((n, 25), dtype=np.uint8)
    raw[:, :9] = _POINT_HEAD
    raw[:, 9:17] = np.ascontiguousarray(x, dtype="<f8").view(np.uint8).reshape(n, 8)
    raw[:, 17:25] = np.ascontiguousarray(y, dtype="<f8").view(np.uint8).reshape(n, 8)
    return np.ascontiguousarray(_HEX[raw]).view("S50").ravel()


def text_cells(values: np.ndarray | None, n: int) -> list[str]:
    """Values as COPY text cells: NULL for None, NaN or blank-free missing; tabs etc. escaped."""
    if values is None:
        return ["\\N"] * n
    s = pd.Series(np.asarray(values, dtype=object), dtype=object)
    missing = s.isna().to_numpy()
    s = s.where(~missing, "").astype(str)
    special = s.str.contains(r"[\\\t\n\r]", regex=True).to_numpy()
    if special.any():
        s[special] = (
            s[special]
            .str.replace("\\", "\\\\", regex=False)
            .str.replace("\t", "\\t", regex=False)
            .str.replace("\n", "\\n", regex=False)
            .str.replace("\r", "\\r", regex=False)
        )
    out = s.to_numpy(dtype=object)
    out[missing] = "\\N"
    return out.tolist()


def copy_text(chunk: HouseholdChunk) -> bytes:
    """The rows of a chunk as COPY CSV (tab-separated, ``COLUMNS`` order; NULL unquoted empty).

    Written by Arrow's C++ CSV writer: 0.55 s a million rows, against 3.8 s for the same text
    joined by ``str.join`` over ``zip`` in Python, both at load average ~10.
    """
    n = len(chunk)
    if n == 0:
        return b""
    hexes = point_hex(chunk.x, chunk.y)
    offsets = np.arange(0, 50 * (n + 1), 50, dtype=np.int32)
    location = pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(hexes.tobytes())]
    )
    table = pa.table(
        {
            "location": location,
            "household_count": pa.array(np.asarray(chunk.counts, dtype=np.int64)),
            "address": _strings(chunk.addresses, n),
            "external_id": _strings(chunk.external_ids, n),
        }
    )
    out = pa.BufferOutputStream()
    pcsv.write_csv(table, out, _CSV_OPTIONS)
    return out.getvalue().to_pybytes()


_CSV_OPTIONS = pcsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="needed")


def _strings(values: np.ndarray | None, n: int) -> pa.Array:
    """Text values as an Arrow string array: None and NaN become NULL, others ``str()``."""
    if values is None:
        return pa.nulls(n, pa.string())
    try:
        return pa.array(values, pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        missing = pd.isna(pd.Series(np.asarray(values, dtype=object))).to_numpy()
        return pa.array([None if m else str(v) for v, m in zip(values, missing, strict=True)])


def copy_household_chunk(conn: Connection, chunk: HouseholdChunk | bytes) -> int:
    """COPY one chunk of households (or its :func:`copy_text`) in the caller's transaction.

    Returns:
        Rows written.
    """
    payload = chunk if isinstance(chunk, bytes) else copy_text(chunk)
    if not payload:
        return 0
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(COPY_SQL) as copy:
            copy.write(payload)
        return int(cur.rowcount)


BULK_STATEMENTS = text(
    """
    SELECT format('DROP INDEX %I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam
    WHERE i.indrelid = 'households'::regclass AND am.amname = 'gist'
    UNION ALL
    SELECT format('ALTER TABLE households DROP CONSTRAINT %I', conname),
           format('ALTER TABLE households ADD CONSTRAINT %I %s', conname,
                  pg_get_constraintdef(oid))
    FROM pg_constraint WHERE conrelid = 'households'::regclass AND contype = 'f'
    """
)
STORED_ESTIMATE = text(
    """
    SELECT greatest(c.reltuples, 0)::bigint,
           pg_has_role(c.relowner, 'USAGE')
    FROM pg_class c WHERE c.oid = 'households'::regclass
    """
)


def bulk_pays(conn: Connection, expected_rows: int) -> bool:
    """True when dropping and rebuilding the GiST index and foreign keys beats keeping them.

    Also False when the current role does not own ``households`` (it may not drop them).
    """
    if expected_rows < BULK_MIN_ROWS:
        return False
    stored, owner = conn.execute(STORED_ESTIMATE).one()
    return bool(owner) and expected_rows >= BULK_MIN_SHARE * int(stored)


@contextmanager
def households_bulk(conn: Connection, expected_rows: int) -> Iterator[bool]:
    """Around a load of ``expected_rows`` households, bulk mode when it pays (module doc).

    In bulk mode the GiST index and the foreign keys of ``households`` are dropped before the
    load and rebuilt after it, in the caller's transaction.

    Yields:
        Whether the load runs in bulk mode.
    """
    if not bulk_pays(conn, expected_rows):
        yield False
        return
    pairs = conn.execute(BULK_STATEMENTS).all()
    for drop, _ in pairs:
        conn.execute(text(drop))
    yield True
    for _, create in pairs:
        conn.execute(text(create))
