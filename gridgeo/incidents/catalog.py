"""The configurable lists of the incident loop: categories and linked departments (联动处置单位).

Neither is ever deleted (incidents keep pointing at them); a retired one is *deactivated*: a
category then takes no new reports and a department no new dispatches. Every change is audited.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from gridgeo.audit import record
from gridgeo.errors import Conflict, InvalidInput, NotFound

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_MINUTES = 60 * 24 * 365
CATEGORY_FIELDS = (
    "label_zh",
    "label_en",
    "accept_minutes",
    "resolve_minutes",
    "active",
    "public",
    "code",
)
CATEGORY_COLUMNS = "key, label_zh, label_en, accept_minutes, resolve_minutes, active, public, code"


def _check_label(name: str, value: str) -> None:
    if not value.strip() or len(value) > 100:
        raise InvalidInput(f"{name} must be 1–100 characters", field=name)


def _check_minutes(name: str, value: int) -> None:
    if not 1 <= value <= MAX_MINUTES:
        raise InvalidInput(f"{name} {value} is out of range [1, {MAX_MINUTES}]", field=name)


def _category(conn: Connection, key: str) -> dict[str, Any]:
    row = conn.execute(
        text(f"SELECT {CATEGORY_COLUMNS} FROM incident_categories WHERE key = :k"),  # noqa: S608
        {"k": key},
    ).mappings()
    found = row.first()
    if found is None:
        raise NotFound(f"no incident category '{key}'", field="key")
    return dict(found)


def create_category(
    conn: Connection,
    *,
    key: str,
    label_zh: str,
    label_en: str,
    accept_minutes: int,
    resolve_minutes: int,
    actor: str,
) -> dict[str, Any]:
    """Add a category with its time limits (minutes to accept, to resolve).

    Raises:
        InvalidInput: a malformed key, an empty label, limits out of range.
        Conflict: the key is taken (also by a deactivated category).
    """
    if not KEY_RE.match(key):
        raise InvalidInput(
            f"category key '{key}' must be 1–40 of a–z, 0–9 and _, starting with a letter",
            field="key",
        )
    _check_label("label_zh", label_zh)
    _check_label("label_en", label_en)
    _check_minutes("accept_minutes", accept_minutes)
    _check_minutes("resolve_minutes", resolve_minutes)
    inserted = conn.execute(
        text(
            "INSERT INTO incident_categories (key, label_zh, label_en, accept_minutes, "
            "resolve_minutes) VALUES (:k, :zh, :en, :a, :r) ON CONFLICT (key) DO NOTHING "
            "RETURNING key"
        ),
        {"k": key, "zh": label_zh, "en": label_en, "a": accept_minutes, "r": resolve_minutes},
    ).scalar()
    if inserted is None:
        raise Conflict(f"category '{key}' already exists", field="key")
    record(conn, actor, "category.add", "incident_categories", key)
    return _category(conn, key)


def update_category(
    conn: Connection, key: str, *, changes: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Change labels, limits, ``active``, ``public`` or ``code``; absent fields stay.

    New limits apply to new reports; ``public`` lets Open311's public readers see the
    descriptions of the category's requests.

    Raises:
        NotFound: no such category. InvalidInput: an unknown field or a bad value (a code
            not of a national code's structure). Conflict: the code is another category's.
    """
    _category(conn, key)
    unknown = sorted(set(changes) - set(CATEGORY_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(unknown)}", field=unknown[0])
    for name in ("label_zh", "label_en"):
        if name in changes:
            _check_label(name, changes[name])
    for name in ("accept_minutes", "resolve_minutes"):
        if name in changes:
            _check_minutes(name, changes[name])
    if changes.get("code") is not None:
        from gridgeo.incidents.codes import check_code

        changes = {**changes, "code": check_code(changes["code"])}
        taken = conn.execute(
            text("SELECT key FROM incident_categories WHERE code = :c AND key <> :k"),
            {"c": changes["code"], "k": key},
        ).scalar()
        if taken is not None:
            raise Conflict(f"code {changes['code']} belongs to category '{taken}'", field="code")
    if changes:
        sets = ", ".join(f"{name} = :{name}" for name in changes)  # names from the allow-list
        conn.execute(
            text(f"UPDATE incident_categories SET {sets} WHERE key = :key"),  # noqa: S608
            {**changes, "key": key},
        )
        record(conn, actor, "category.update", "incident_categories", key, **changes)
    return _category(conn, key)


def _department(conn: Connection, dep_id: int) -> dict[str, Any]:
    row = conn.execute(
        text("SELECT id, name, categories, active FROM departments WHERE id = :i"), {"i": dep_id}
    ).first()
    if row is None:
        raise NotFound(f"no department {dep_id}", field="id")
    return {"id": row[0], "name": row[1], "categories": list(row[2]), "active": row[3]}


def _check_department(conn: Connection, name: str | None, categories: list[str] | None) -> None:
    if name is not None:
        _check_label("name", name)
    if categories is not None:
        known = set(conn.execute(text("SELECT key FROM incident_categories")).scalars())
        unknown = [c for c in categories if c not in known]
        if unknown:
            raise InvalidInput(
                f"unknown categories: {', '.join(unknown)}; categories are: "
                f"{', '.join(sorted(known))}",
                field="categories",
            )


def create_department(
    conn: Connection, *, name: str, categories: list[str], actor: str
) -> dict[str, Any]:
    """Add a linked department and the categories it handles.

    Raises:
        InvalidInput: an empty name or an unknown category. Conflict: the name is taken.
    """
    _check_department(conn, name, categories)
    new_id = conn.execute(
        text(
            "INSERT INTO departments (name, categories) VALUES (:n, CAST(:c AS text[])) "
            "ON CONFLICT (name) DO NOTHING RETURNING id"
        ),
        {"n": name.strip(), "c": sorted(set(categories))},
    ).scalar()
    if new_id is None:
        raise Conflict(f"department '{name.strip()}' already exists", field="name")
    record(conn, actor, "department.add", "departments", str(new_id), name=name.strip())
    return _department(conn, int(new_id))


def update_department(
    conn: Connection,
    dep_id: int,
    *,
    actor: str,
    name: str | None = None,
    categories: list[str] | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """Rename, change the categories handled, or (de)activate a department.

    Raises:
        NotFound: no such department. InvalidInput: an empty name or an unknown category.
        Conflict: another department has the new name.
    """
    _department(conn, dep_id)
    _check_department(conn, name, categories)
    values = {
        "name": name.strip() if name is not None else None,
        "categories": sorted(set(categories)) if categories is not None else None,
        "active": active,
    }
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "UPDATE departments SET name = coalesce(:name, name), "
                    "categories = coalesce(CAST(:categories AS text[]), categories), "
                    "active = coalesce(:active, active) WHERE id = :i"
                ),
                {**values, "i": dep_id},
            )
    except IntegrityError:
        raise Conflict(f"department '{values['name']}' already exists", field="name") from None
    changed = {k: v for k, v in values.items() if v is not None}
    record(conn, actor, "department.update", "departments", str(dep_id), **changed)
    return _department(conn, dep_id)
