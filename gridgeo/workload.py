"""Workload against the staffing standard (按照300户一职): per grid and rolled up the tree.

Each area's households and workers are summed over everything at or below it (codes are
hierarchical, so a prefix names a subtree); workers are the effective counts of the view
``grid_staff`` (migration 0004: named full-time workers when a grid has any, else the stored
count). The standard and tolerance band of an area come from the nearest configured ancestor
(``workload_config``, the area itself included), else the defaults.

Status rules (:func:`classify`):

- ``empty``: no households (load 0 with workers, None without);
- ``unstaffed``: households but no worker (load and deviation None);
- ``over`` / ``under``: load above / below the standard by more than the band;
- ``within``: otherwise (the band's edges count as within).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from gridgeo.audit import record
from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy
from gridgeo.rules import current_grid_id

DEFAULT_BAND = 0.10  # the tolerance where no area sets its own (the standard: a setting)
STATUSES = ("over", "within", "under", "unstaffed", "empty")
STATUS_ZH = {
    "over": "超负荷",
    "within": "达标",
    "under": "低负荷",
    "unstaffed": "无人员",
    "empty": "无住户",
}


@dataclass(frozen=True)
class Figures:
    """The derived figures of one area (see :func:`classify`)."""

    load: float | None
    deviation: float | None
    status: str
    workers_needed: int


@dataclass(frozen=True)
class WorkloadRow:
    """One area of the workload report.

    Attributes:
        code: the area's code.
        name: its name.
        level: level key (``grid``, ``community`` …); ``level_zh`` its Chinese label.
        parent_code: the parent's code (None at the top).
        households: households at or below the area.
        workers: effective full-time workers at or below the area.
        load: households per worker (None without workers).
        deviation: ``load / standard - 1`` (None without workers).
        status: one of :data:`STATUSES`.
        workers_needed: ``ceil(households / standard)``.
        gap: ``workers_needed - workers`` (positive: workers missing).
        standard: households per worker used for this area.
        band: tolerance used, as a fraction (0.1 = ±10 %).
        config_area: the configured area the standard came from; None for the default.
    """

    code: str
    name: str
    level: str
    level_zh: str
    parent_code: str | None
    households: int
    workers: int
    load: float | None
    deviation: float | None
    status: str
    workers_needed: int
    gap: int
    standard: int
    band: float
    config_area: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (load and deviation rounded for reading)."""
        out = dict(self.__dict__)
        out["load"] = None if self.load is None else round(self.load, 1)
        out["deviation"] = None if self.deviation is None else round(self.deviation, 4)
        return out


def classify(households: int, workers: int, standard: int, band: float) -> Figures:
    """Load, deviation, status and workers needed of one area.

    Args:
        households: households in the area.
        workers: effective full-time workers.
        standard: households per worker (> 0).
        band: tolerance as a fraction of the standard, in (0, 1).
    """
    needed = math.ceil(households / standard)
    if households == 0:
        return Figures(0.0 if workers else None, -1.0 if workers else None, "empty", 0)
    if workers == 0:
        return Figures(None, None, "unstaffed", needed)
    load = households / workers
    deviation = load / standard - 1
    # round away float noise so that 330 households per worker at 300 ±10 % is "within"
    d = round(deviation, 9)
    status = "over" if d > band else "under" if d < -band else "within"
    return Figures(load, deviation, status, needed)


def _check_config(standard: int, band: float) -> None:
    if isinstance(standard, bool) or not isinstance(standard, int) or standard <= 0:
        raise InvalidInput("the standard (households per worker) must be a whole number > 0")
    if not (isinstance(band, int | float) and 0 < band < 1):
        raise InvalidInput("the band must be a fraction between 0 and 1 (0.1 = ±10 %)")


