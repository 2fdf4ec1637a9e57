"""Named grid workers (网格员): the team of a grid, edited one by one or imported as rosters.

Only workers marked ``full_time`` count toward the staffing standard; when a grid has at least
one, their number replaces the stored count ``grids.workers`` (the view ``grid_staff``).
Phone numbers are personal data: callers ask for them explicitly (``personal=True``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.audit import record
from gridgeo.errors import Conflict, InvalidInput, NotFound
from gridgeo.rules import current_grid_id

# key → (Chinese, English); seed 003's "四长三员" plus the grid administrator; keep the keys in
# step with the CHECK of migration 0004.
ROLES: dict[str, tuple[str, str]] = {
    "grid_head": ("网格长", "grid head"),
    "grid_admin": ("网格管理员", "grid administrator"),
    "patrol_visitor": ("民情巡访员", "patrol visitor"),
    "mediator": ("矛盾调解员", "dispute mediator"),
    "building_group_head": ("楼组长", "building-group head"),
    "building_head": ("楼长", "building head"),
    "unit_head": ("单元长", "unit head"),
    "other": ("其他", "other"),
}
FIELDS = ("name", "role", "full_time", "phone", "external_id")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
TRUE = {"true", "1", "yes", "y", "t", "是", "全职", "专职"}
FALSE = {"false", "0", "no", "n", "f", "否", "兼职"}

SELECT = """
SELECT w.id, g.code AS grid_code, w.name, w.role, w.full_time, w.phone, w.external_id,
       w.updated_at, w.updated_by
FROM workers w JOIN grids g ON g.id = w.grid_id
"""


def role_key(value: str) -> str:
    """The role key of a key or a Chinese/English label.

    Raises:
        InvalidInput: when it names no role.
    """
    v = value.strip()
    for key, (zh, en) in ROLES.items():
        if v.lower() in (key, en) or v == zh:
            return key
    known = ", ".join(f"{k} ({zh})" for k, (zh, _) in ROLES.items())
    raise InvalidInput(f"unknown role '{v}'; the roles are: {known}", field="role")


def parse_bool(value: Any, field: str = "full_time") -> bool:
    """A yes/no value: true/false, 1/0, yes/no, 是/否, 全职/兼职.

    Raises:
        InvalidInput: anything else (an empty value included).
    """
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower() if value is not None else ""
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise InvalidInput(f"{field} must be true or false (是/否), not '{v}'", field=field)


def clean(fields: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise worker fields (all of name and role unless ``partial``).

    Raises:
        InvalidInput: unknown field, empty name, unknown role, bad flag or phone number.
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown worker fields: {', '.join(unknown)}", field=unknown[0])
    out: dict[str, Any] = {}
    if "name" in fields or not partial:
        name = str(fields.get("name") or "").strip()
        if not name or len(name) > 100:
            raise InvalidInput("a worker needs a name of 1–100 characters", field="name")
        out["name"] = name
    if "role" in fields or not partial:
        out["role"] = role_key(str(fields.get("role") or ""))
    if "full_time" in fields:
        out["full_time"] = parse_bool(fields["full_time"])
    elif not partial:
        out["full_time"] = True
    for key in ("phone", "external_id"):
        if key in fields or not partial:
            value = fields.get(key)
            out[key] = str(value).strip() or None if value is not None else None
    if out.get("phone") is not None and not PHONE_RE.match(out["phone"]):
        raise InvalidInput(
            "phone must be 5–20 digits (with an optional +, spaces, -)", field="phone"
        )
    return out


def _shape(row: Any, personal: bool) -> dict[str, Any]:
    d = dict(row._mapping)
    d["role_zh"], d["role_en"] = ROLES[d["role"]]
    if not personal:
        d.pop("phone")
    return d


def grid_id(conn: Connection, code: str) -> int:
    """The id of the current grid with ``code``.

    Raises:
        NotFound: when there is none.
    """
    return current_grid_id(conn, code)


def list_workers(conn: Connection, code: str, *, personal: bool = False) -> dict[str, Any]:
    """The staff of one grid: stored and effective counts and the named workers.

    Args:
        conn: database connection.
        code: the grid's code.
        personal: include phone numbers (planners and admins only).

    Raises:
        NotFound: unknown grid.
    """
    gid = grid_id(conn, code)
    counts = conn.execute(
        text(
            "SELECT g.workers AS stored, s.workers AS effective, s.named, s.named_full_time "
            "FROM grid_staff s JOIN grids g ON g.id = s.grid_id WHERE s.grid_id = :g"
        ),
        {"g": gid},
    ).one()
    rows = conn.execute(text(SELECT + " WHERE w.grid_id = :g ORDER BY w.id"), {"g": gid})
    return {
        "grid_code": code,
        **dict(counts._mapping),
        "workers": [_shape(r, personal) for r in rows],
    }


def worker_grid_code(conn: Connection, worker_id: int) -> str | None:
    """The code of the grid a worker belongs to; None when there is no such worker."""
    return conn.execute(
        text("SELECT g.code FROM workers w JOIN grids g ON g.id = w.grid_id WHERE w.id = :i"),
        {"i": worker_id},
    ).scalar()


def _check_external_id(conn: Connection, external_id: str | None, worker_id: int = 0) -> None:
    if external_id is None:
        return
    taken = conn.execute(
        text("SELECT 1 FROM workers WHERE external_id = :e AND id <> :i"),
        {"e": external_id, "i": worker_id},
    ).scalar()
    if taken:
        raise Conflict(f"another worker has the external id '{external_id}'", field="external_id")


def get_worker(conn: Connection, worker_id: int, *, personal: bool = False) -> dict[str, Any]:
    """One worker.

    Raises:
        NotFound: no worker has ``worker_id``.
    """
    row = conn.execute(text(SELECT + " WHERE w.id = :i"), {"i": worker_id}).first()
    if row is None:
        raise NotFound(f"no worker has the id {worker_id}", field="id")
    return _shape(row, personal)


def add_worker(conn: Connection, code: str, fields: dict[str, Any], actor: str) -> dict[str, Any]:
    """Add a named worker to the grid ``code``.

    Raises:
        InvalidInput: bad fields. NotFound: unknown grid. Conflict: external id taken.
    """
    values = clean(fields)
    gid = grid_id(conn, code)
    _check_external_id(conn, values["external_id"])
    wid = conn.execute(
        text(
            "INSERT INTO workers (grid_id, name, role, full_time, phone, external_id, "
            "created_by, updated_by) VALUES (:g, :name, :role, :full_time, :phone, "
            ":external_id, :a, :a) RETURNING id"
        ),
        {**values, "g": gid, "a": actor},
    ).scalar_one()
    record(conn, actor, "worker.add", "workers", str(wid), grid=code, role=values["role"])
    return get_worker(conn, wid, personal=True)


def update_worker(
    conn: Connection, worker_id: int, fields: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Change some fields of a worker.

    Raises:
        InvalidInput: bad fields. NotFound: unknown worker. Conflict: external id taken.
    """
    values = clean(fields, partial=True)
    get_worker(conn, worker_id)
    if not values:
        raise InvalidInput(f"nothing to change; the fields are: {', '.join(FIELDS)}")
    if "external_id" in values:
        _check_external_id(conn, values["external_id"], worker_id)
    sets = ", ".join(f"{k} = :{k}" for k in values)  # keys come from FIELDS only
    conn.execute(
        text(f"UPDATE workers SET {sets}, updated_at = now(), updated_by = :a WHERE id = :i"),  # noqa: S608
        {**values, "a": actor, "i": worker_id},
    )
    record(conn, actor, "worker.update", "workers", str(worker_id), fields=sorted(values))
    return get_worker(conn, worker_id, personal=True)


