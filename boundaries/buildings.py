"""Import buildings (footprints) and address lists of households. Dry runs unless ``commit``.

The same import core as grids and households (``boundaries/io.py`` reads the file,
``boundaries/report.py`` reports per feature); the store is written by
``gridgeo/buildings/store.py``, and new households are placed by the one rule
(``gridgeo_place``).

- **Buildings** (GeoJSON, GeoPackage, Shapefile; polygons or points): code, number (楼号),
  name, compound (小区), floors, units (单元数) and households (户数), each from a field with a
  usual name or one given. A building with ``units`` gets units ``1..n``; with households,
  they are shared evenly over its units (one unit when the file gives no units), each unit
  carried by one household row (migration 0018: counts per unit).
- **Addresses** (CSV with an address column, optionally household counts and ids): each
  address is parsed (``gridgeo/buildings/address.py``) and matched to a stored building by
  compound and number (within a community when given) and to its unit; a household row is
  written per line at the unit's point, with floor and room, replacing the unit's carrier row.
  Lines that cannot be parsed or matched are listed (warnings) and not written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from boundaries.io import read_features
from boundaries.report import ERROR, WARNING, ImportRejected, ImportReport, Problem
from boundaries.validate import as_strings, duplicate_problems, integer_values
from gridgeo.buildings.address import Address, parse_address
from gridgeo.buildings.rules import place_households
from gridgeo.buildings.store import BuildingRows, UnitRows, carrier_id, copy_rows, write_buildings
from gridgeo.errors import InvalidInput

FIELD_NAMES = {
    "code": ("code", "编号", "楼栋编号", "id"),
    "number": ("number", "楼号", "building_no"),
    "name": ("name", "名称", "楼栋名称"),
    "compound": ("compound", "小区", "小区名称"),
    "floors": ("floors", "层数", "楼层数"),
    "units": ("units", "单元数"),
    "households": ("households", "户数", "household_count"),
    "address": ("address", "地址", "住址", "门牌"),
    "external_id": ("external_id", "户编号", "id"),
}

COMMUNITY_OF = """
UPDATE buildings b SET community_code = (
    SELECT c.code FROM gridgeo_leaf(ST_PointOnSurface(b.geom)) l
    CROSS JOIN LATERAL gridgeo_chain(l.grid_id) c WHERE c.level = 'community')
