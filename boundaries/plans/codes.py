"""Codes of new grids in a plan: checked against the hierarchy and history, or allocated."""

from __future__ import annotations

from sqlalchemy import Connection, text

from boundaries.plans.drafts import Draft
from gridgeo.errors import InvalidInput
from gridgeo.levels import LevelSpec


def _used_codes(conn: Connection, prefix: str, length: int) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT DISTINCT code FROM grid_versions WHERE code LIKE :p AND length(code) = :n "
            "UNION SELECT code FROM grids WHERE code LIKE :p AND length(code) = :n"
        ),
        {"p": prefix + "%", "n": length},
    ).scalars()
    return set(rows)


def check_new_code(conn: Connection, draft: Draft, code: str, parent_code: str) -> None:
    """Refuse ``code`` for a new child of ``parent_code`` unless it fits and is free.

    Raises:
        InvalidInput: the parent is at the deepest level, the code does not fit the level or
            the parent, or a grid of the draft or a current grid has it.
    """
    parent_level = draft.area.level if parent_code == draft.area.code else None
    parent = draft.grids.get(parent_code)
    level = (parent.level if parent else parent_level) or draft.area.level
    spec = (
        draft.hierarchy.levels[level.depth + 1]
        if level.depth + 1 < len(draft.hierarchy.levels)
        else None
    )
    if spec is None:
        raise InvalidInput(f"grid {parent_code} is at the deepest level; it can have no children")
    problem = draft.hierarchy.code_problem(code, spec, parent_code)
    if problem:
        raise InvalidInput(f"new code: {problem}", field="code")
    if code in draft.grids:
        raise InvalidInput(
            f"code {code} is already used by grid {draft.grids[code].name}", field="code"
        )
    clash = conn.execute(
        text("SELECT name FROM current_grids WHERE code = :c"), {"c": code}
    ).scalar()
    if clash is not None and not any(g.code == code for g in draft.retired):
        raise InvalidInput(f"code {code} is already used by grid {clash}", field="code")


def next_codes(
    conn: Connection, draft: Draft, parent_code: str, level: LevelSpec, n: int
) -> list[str]:
    """``n`` unused codes for new children of ``parent_code`` (never reusing a retired code)."""
    used = _used_codes(conn, parent_code, level.code_length) | set(draft.grids)
    used |= {g.code for g in draft.retired}
    width = level.code_width
    numbers = [
        int(c[len(parent_code) :])
        for c in used
        if c.startswith(parent_code) and len(c) == level.code_length and c.isdigit()
    ]
    start = max(numbers, default=0) + 1
    codes = [f"{parent_code}{k:0{width}d}" for k in range(start, start + n)]
    if any(len(c) != level.code_length for c in codes):
        raise InvalidInput(
            f"no free {level.key} codes are left below {parent_code}; give the codes explicitly",
            field="codes",
        )
    return codes