def delete_worker(conn: Connection, worker_id: int, actor: str) -> None:
    """Remove a worker.

    Raises:
        NotFound: unknown worker.
    """
    code = worker_grid_code(conn, worker_id)
    if code is None:
        raise NotFound(f"no worker has the id {worker_id}", field="id")
    conn.execute(text("DELETE FROM workers WHERE id = :i"), {"i": worker_id})
    record(conn, actor, "worker.delete", "workers", str(worker_id), grid=code)


# ---- roster import ---------------------------------------------------------------------------

REQUIRED = ("grid_code", "name", "role", "full_time")
OPTIONAL = ("phone", "external_id")
MAX_ROWS = 100_000


def _cell(value: Any) -> str:
    """A cell as text; whole floats (Excel stores long codes as numbers) without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8 or GB18030) or XLSX (first sheet) file, keyed by header.

    Raises:
        InvalidInput: unknown format, unreadable file, missing columns or too many rows.
    """
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        import io
        import zipfile

        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise InvalidInput(f"{filename}: not a readable .xlsx file", field="file") from exc
        raw = [[_cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    elif name.endswith(".csv"):
        import csv

        for encoding in ("utf-8-sig", "gb18030"):
            try:
                decoded = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput(f"{filename}: neither UTF-8 nor GB18030 text", field="file")
        raw = [[c.strip() for c in row] for row in csv.reader(decoded.splitlines())]
    else:
        raise InvalidInput(f"{filename}: unknown format; readable: .csv, .xlsx", field="file")
    raw = [row for row in raw if any(row)]
    if not raw:
        raise InvalidInput(f"{filename}: the file is empty", field="file")
    header = [h.strip().lower() for h in raw[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(
            f"{filename}: missing columns {', '.join(missing)} (the columns are "
            f"{', '.join(REQUIRED)}[, {', '.join(OPTIONAL)}])",
            field="file",
        )
    if len(raw) - 1 > MAX_ROWS:
        raise InvalidInput(f"{filename}: more than {MAX_ROWS:,} rows", field="file")
    keep = [(i, h) for i, h in enumerate(header) if h in REQUIRED + OPTIONAL]
    return [{h: (row[i] if i < len(row) else "") for i, h in keep} for row in raw[1:]]


def import_workers(
    conn: Connection,
    data: bytes,
    filename: str,
    *,
    actor: str,
    commit: bool = False,
    areas: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Import worker rosters: the file is the named roster of every grid it names.

    The named workers of those grids are replaced by the file's rows; other grids are left
    alone. A dry run (the default) validates and reports; ``commit`` writes all or nothing.

    Args:
        conn: connection in the caller's transaction.
        data: the file's bytes (CSV or XLSX with grid_code,name,role,full_time[,phone,
            external_id]).
        filename: its name (the extension decides the format).
        actor: who imports (audit log).
        commit: write when the report has no errors.
        areas: only grids at or below these codes may be named (None: any).

    Returns:
        The report: ``rows``, ``errors`` (row, field, message; rows count from 2 after the
        header), ``grids``, ``insert``, ``replace`` (named workers removed), ``committed``.

    Raises:
        InvalidInput: unreadable file; or ``commit`` with errors (``detail["report"]``).
    """
    rows = read_table(data, filename)
    codes = sorted({r["grid_code"] for r in rows if r["grid_code"]})
    ids: dict[str, int] = dict(
        conn.execute(
            text("SELECT code, id FROM current_grids WHERE code = ANY(:c)"),
            {"c": codes},
        ).all()
    )
    ext_ids = [r["external_id"] for r in rows if r.get("external_id")]
    holders: dict[str, str] = dict(
        conn.execute(
            text(
                "SELECT w.external_id, g.code FROM workers w JOIN grids g ON g.id = w.grid_id "
                "WHERE w.external_id = ANY(:e)"
            ),
            {"e": ext_ids},
        ).all()
    )
    errors: list[dict[str, Any]] = []
    clean_rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=2):
        code = row["grid_code"]

        def bad(field: str, message: str, n: int = n) -> None:
            errors.append({"row": n, "field": field, "message": message})

        if code not in ids:
            bad("grid_code", f"no grid has the code '{code}'" if code else "empty grid_code")
            continue
        if areas is not None and not any(code.startswith(a) for a in areas):
            bad("grid_code", f"grid '{code}' is outside your areas")
            continue
        fields = {k: v for k, v in row.items() if k != "grid_code"}
        try:
            values = clean(fields)
        except InvalidInput as exc:
            bad(str(exc.detail.get("field", "")), exc.message)
            continue
        ext = values["external_id"]
        if ext is not None:
            if ext in seen:
                bad("external_id", f"external id '{ext}' also on row {seen[ext]}")
                continue
            seen[ext] = n
            if ext in holders and holders[ext] not in ids:
                bad(
                    "external_id",
                    f"external id '{ext}' belongs to a worker of grid "
                    f"'{holders[ext]}', which the file does not name",
                )
                continue
        clean_rows.append({**values, "g": ids[code], "a": actor})
    grid_ids = sorted({r["g"] for r in clean_rows})
    replaced = conn.execute(
        text("SELECT count(*) FROM workers WHERE grid_id = ANY(:g)"), {"g": grid_ids}
    ).scalar_one()
    report: dict[str, Any] = {
        "source": filename,
        "rows": len(rows),
        "errors": errors,
        "grids": len(grid_ids),
        "insert": len(clean_rows),
        "replace": replaced,
        "committed": False,
    }
    if not commit:
        return report
    if errors:
        head = "; ".join(f"row {e['row']} {e['field']}: {e['message']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise InvalidInput(
            f"{filename}: {len(errors)} errors, nothing written: {head}{more}", report=report
        )
    conn.execute(text("DELETE FROM workers WHERE grid_id = ANY(:g)"), {"g": grid_ids})
    if clean_rows:
        conn.execute(
            text(
                "INSERT INTO workers (grid_id, name, role, full_time, phone, external_id, "
                "created_by, updated_by) VALUES (:g, :name, :role, :full_time, :phone, "
                ":external_id, :a, :a)"
            ),
            clean_rows,
        )
    report["committed"] = True
    record(
        conn,
        actor,
        "import",
        "workers",
        None,
        file=filename,
        grids=len(grid_ids),
        inserted=len(clean_rows),
        replaced=replaced,
    )
    return report


def report_text(report: dict[str, Any]) -> str:
    """An import report for people: one line per error, then the summary."""
    lines = [f"ERROR   row {e['row']} {e['field']}: {e['message']}" for e in report["errors"]]
    lines.append(
        f"{report['source']}: {report['rows']} rows, {len(report['errors'])} errors; "
        f"{report['grids']} grids: {report['insert']} named workers "
        f"{'written' if report['committed'] else 'to write'}, "
        f"{report['replace']} {'replaced' if report['committed'] else 'to replace'}"
    )
    return "\n".join(lines)
