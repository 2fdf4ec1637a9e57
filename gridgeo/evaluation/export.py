"""The evaluation as files: a CSV of one table, the monthly workbook of a district office.

The workbook has one sheet per level (the district, its streets, communities, grids…), then
departments and categories (workers when asked for: they are named), and a last sheet with
every figure's definition and the score's weights. Each sheet has a Chinese and an English
header row; grades are coloured (A green … E red); rates are percentages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from gridgeo.evaluation.figures import COMPONENTS, FIGURES

KEY_COLUMNS = (("key", "编码", "code"), ("name", "名称", "name"), ("rank", "排名", "rank"))
SHOWN = ("grade", "score") + tuple(f.key for f in FIGURES if f.key not in ("score", "grade"))
GRADE_FILLS = {"A": "1A9641", "B": "A6D96A", "C": "FFFFBF", "D": "FDAE61", "E": "D7191C"}
FORMATS = {"rate": "0.0%", "hours": "0.0", "rating": "0.00", "score": "0.0", "count": "#,##0"}


def columns() -> list[tuple[str, str, str, str | None]]:
    """(key, Chinese, English, Excel number format) of every column of a table."""
    figure = {f.key: f for f in FIGURES}
    out: list[tuple[str, str, str, str | None]] = [(k, zh, en, None) for k, zh, en in KEY_COLUMNS]
    for key in SHOWN:
        f = figure[key]
        out.append((key, f.zh, f.en, FORMATS.get(f.kind)))
    return out


def _row(row: dict[str, Any]) -> list[Any]:
    return [row.get(key) for key, *_ in columns()]


def to_csv(table: dict[str, Any]) -> bytes:
    """The rows of one table (and its total last) as CSV, UTF-8 with a byte-order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([f"{zh} {en}" for _, zh, en, _ in columns()])
    for row in table["rows"]:
        writer.writerow(["" if v is None else v for v in _row(row)])
    total = {"key": table.get("parent") or "", "name": "合计 total"} | table["total"]
    writer.writerow(["" if v is None else v for v in _row(total)])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(sheets: Sequence[tuple[str, dict[str, Any]]], *, weights: dict[str, float]) -> bytes:
    """A workbook of ``(sheet title, table)`` pairs and a sheet of definitions."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    cols = columns()
    fills = {g: PatternFill("solid", start_color=c, end_color=c) for g, c in GRADE_FILLS.items()}
    grade_col = [k for k, *_ in cols].index("grade") + 1
    for title, table in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append([zh for _, zh, _, _ in cols])
        ws.append([en for _, _, en, _ in cols])
        for cell in (*ws[1], *ws[2]):
            cell.font = Font(bold=True)
        total = {"key": table.get("parent") or "", "name": "合计 total"} | table["total"]
        for r, row in enumerate([*table["rows"], total], start=3):
            ws.append(_row(row))
            for i, (_, _, _, fmt) in enumerate(cols, start=1):
                if fmt is not None:
                    ws.cell(r, i).number_format = fmt
            fill = fills.get(row.get("grade") or "")
            if fill is not None:
                ws.cell(r, grade_col).fill = fill
        ws.cell(len(table["rows"]) + 3, 2).font = Font(bold=True)
        ws.column_dimensions["A"].width = 17
        ws.column_dimensions["B"].width = 20
        for i in range(3, len(cols) + 1):
            ws.column_dimensions[get_column_letter(i)].width = 11
        ws.freeze_panes = "C3"
        ws.auto_filter.ref = f"A2:{get_column_letter(len(cols))}{len(table['rows']) + 2}"
    ws = wb.create_sheet("说明 definitions")
    ws.append(["指标", "figure", "定义 definition"])
    for f in FIGURES:
        ws.append([f.zh, f.en, f.formula])
    ws.append([])
    ws.append(["权重 weights", "", ""])
    for name, w in weights.items():
        zh, en, _ = COMPONENTS[name]
        ws.append([zh, en, w])
    for col, width in zip("ABC", (22, 28, 60), strict=True):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook(
    conn: Any,
    hierarchy: Any,
    *,
    period: Any,
    now: Any,
    parent: str | None = None,
    level: str | None = None,
    areas: tuple[str, ...] | None = None,
    names: bool = True,
    workers: bool = False,
    weights: dict[str, float] | None = None,
    cache: Any = None,
) -> bytes:
    """The monthly workbook: a sheet per level, departments, categories, definitions.

    One sheet per level from ``parent``'s down to ``level`` (default: the grids), then
    departments, categories and (with ``workers``) workers.

    Raises:
        InvalidInput: a bad parent or level. Forbidden: workers for a caller without names.
    """
    from gridgeo.evaluation.evaluate import evaluate, scope_of
    from gridgeo.evaluation.figures import DEFAULT_WEIGHTS

    w = dict(weights or DEFAULT_WEIGHTS)
    scope, _ = scope_of(hierarchy, by="area", level=None, parent=parent, areas=areas)
    top = hierarchy.level_of_code(scope.parent) if scope.parent else hierarchy.levels[0]
    last = hierarchy.get(level) if level else hierarchy.levels[-1]
    common = {"period": period, "now": now, "parent": scope.parent or None, "areas": areas,
              "names": names, "weights": w, "cache": cache}  # fmt: skip
    sheets = []
    for spec in hierarchy.levels[top.depth : last.depth + 1]:
        table = evaluate(conn, hierarchy, by="area", level=spec.key, **common)
        sheets.append((f"{spec.label_zh} {spec.label_en}", table))
    extra = [("department", "部门 departments"), ("category", "类别 categories")]
    if workers:
        extra.append(("worker", "网格员 workers"))
    for by, title in extra:
        sheets.append((title, evaluate(conn, hierarchy, by=by, **common)))
    return to_xlsx(sheets, weights=w)