REPORT = """
WITH req AS (
    SELECT g.code, g.name, l.key AS level, l.label_zh AS level_zh, p.code AS parent_code
    FROM current_grids g JOIN levels l ON l.id = g.level_id LEFT JOIN grids p ON p.id = g.parent_id
    WHERE {where}
),
lens AS (SELECT DISTINCT length(code) AS len FROM req),
leafsum AS (
    SELECT g.code, s.households AS n
    FROM grid_households s JOIN current_grids g ON g.id = s.grid_id
),
hh AS (
    SELECT left(s.code, lens.len) AS code, sum(s.n)::bigint AS n
    FROM leafsum s, lens WHERE length(s.code) >= lens.len GROUP BY 1
),
wk AS (
    SELECT left(s.code, lens.len) AS code, sum(s.workers)::bigint AS n
    FROM grid_staff s, lens WHERE length(s.code) >= lens.len GROUP BY 1
),
cfg AS (
    SELECT DISTINCT ON (r.code) r.code, c.area_code, c.households_per_worker, c.band
    FROM req r JOIN workload_config c ON left(r.code, length(c.area_code)) = c.area_code
    ORDER BY r.code, length(c.area_code) DESC
)
SELECT r.code, r.name, r.level, r.level_zh, r.parent_code,
       coalesce(hh.n, 0) AS households, coalesce(wk.n, 0) AS workers,
       cfg.area_code, cfg.households_per_worker, cfg.band
FROM req r LEFT JOIN hh ON hh.code = r.code LEFT JOIN wk ON wk.code = r.code
LEFT JOIN cfg ON cfg.code = r.code
ORDER BY r.code
"""


def workload_report(
    conn: Connection,
    hierarchy: Hierarchy,
    *,
    level: str | None = None,
    parent: str | None = None,
    areas: tuple[str, ...] | None = None,
    default_standard: int,
    default_band: float = DEFAULT_BAND,
) -> list[WorkloadRow]:
    """The workload of areas, in code order, in one set-based query.

    Which areas: ``level`` alone → every area of that level; ``parent`` alone → its direct
    children; both → the areas of ``level`` below ``parent``; neither → every area.

    Args:
        conn: database connection.
        hierarchy: the level chain (validates ``level``).
        level: level key.
        parent: code of an area.
        areas: only areas at or below these codes (None: no restriction).
        default_standard: households per worker where no area is configured (the setting
            ``workload.households_per_worker``).
        default_band: tolerance where no area is configured.

    Raises:
        InvalidInput: unknown level. NotFound: unknown parent.
    """
    where = ["true"]
    params: dict[str, Any] = {}
    if level is not None:
        params["level_id"] = hierarchy.get(level).id
        where.append("g.level_id = :level_id")
    if parent is not None:
        current_grid_id(conn, parent, "parent")
        params["parent"] = parent
        if level is None:
            where.append("p.code = :parent")
        else:
            where.append("g.code LIKE :parent || '%' AND g.code <> :parent")
    if areas is not None:
        params["areas"] = [a + "%" for a in areas]
        where.append("g.code LIKE ANY(CAST(:areas AS text[]))")
    sql = REPORT.format(where=" AND ".join(where))
    rows = []
    for r in conn.execute(text(sql), params).mappings():
        standard = r["households_per_worker"] or default_standard
        band = r["band"] if r["band"] is not None else default_band
        f = classify(r["households"], r["workers"], standard, band)
        rows.append(
            WorkloadRow(
                code=r["code"],
                name=r["name"],
                level=r["level"],
                level_zh=r["level_zh"],
                parent_code=r["parent_code"],
                households=r["households"],
                workers=r["workers"],
                load=f.load,
                deviation=f.deviation,
                status=f.status,
                workers_needed=f.workers_needed,
                gap=f.workers_needed - r["workers"],
                standard=standard,
                band=band,
                config_area=r["area_code"],
            )
        )
    return rows