WHERE b.id = ANY(:ids) AND b.community_code IS NULL
"""


def _field(available: list[str], key: str, given: str | None) -> str | None:
    if given is not None:
        if given not in available:
            raise InvalidInput(
                f"field '{given}' is not in the file; its fields are: {', '.join(available)}",
                field=f"{key}_field",
            )
        return given
    by_name = {a.strip().lower(): a for a in available}
    return next((by_name[n] for n in FIELD_NAMES[key] if n in by_name), None)


def import_buildings(
    conn: Connection,
    path: str | Path,
    *,
    fields: dict[str, str | None] | None = None,
    community: str | None = None,
    commit: bool = False,
    layer: str | None = None,
    crs: str | None = None,
    actor: str | None = None,
) -> ImportReport:
    """Validate a file of building footprints and, with ``commit``, write them with their units.

    Args:
        conn: a connection in the caller's transaction.
        path: GeoJSON, GeoPackage or Shapefile of polygons or points.
        fields: field names for ``code``, ``number``, ``name``, ``compound``, ``floors``,
            ``units``, ``households`` (default: a field with a usual name, see ``FIELD_NAMES``).
        community: the community code of every building (default: found from the grids).
        commit: write (all or nothing); otherwise only report.
        layer: layer of a multi-layer file.
        crs: CRS of a file that declares none.
        actor: who imports.

    Raises:
        InvalidInput: unreadable file or missing field; ImportRejected: a commit with errors.
    """
    gdf = read_features(path, layer, crs=crs)
    available = [str(c) for c in gdf.columns.drop(gdf.geometry.name)]
    given = fields or {}
    f = {k: _field(available, k, given.get(k)) for k in
         ("code", "number", "name", "compound", "floors", "units", "households")}  # fmt: skip
    n = len(gdf)

    def col(key: str) -> np.ndarray:
        return as_strings(gdf[f[key]]) if f[key] else np.full(n, "", dtype=object)

    numbers, compounds, names = col("number"), col("compound"), col("name")
    codes = col("code")
    if f["code"] is None:  # no code field: the compound and number are the building's id
        codes = np.array(
            [f"{c}{b}号楼" if b else "" for c, b in zip(compounds, numbers, strict=True)],
            dtype=object,
        )
    problems: list[Problem] = [
        Problem(int(i), None, "bad_value", "the building has no code (and no number to make one)")
        for i in np.flatnonzero(codes == "")
    ]
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    ok_kind = np.isin(kinds, [0, 3, 6]) & ~shapely.is_empty(geoms)
    problems += [
        Problem(int(i), str(codes[i]), "non_polygon",
                "a building is a Polygon, MultiPolygon or Point footprint")
        for i in np.flatnonzero(~ok_kind)
    ]  # fmt: skip
    bad_geom = ok_kind & ~shapely.is_valid(geoms)
    problems += [
        Problem(int(i), str(codes[i]), "invalid_geometry", shapely.is_valid_reason(geoms[i]))
        for i in np.flatnonzero(bad_geom)
    ]
    problems += duplicate_problems(codes)
    stored = set(
        conn.execute(
            text("SELECT code FROM buildings WHERE code = ANY(:c)"), {"c": sorted(set(codes))}
        ).scalars()
    )
    problems += [
        Problem(i, c, "duplicate_in_store", f"a building with code '{c}' is stored")
        for i, c in enumerate(codes)
        if c in stored
    ]
    ints: dict[str, np.ndarray] = {}
    for key, minimum in (("floors", 0), ("units", 0), ("households", 0)):  # 0, blank: unknown
        if f[key]:
            ints[key], bad = integer_values(
                gdf[f[key]], codes, field=f[key] or key, minimum=minimum, blank=0
            )
            problems += bad
        else:
            ints[key] = np.zeros(n, dtype=np.int64)
    units = np.where(ints["units"] > 0, ints["units"], np.where(ints["households"] > 0, 1, 0))
    households = ints["households"]
    report = ImportReport(
        source=str(path),
        target="buildings",
        features=n,
        problems=sorted(problems, key=lambda p: p.index or 0),
        plan={
            "insert": {"buildings": n, "units": int(units.sum())},
            "household_count": int(households.sum()),
            "fields": f,
        },
    )
    if not commit:
        return report
    if report.errors:
        raise ImportRejected(report)
    unit_building = np.repeat(np.arange(n), units)
    unit_number = np.concatenate([np.arange(1, k + 1) for k in units]) if n else np.zeros(0, int)
    per = np.zeros(len(unit_building), dtype=np.int64)
    for i in np.flatnonzero(units):  # households shared evenly over the units
        base, extra = divmod(int(households[i]), int(units[i]))
        at = np.flatnonzero(unit_building == i)
        per[at] = base + (np.arange(len(at)) < extra)
    points = shapely.point_on_surface(geoms)
    b = BuildingRows(
        codes=list(codes), geoms=geoms, numbers=[x or None for x in numbers],
        names=[x or (f"{c}{nb}号楼" if nb else None) for x, c, nb in zip(names, compounds, numbers, strict=True)],
        compounds=[x or None for x in compounds], community_codes=[community] * n,
        kinds=[None] * n, floors=[int(x) or None for x in ints["floors"]], external_ids=[None] * n,
    )  # fmt: skip
    u = UnitRows(
        building=unit_building, numbers=[str(k) for k in unit_number], households=per,
        floors=[int(ints["floors"][i]) or None for i in unit_building],
        points=points[unit_building] if len(unit_building) else np.zeros(0, dtype=object),
        addresses=[f"{compounds[i]}{numbers[i]}号楼{k}单元" if numbers[i] else None
                   for i, k in zip(unit_building, unit_number, strict=True)],
    )  # fmt: skip
    with conn.begin_nested():
        bid, _ = write_buildings(conn, b, u, actor=actor)
        conn.execute(text(COMMUNITY_OF), {"ids": bid.tolist()})
        new = list(
            conn.execute(
                text("SELECT id FROM households WHERE building_id = ANY(:b)"), {"b": bid.tolist()}
            ).scalars()
        )
        place_households(conn, [int(i) for i in new])
    report.committed = True
    report.written = n
    return report


# --------------------------------------------------------------------------- addresses


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InvalidInput(f"{path}: file not found", field="path")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InvalidInput(f"{path}: not a readable CSV file: {exc}", field="path") from exc
    raise InvalidInput(f"{path}: neither UTF-8 nor GB18030 text", field="path")


BUILDINGS_IN_SCOPE = """
SELECT b.id, b.code, coalesce(b.compound, '') AS compound, b.number,
       encode(ST_AsBinary(ST_PointOnSurface(b.geom)), 'hex') AS at
