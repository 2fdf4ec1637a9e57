"""``gridgeo import assignments``: a batch's answers back into one city's store.

A province's batch (``gridgeo batch assign``) writes one answer per household: its
``external_id`` and ``grid_code`` (empty outside every grid). Each city loads the same output
and takes the rows whose ``external_id`` is one of its households; the others belong to other
cities and are only counted. The rows taken replace those households' assignments in
``household_grid`` in one transaction (a dry run unless ``commit``): a household outside every
grid is left without one, as ``gridgeo assign`` leaves it. A row whose grid code is not a
current grid of this store means the batch ran on other grids: that is an error and nothing is
written.

The file is read in record batches of the two columns only (a national output does not have to
fit in memory) and copied into a temporary table; the matching and the writes are SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.dataset as pds
from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput

BATCH_ROWS = 200_000

STAGE = """
CREATE TEMP TABLE _answers (external_id text NOT NULL, grid_code text) ON COMMIT DROP
"""
COUNTS = """
SELECT
    (SELECT count(*) FROM _answers) AS rows,
    count(h.id) AS matched,
    count(h.id) FILTER (WHERE a.grid_code IS NULL) AS outside,
    count(h.id) FILTER (WHERE a.grid_code IS NOT NULL AND g.id IS NULL) AS unknown_code,
    count(h.id) FILTER (WHERE g.id IS DISTINCT FROM hg.grid_id
                          AND NOT (a.grid_code IS NOT NULL AND g.id IS NULL)) AS changed
FROM _answers a
JOIN households h ON h.external_id = a.external_id
LEFT JOIN current_grids g ON g.code = a.grid_code
LEFT JOIN household_grid hg ON hg.household_id = h.id
"""
UNKNOWN = """
SELECT DISTINCT a.grid_code FROM _answers a
JOIN households h ON h.external_id = a.external_id
WHERE a.grid_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM current_grids g WHERE g.code = a.grid_code)
ORDER BY 1 LIMIT 5
"""
DUPLICATES = """
SELECT a.external_id FROM _answers a GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 5
"""
WRITE = (
    """
    DELETE FROM household_grid hg USING _answers a, households h
    WHERE h.external_id = a.external_id AND hg.household_id = h.id
    """,
    """
    INSERT INTO household_grid (household_id, grid_id)
    SELECT h.id, g.id FROM _answers a
    JOIN households h ON h.external_id = a.external_id
    JOIN current_grids g ON g.code = a.grid_code
    """,
)


@dataclass
class AssignmentLoad:
    """What loading a batch's answers found, would do and did.

    Attributes:
        source: the file read.
        rows: answers in the file.
        matched: answers whose ``external_id`` is a household of this store.
        outside: of them, outside every grid (left unassigned).
        changed: of them, households whose grid changes.
        unknown_codes: grid codes (up to 5) of matched answers that are not current grids here.
        duplicates: external ids (up to 5) that appear twice in the file.
        committed: True once written.
    """

    source: str
    rows: int = 0
    matched: int = 0
    outside: int = 0
    changed: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing blocks a commit."""
        return not self.unknown_codes and not self.duplicates

    def to_dict(self) -> dict[str, Any]:
        """JSON-able counts."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}

    def to_text(self) -> str:
        """A few lines for people."""
        lines = [
            f"{self.source}: {self.rows:,} answers; {self.matched:,} are households of this "
            f"store ({self.rows - self.matched:,} belong elsewhere)",
            f"{self.changed:,} change grid, {self.outside:,} outside every grid (no grid)",
        ]
        if self.unknown_codes:
            lines.append(
                "ERROR   grid codes not in this store (the batch used other grids): "
                + ", ".join(self.unknown_codes)
            )
        if self.duplicates:
            lines.append("ERROR   external ids answered twice: " + ", ".join(self.duplicates))
        if self.committed:
            lines.append(f"committed: the assignments of {self.matched:,} households replaced")
        elif not self.ok:
            lines.append("not committed: fix the errors first; nothing written")
        else:
            lines.append("dry run: nothing written")
        return "\n".join(lines)


def load_assignments(conn: Connection, path: str | Path, *, commit: bool) -> AssignmentLoad:
    """Match a batch output to this store's households; with ``commit``, write their grids.

    Args:
        conn: a connection in a transaction owned by the caller.
        path: a GeoParquet file or a directory of them (``gridgeo batch assign --out``).
        commit: write (all or nothing); else only report.

    Raises:
        InvalidInput: an unreadable file or one without ``external_id`` and ``grid_code``;
            with ``commit``, answers naming grids this store lacks or a household twice
            (nothing is written).
    """
    report = AssignmentLoad(source=str(path))
    try:
        dataset = pds.dataset(str(path), format="parquet")
        names = set(dataset.schema.names)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput(f"{path}: not a readable Parquet file ({exc})", field="file") from exc
    missing = {"external_id", "grid_code"} - names
    if missing:
        raise InvalidInput(f"{path}: no column {', '.join(sorted(missing))}", field="file")
    conn.execute(text(STAGE))
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy("COPY _answers (external_id, grid_code) FROM STDIN") as copy:
            columns = ["external_id", "grid_code"]
            for batch in dataset.to_batches(columns=columns, batch_size=BATCH_ROWS):
                ids = batch.column("external_id").to_pylist()
                codes = batch.column("grid_code").to_pylist()
                for eid, code in zip(ids, codes, strict=True):
                    if eid is not None:
                        copy.write_row((str(eid), None if code is None else str(code)))
    conn.execute(text("CREATE INDEX ON _answers (external_id)"))
    conn.execute(text("ANALYZE _answers"))
    r = conn.execute(text(COUNTS)).one()
    report.rows, report.matched, report.outside, report.changed = (
        int(r.rows),
        int(r.matched),
        int(r.outside),
        int(r.changed),
    )
    report.unknown_codes = [str(c) for c in conn.execute(text(UNKNOWN)).scalars()]
    report.duplicates = [str(c) for c in conn.execute(text(DUPLICATES)).scalars()]
    if commit:
        if not report.ok:
            raise InvalidInput(report.to_text(), field="file", report=report.to_dict())
        for statement in WRITE:
            conn.execute(text(statement))
        report.committed = True
    conn.execute(text("DROP TABLE _answers"))
    return report
