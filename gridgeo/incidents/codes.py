"""National classification codes of events, and a classification table imported as categories.

Digital urban management classifies events by code: CJ/T 214 and GB/T 30428.2 put a 大类 (2
digits) and a 小类 (2 digits) under a 6-digit administrative division code (10 digits); the
newer GB/T 47678.5 gives an event type 6 + 2 + 3 digits (11). A category may carry such a code;
Open311 then uses it as the ``service_code``, so a city's 12345 hotline and its digital urban
management system exchange incidents by code.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.audit import record
from gridgeo.errors import InvalidInput

CODE_RE = re.compile(r"^(?P<division>[0-9]{6})(?P<major>[0-9]{2})(?P<minor>[0-9]{2,3})$")
CODE_PATTERN = CODE_RE.pattern
DEFAULT_ACCEPT_MINUTES = 60
DEFAULT_RESOLVE_MINUTES = 24 * 60
# the usual column names of a classification table, English or Chinese
COLUMNS = {
    "code": ("code", "代码", "编码", "事件编码"),
    "label_zh": ("label_zh", "name", "名称", "小类名称"),
    "label_en": ("label_en", "name_en", "英文名称"),
    "key": ("key",),
    "accept_minutes": ("accept_minutes", "受理时限"),
    "resolve_minutes": ("resolve_minutes", "处置时限"),
}


def check_code(code: str, field: str = "code") -> str:
    """The code if its structure is that of a national event code.

    Raises:
        InvalidInput: not 6 + 2 + 2 (CJ/T 214, GB/T 30428.2) or 6 + 2 + 3 digits (GB/T
            47678.5), or a division, 大类 or 小类 of zeros.
    """
    m = CODE_RE.match(code.strip()) if code.isascii() else None
    if m is None or set(m["division"]) == {"0"} or m["major"] == "00" or set(m["minor"]) == {"0"}:
        raise InvalidInput(
            f"{field} '{code}' is not a national event code: 6-digit division, 2-digit 大类, "
            "2-digit 小类 (CJ/T 214, GB/T 30428.2) or 3-digit (GB/T 47678.5), none all zeros",
            field=field,
        )
    return code.strip()


def key_for(code: str) -> str:
    """The category key made for an imported code without one (``std_`` and the code)."""
    return f"std_{code}"


@dataclass
class ClassificationReport:
    """What an import of a classification table does (or would do)."""

    rows: int = 0
    insert: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    committed: bool = False

    def to_text(self) -> str:
        """Lines for people: the errors, then the plan."""
        lines = [f"error: {e}" for e in self.errors]
        lines.append(
            f"{self.rows} rows: {len(self.insert)} new categories, {len(self.update)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.errors)} errors"
        )
        return "\n".join(lines)


def _column(header: list[str], name: str) -> str | None:
    by = {h.strip().lower(): h for h in header}
    return next((by[c] for c in COLUMNS[name] if c in by), None)


def _minutes(value: str, default: int, where: str) -> int:
    if not value.strip():
        return default
    if not value.strip().isascii() or not value.strip().isdigit():
        raise InvalidInput(f"{where}: '{value}' is not a whole number of minutes", field=where)
    return int(value)


def import_classification(
    conn: Connection, data: bytes | str | Path, *, commit: bool = False, actor: str
) -> ClassificationReport:
    """Import a classification table (CSV, UTF-8) into the categories; a dry run by default.

    Columns (English or Chinese names): ``code`` (required), ``label_zh`` or ``name``
    (required), ``label_en`` (default: the Chinese label), ``key`` (default: the category that
    has the code, else ``std_<code>``), ``accept_minutes`` and ``resolve_minutes`` (defaults
    60 and 1440). A row whose key names an existing category gives it the code and the labels;
    otherwise a new category is added. All or nothing: a table with errors writes nothing.

    Raises:
        InvalidInput: no code or name column, or (with ``commit``) a table with errors.
    """
    from gridgeo.incidents.catalog import KEY_RE, create_category, update_category

    raw = Path(data).read_bytes() if isinstance(data, Path) else data
    body = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    reader = csv.DictReader(io.StringIO(body))
    header = list(reader.fieldnames or [])
    cols = {name: _column(header, name) for name in COLUMNS}
    if cols["code"] is None or cols["label_zh"] is None:
        raise InvalidInput(
            f"the table needs a code and a name column (got: {', '.join(header) or 'none'})",
            field="file",
        )
    existing = {
        r["key"]: dict(r)
        for r in conn.execute(
            text("SELECT key, code, label_zh, label_en FROM incident_categories")
        ).mappings()
    }
    by_code = {c["code"]: k for k, c in existing.items() if c["code"]}
    report = ClassificationReport()
    planned: list[tuple[str, str, dict[str, Any]]] = []  # (kind, key, values)
    seen: set[str] = set()
    for n, row in enumerate(reader, start=2):
        report.rows += 1

        def cell(name: str, row: dict[str, Any] = row) -> str:
            col = cols[name]
            return str(row.get(col) or "").strip() if col else ""

        try:
            code = check_code(cell("code"), field=f"line {n}: code")
            if code in seen:
                raise InvalidInput(f"line {n}: code {code} is given twice", field="code")
            seen.add(code)
            zh = cell("label_zh")
            if not zh:
                raise InvalidInput(f"line {n}: no name for code {code}", field="label_zh")
            key = cell("key") or by_code.get(code) or key_for(code)
            if not KEY_RE.match(key):
                raise InvalidInput(f"line {n}: key '{key}' is malformed", field="key")
            if by_code.get(code, key) != key:
                raise InvalidInput(
                    f"line {n}: code {code} belongs to category '{by_code[code]}'", field="code"
                )
            values: dict[str, Any] = {
                "code": code,
                "label_zh": zh,
                "label_en": cell("label_en") or zh,
            }
            if key in existing:
                old = existing[key]
                kind = "unchanged" if all(old[k] == v for k, v in values.items()) else "update"
            else:
                kind = "insert"
                values["accept_minutes"] = _minutes(
                    cell("accept_minutes"), DEFAULT_ACCEPT_MINUTES, f"line {n}: accept_minutes"
                )
                values["resolve_minutes"] = _minutes(
                    cell("resolve_minutes"), DEFAULT_RESOLVE_MINUTES, f"line {n}: resolve_minutes"
                )
            getattr(report, kind).append(key)
            planned.append((kind, key, values))
        except InvalidInput as exc:
            report.errors.append(exc.message)
    if not commit:
        return report
    if report.errors:
        raise InvalidInput(
            f"the table has {len(report.errors)} errors; nothing was written", field="file"
        )
    for kind, key, values in planned:
        if kind == "insert":
            create_category(
                conn, key=key, label_zh=values["label_zh"], label_en=values["label_en"],
                accept_minutes=values["accept_minutes"],
                resolve_minutes=values["resolve_minutes"], actor=actor,
            )  # fmt: skip
            update_category(conn, key, changes={"code": values["code"]}, actor=actor)
        elif kind == "update":
            update_category(conn, key, changes=values, actor=actor)
    record(conn, actor, "category.import", "incident_categories", None,
           insert=len(report.insert), update=len(report.update))  # fmt: skip
    report.committed = True
    return report
