"""The marks an incident carries (the desk's badges and flag filters), each stated once as SQL.

A mark is a fact of the row the dispatcher sorts work by: where its report landed (``flags``:
boundary, duplicate, outside), what happened to it (reopened, escalated, returned, extended,
an extension asked for, photos) and where it stands against its limits (overdue, late: the
rules of :mod:`gridgeo.incidents.policy`). The list of incidents answers them as ``marks``
(one array, built from :data:`MARKS`) and filters by them (``flags=…``, ``overdue=…``), so the
badge a page shows and the filter that finds it cannot say two different things.
"""

from __future__ import annotations

from collections.abc import Sequence

from gridgeo.errors import InvalidInput
from gridgeo.incidents.policy import OVERDUE_NOW, late_sql

# mark → (SQL over the incident ``i``, never NULL; Chinese; English). Order: as badges show.
MARKS: dict[str, tuple[str, str, str]] = {
    "major": ("i.major", "重大", "major"),
    "overdue": (OVERDUE_NOW, "超时", "overdue"),
    "late": (late_sql("i"), "逾期", "late"),
    "boundary": ("'boundary' = ANY(i.flags)", "边界", "boundary"),
    "duplicate": ("'duplicate' = ANY(i.flags)", "重复", "duplicate"),
    "outside": ("'outside' = ANY(i.flags)", "网格外", "outside"),
    "escalated": ("i.escalation_level > 0", "已升级", "escalated"),
    "reopened": ("i.reopened_at IS NOT NULL", "重新办理", "reopened"),
    "returned": ("i.returned_at IS NOT NULL", "曾回退", "returned"),
    "extension": ("i.extension_requested_at IS NOT NULL", "延期申请", "extension asked"),
    "extended": ("i.extended_due IS NOT NULL", "已延期", "extended"),
    "photos": (
        "EXISTS (SELECT 1 FROM incident_photos p WHERE p.incident_id = i.id)",
        "有照片",
        "photos",
    ),
}

# The columns a list row (and one incident) carries beside gridgeo.incidents.queries.COLUMNS:
# overdue and late as the server judges them at :now, and every mark that holds.
STATUS_COLUMNS = (
    f"{MARKS['overdue'][0]} AS overdue, {MARKS['late'][0]} AS late, "
    "array_remove(ARRAY["
    + ", ".join(f"CASE WHEN {sql} THEN '{key}' END" for key, (sql, _, _) in MARKS.items())
    + "]::text[], NULL) AS marks"
)


def parse_marks(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The marks of a ``flags`` filter: comma-separated keys (or a list of them), all required.

    Raises:
        InvalidInput: a key that names no mark (code ``unknown_flag``, in both languages).
    """
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else [p for v in value for p in v.split(",")]
    keys = tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
    unknown = [k for k in keys if k not in MARKS]
    if unknown:
        known = ", ".join(MARKS)
        zh = "、".join(f"{k}（{z}）" for k, (_, z, _) in MARKS.items())
        raise InvalidInput(
            f"unknown flag '{unknown[0]}' in 'flags'; the flags are: {known}",
            code="unknown_flag",
            zh=f"筛选标记“{unknown[0]}”不存在；可用的标记：{zh}",
            field="flags",
        )
    return keys


def marks_where(keys: Sequence[str], overdue: bool | None = None) -> list[str]:
    """WHERE conditions: every mark of ``keys`` holds; overdue is (True) or is not (False)."""
    out = [f"({MARKS[k][0]})" for k in keys]
    if overdue is not None:
        out.append(("" if overdue else "NOT ") + f"({MARKS['overdue'][0]})")
    return out
