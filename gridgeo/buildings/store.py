"""Writing buildings, units and their households' carrier rows in bulk (COPY).

One writer for the demo city and the import of building files. How counts are kept
(migration 0018): a unit with a declared count gets one ``households`` row carrying it
(``external_id`` ``unit:<building code>:<unit number>``, at the unit's point), so every figure
that sums ``households.household_count`` counts it once; a building with a count but no units
gets one row for the building (``building:<code>``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Connection, text


@dataclass(frozen=True)
class BuildingRows:
    """Buildings to write (n); geometries in EPSG:4326."""

    codes: Sequence[str]
    geoms: np.ndarray
    numbers: Sequence[str | None]
    names: Sequence[str | None]
    compounds: Sequence[str | None]
    community_codes: Sequence[str | None]
    kinds: Sequence[str | None]
    floors: Sequence[int | None]
    external_ids: Sequence[str | None]
    group_names: Sequence[str | None] | None = None


@dataclass(frozen=True)
class UnitRows:
    """Units to write (m): their building by index into :class:`BuildingRows`."""

    building: np.ndarray
    numbers: Sequence[str]
    households: np.ndarray
    floors: Sequence[int | None]
    points: np.ndarray
    addresses: Sequence[str | None]


def carrier_id(building_code: str, unit_number: str | None = None) -> str:
    """The external id of the row carrying a unit's (or a unit-less building's) count."""
    if unit_number is None:
        return f"building:{building_code}"
    return f"unit:{building_code}:{unit_number}"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "\\N"
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence]
) -> int:
    """COPY ``rows`` into ``table`` (text format); the caller's transaction."""
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(_cell(v) for v in row))
        buf.write("\n")
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
    return len(rows)


def _hex(geoms: np.ndarray) -> list[str]:
    return list(
        shapely.to_wkb(
            shapely.set_srid(np.asarray(geoms, dtype=object), 4326), hex=True, include_srid=True
        )
    )


def write_buildings(
    conn: Connection, b: BuildingRows, u: UnitRows, *, actor: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Insert buildings, their groups, units and the units' carrier rows.

    Args:
        conn: a connection in the caller's transaction.
        b: the buildings (codes new to the store).
        u: their units; a unit with households > 0 gets a carrier row at its point.
        actor: who writes (``created_by``).

    Returns:
        The ids of the buildings (n) and of the units (m), in input order.
    """
    group_ids: list[int | None] = [None] * len(b.codes)
    if b.group_names is not None:
        wanted = sorted(
            {(c, g) for c, g in zip(b.community_codes, b.group_names, strict=True) if g}
        )
        if wanted:
            rows = conn.execute(
                text(
                    "INSERT INTO building_groups (community_code, name) "
                    "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:n AS text[])) "
                    "ON CONFLICT (community_code, name) DO UPDATE SET name = EXCLUDED.name "
                    "RETURNING community_code, name, id"
                ),
                {"c": [w[0] for w in wanted], "n": [w[1] for w in wanted]},
            ).all()
            gid = {(r[0], r[1]): int(r[2]) for r in rows}
            group_ids = [
                gid.get((c, g)) if g else None
                for c, g in zip(b.community_codes, b.group_names, strict=True)
            ]
    copy_rows(
        conn,
        "buildings",
        ("code", "geom", "number", "name", "compound", "community_code", "kind", "floors",
         "external_id", "group_id", "created_by"),
        list(
            zip(b.codes, _hex(b.geoms), b.numbers, b.names, b.compounds, b.community_codes,
                b.kinds, b.floors, b.external_ids, group_ids, [actor] * len(b.codes), strict=True)
        ),
    )  # fmt: skip
    ids: dict[str, int] = dict(
        conn.execute(
            text("SELECT code, id FROM buildings WHERE code = ANY(:c)"), {"c": list(b.codes)}
        ).all()
    )
    bid = np.array([ids[c] for c in b.codes], dtype=np.int64)
    ub = bid[u.building] if len(u.numbers) else np.zeros(0, dtype=np.int64)
    copy_rows(
        conn,
        "building_units",
        ("building_id", "number", "households", "floors"),
        list(zip(ub.tolist(), u.numbers, u.households.tolist(), u.floors, strict=True)),
    )
    got = {
        (int(r[0]), r[1]): int(r[2])
        for r in conn.execute(
            text("SELECT building_id, number, id FROM building_units WHERE building_id = ANY(:b)"),
            {"b": bid.tolist()},
        ).all()
    }
    uid = np.array([got[(int(x), n)] for x, n in zip(ub, u.numbers, strict=True)], dtype=np.int64)
    has = np.asarray(u.households) > 0
    codes = np.asarray(b.codes, dtype=object)
    carriers = [
        (h, int(n), a, carrier_id(str(codes[bi]), num), int(bid[bi]), int(ui), actor)
        for h, n, a, bi, num, ui, keep in zip(
            _hex(u.points), u.households, u.addresses, u.building, u.numbers, uid, has, strict=True
        )
        if keep
    ]
    copy_rows(
        conn,
        "households",
        ("location", "household_count", "address", "external_id", "building_id", "unit_id",
         "created_by"),
        carriers,
    )  # fmt: skip
    return bid, uid


def write_heads(
    conn: Connection,
    role: str,
    target_ids: Sequence[int],
    names: Sequence[str],
    phones: Sequence[str | None] | None = None,
) -> int:
    """Insert part-time heads of one role, one per target (group, building or unit id)."""
    column = {"building_group_head": "group_id", "building_head": "building_id",
              "unit_head": "unit_id"}[role]  # fmt: skip
    phones = phones if phones is not None else [None] * len(names)
    return copy_rows(
        conn,
        "building_heads",
        ("role", column, "name", "phone"),
        [(role, int(t), n, p) for t, n, p in zip(target_ids, names, phones, strict=True)],
    )