FROM buildings b WHERE (CAST(:community AS text) IS NULL OR b.community_code = :community)
  AND b.number IS NOT NULL
"""
UNITS_IN_SCOPE = """
SELECT u.building_id, u.number, u.id,
       (SELECT encode(ST_AsBinary(h.location), 'hex') FROM households h
        WHERE h.unit_id = u.id ORDER BY h.id LIMIT 1) AS at
FROM building_units u WHERE u.building_id = ANY(:b)
"""


def _match(
    a: Address,
    default_compound: str | None,
    by_key: dict[tuple[str, str], list[dict[str, Any]]],
    by_number: dict[str, list[dict[str, Any]]],
) -> tuple[dict[str, Any] | None, str]:
    compound = a.compound or default_compound
    if compound is not None:
        found = by_key.get((compound, a.building), [])
        where = f"{compound}{a.building}号楼"
    else:
        found = by_number.get(a.building, [])
        where = f"building number {a.building}"
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, f"no stored building {where}"
    return None, f"{len(found)} stored buildings match {where}; give the compound (--compound)"


def import_addresses(
    conn: Connection,
    path: str | Path,
    *,
    address_field: str | None = None,
    count_field: str | None = None,
    external_id_field: str | None = None,
    compound: str | None = None,
    community: str | None = None,
    commit: bool = False,
    actor: str | None = None,
) -> ImportReport:
    """Parse a CSV of addresses into building, unit, floor and room; with ``commit`` write them.

    Args:
        conn: a connection in the caller's transaction.
        path: CSV (UTF-8 or GB18030) with an address column.
        address_field: the address column (default: address, 地址, 住址 or 门牌).
        count_field: households per line (default: a households/户数 column, else 1).
        external_id_field: a unique id per line from the source system.
        compound: the compound of addresses that name none (``3-2-502``).
        community: match only buildings of this community.
        commit: write the lines that were matched; otherwise only report.
        actor: who imports.

    Returns:
        The report: ``unparsed_address``, ``unknown_building``, ``unknown_unit`` warnings
        name the lines not written; ``plan`` counts what is (or was) written.
    """
    p = Path(path)
    df = _read_csv(p)
    available = [str(c) for c in df.columns]
    af = _field(available, "address", address_field)
    if af is None:
        raise InvalidInput(
            f"{p}: no address column (address, 地址, 住址 or 门牌); its columns are: "
            f"{', '.join(available)}",
            field="address_field",
        )
    cf = _field(available, "households", count_field)
    ef = _field(available, "external_id", external_id_field) if external_id_field else None
    n = len(df)
    texts = df[af].astype(str).tolist()
    ids = (
        df[ef].astype(str).str.strip().to_numpy(dtype=object)
        if ef
        else np.full(n, "", dtype=object)
    )
    problems: list[Problem] = []
    counts = np.ones(n, dtype=np.int64)
    if cf:
        counts, bad = integer_values(
            df[cf], np.asarray(texts, dtype=object), field=cf, minimum=1, blank=1
        )
        problems += bad
    if ef:
        problems += duplicate_problems(ids, kind="duplicate_external_id", what="external id")
    rows = conn.execute(text(BUILDINGS_IN_SCOPE), {"community": community}).mappings().all()
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    by_number: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault((r["compound"], r["number"]), []).append(dict(r))
        by_number.setdefault(r["number"], []).append(dict(r))
    units = {
        (int(r[0]), str(r[1])): (int(r[2]), r[3])
        for r in conn.execute(text(UNITS_IN_SCOPE), {"b": [r["id"] for r in rows]}).all()
    }
    one_unit: dict[int, list[str]] = {}
    for bid, num in units:
        one_unit.setdefault(bid, []).append(num)
    out: list[tuple[Any, ...]] = []
    for i, t in enumerate(texts):
        a = parse_address(t)
        if not isinstance(a, Address):
            problems.append(
                Problem(i, t, "unparsed_address", f"{a.reason} ({a.reason_zh})", WARNING)
            )
            continue
        b, why = _match(a, compound, by_key, by_number)
        if b is None:
            problems.append(Problem(i, t, "unknown_building", why, WARNING))
            continue
        unit = a.unit
        if unit is None and len(one_unit.get(b["id"], [])) == 1:
            unit = one_unit[b["id"]][0]
        found = units.get((b["id"], unit)) if unit is not None else None
        if unit is not None and found is None:
            known = ", ".join(sorted(one_unit.get(b["id"], []))) or "none"
            problems.append(Problem(i, t, "unknown_unit",
                                    f"building {b['code']} has no unit {unit}; its units: {known}", WARNING))  # fmt: skip
            continue
        at = found[1] if found is not None and found[1] else b["at"]
        out.append((i, b, unit, found[0] if found else None, a, at))
    written = [o[0] for o in out]
    carriers = sorted({carrier_id(o[1]["code"], o[2]) for o in out if o[2] is not None}
                      | {carrier_id(o[1]["code"]) for o in out})  # fmt: skip
    replaced = conn.execute(
        text("SELECT count(*), coalesce(sum(household_count), 0) FROM households "
             "WHERE external_id = ANY(:e)"),
        {"e": carriers},
    ).one()  # fmt: skip
    report = ImportReport(
        source=str(p),
        target="households",
        features=n,
        problems=sorted(problems, key=lambda q: q.index or 0),
        plan={
            "insert": {"households": len(out)},
            "household_count": int(counts[written].sum()) if written else 0,
            "not_written": n - len(out),
            "replaces_unit_rows": int(replaced[0]),
            "replaced_household_count": int(replaced[1]),
        },
    )
    if not commit:
        return report
    if any(q.severity == ERROR for q in report.problems):
        raise ImportRejected(report)
    with conn.begin_nested():
        conn.execute(text("DELETE FROM households WHERE external_id = ANY(:e)"), {"e": carriers})
        copy_rows(
            conn,
            "households",
            ("location", "household_count", "address", "external_id", "building_id", "unit_id",
             "floor", "room", "created_by"),
            [
                (f"SRID=4326;{shapely.from_wkb(bytes.fromhex(at)).wkt}", int(counts[i]), texts[i],
                 ids[i] or None, int(b["id"]), uid, a.floor, a.room, actor)
                for i, b, _, uid, a, at in out
            ],
        )  # fmt: skip
        new = list(
            conn.execute(
                text("SELECT id FROM households WHERE building_id = ANY(:b) AND id > :after"),
                {"b": sorted({int(o[1]["id"]) for o in out}) or [0],
                 "after": _max_before(conn, len(out))},
            ).scalars()
        )  # fmt: skip
        place_households(conn, [int(x) for x in new])
    report.committed = True
    report.written = len(out)
    return report


def _max_before(conn: Connection, k: int) -> int:
    """The id before the ``k`` rows just written (they have the highest ids)."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(min(id) - 1, 0) FROM (SELECT id FROM households ORDER BY id DESC LIMIT :k) s"
            ),
            {"k": max(k, 1)},
        ).scalar_one()
    )