def set_config(
    conn: Connection, area_code: str, standard: int, band: float, actor: str
) -> dict[str, Any]:
    """Set the standard and band of an area (and everything below it not configured nearer).

    Raises:
        InvalidInput: standard not > 0 or band not in (0, 1). NotFound: unknown area.
    """
    _check_config(standard, band)
    current_grid_id(conn, area_code, "area_code")
    before = conn.execute(
        text("SELECT households_per_worker, band FROM workload_config WHERE area_code = :c"),
        {"c": area_code},
    ).first()
    conn.execute(
        text(
            """
            INSERT INTO workload_config (area_code, households_per_worker, band, updated_by)
            VALUES (:c, :s, :b, :a)
            ON CONFLICT (area_code) DO UPDATE SET households_per_worker = EXCLUDED.households_per_worker,
                band = EXCLUDED.band, updated_at = now(), updated_by = EXCLUDED.updated_by
            """
        ),
        {"c": area_code, "s": standard, "b": float(band), "a": actor},
    )
    record(
        conn,
        actor,
        "workload.config",
        "workload_config",
        area_code,
        households_per_worker=standard,
        band=band,
        before=None if before is None else {"households_per_worker": before[0], "band": before[1]},
    )
    return {"area_code": area_code, "households_per_worker": standard, "band": float(band)}


# (key, Chinese header, English header, xlsx number format)
COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("code", "编码", "code", "@"),
    ("name", "名称", "name", None),
    ("level_zh", "层级", "level", None),
    ("parent_code", "上级编码", "parent code", "@"),
    ("households", "户数", "households", "#,##0"),
    ("workers", "专职人员", "workers", "#,##0"),
    ("load", "人均户数", "households per worker", "0.0"),
    ("deviation", "偏离标准", "deviation", "+0.0%;-0.0%;0.0%"),
    ("status_zh", "状态", "status", None),
    ("workers_needed", "应配人数", "workers needed", "#,##0"),
    ("gap", "缺口", "gap", "+#,##0;-#,##0;0"),
    ("standard", "标准(户/人)", "standard (households per worker)", "#,##0"),
    ("band", "容差", "band", '"±"0%'),
)
FILLS = {"over": "FFC7CE", "under": "FFEB9C", "unstaffed": "F4B084", "empty": "D9D9D9"}


def _cells(row: WorkloadRow) -> list[Any]:
    values = row.to_dict()
    values["status_zh"] = f"{STATUS_ZH[row.status]} {row.status}"
    return [values[key] for key, *_ in COLUMNS]


def to_csv(rows: list[WorkloadRow]) -> bytes:
    """The report as CSV: UTF-8 with a byte-order mark so that Excel reads the Chinese.

    One header row with both languages (``编码 code`` …); numbers unformatted.
    """
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([f"{zh} {en}" for _, zh, en, _ in COLUMNS])
    for row in rows:
        writer.writerow(["" if v is None else v for v in _cells(row)])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[WorkloadRow], *, title: str = "工作量 workload") -> bytes:
    """The report as an Excel workbook (.xlsx).

    Two header rows (Chinese, then English) frozen with the code and name columns; number
    formats per column; over-, under-, unstaffed and empty rows filled in colour.
    """
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([zh for _, zh, _, _ in COLUMNS])
    ws.append([en for _, _, en, _ in COLUMNS])
    for cell in (*ws[1], *ws[2]):
        cell.font = Font(bold=True)
    fills = {k: PatternFill("solid", start_color=v, end_color=v) for k, v in FILLS.items()}
    for r, row in enumerate(rows, start=3):  # (ws.max_row scans every cell: quadratic)
        ws.append(_cells(row))
        for i, (_, _, _, fmt) in enumerate(COLUMNS, start=1):
            if fmt is not None:
                ws.cell(r, i).number_format = fmt
        fill = fills.get(row.status)
        if fill is not None:
            for i in range(1, len(COLUMNS) + 1):
                ws.cell(r, i).fill = fill
    widths = (17, 22, 8, 17, 10, 10, 12, 10, 14, 10, 8, 12, 8)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{len(rows) + 2}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
