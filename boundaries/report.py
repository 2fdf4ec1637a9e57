"""The report of an import: problems found per feature, what would be written, what was.

One report type serves both the command line (``to_text``) and the web API (``to_dict``), so a
dry run and a refused commit say exactly the same thing wherever they are run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from gridgeo.errors import InvalidInput

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

#: Kinds of problem and what they mean (errors block a commit, warnings do not).
KINDS: dict[str, str] = {
    "empty_geometry": "the feature has no geometry, or an empty one",
    "non_polygon": "a boundary is not a Polygon or MultiPolygon",
    "invalid_geometry": "the polygon is invalid (reason from GEOS); import with fix to repair",
    "fixed": "the geometry was repaired with make_valid (warning: check the result)",
    "malformed_code": "the code does not fit the level's code format",
    "duplicate_code": "the code appears more than once in the file",
    "duplicate_in_store": "a current area with this code is already stored",
    "code_prefix": "the code does not start with its parent's code (warning)",
    "missing_parent": "no parent area found by field, code prefix or containment",
    "outside_parent": "part of the area lies outside its parent beyond the tolerance",
    "overlap": "two areas of the same level overlap",
    "sliver_overlap": "two areas overlap by a strip thinner than the tolerance (warning)",
    "gap": "the children leave part of their parent uncovered (warning)",
    "bad_value": "a mapped field holds a value of the wrong kind",
    "non_point": "a household location is not a single point",
    "bad_coordinates": "coordinates are missing or outside longitude/latitude range",
    "duplicate_external_id": "the external id appears more than once in the file",
    "external_id_in_store": "a household with this external id is already stored",
    "unparsed_address": "the address could not be read into building, unit and room (skipped)",
    "unknown_building": "no stored building (or several) matches the address (skipped)",
    "unknown_unit": "the building has no such unit (skipped)",
}

#: The same kinds in Chinese: every report line carries both (the page's language picks).
KINDS_ZH: dict[str, str] = {
    "empty_geometry": "无几何图形或为空",
    "non_polygon": "边界不是多边形",
    "invalid_geometry": "多边形无效(可加 fix 修复)",
    "fixed": "几何已自动修复(请核对)",
    "malformed_code": "编码不符合该层级格式",
    "duplicate_code": "编码在文件中重复",
    "duplicate_in_store": "库中已有相同编码的区域",
    "code_prefix": "编码未以上级编码开头",
    "missing_parent": "找不到上级区域",
    "outside_parent": "部分超出上级区域",
    "overlap": "与同级区域重叠",
    "sliver_overlap": "与同级区域有细条重叠",
    "gap": "下级区域未覆盖上级全部",
    "bad_value": "字段值类型或范围不对",
    "non_point": "住户位置不是单个点",
    "bad_coordinates": "坐标缺失或超出经纬度范围",
    "duplicate_external_id": "外部编号在文件中重复",
    "external_id_in_store": "库中已有相同外部编号的住户",
    "unparsed_address": "地址无法解析(已跳过)",
    "unknown_building": "找不到对应楼栋(已跳过)",
    "unknown_unit": "楼栋无此单元(已跳过)",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one feature (or, with ``index`` None, with a group of them).

    Attributes:
        index: 0-based position of the feature in the file; None when not about one feature.
        code: the feature's code (or external id), when it has one.
        kind: a key of ``KINDS``.
        message: a sentence for a planner.
        severity: ``"error"`` blocks a commit, ``"warning"`` does not.
        location: a ``(lon, lat)`` point at the problem, when useful.
        area_m2: the area concerned in square metres (overlap, part outside, gap).
    """

    index: int | None
    code: str | None
    kind: str
    message: str
    severity: Severity = ERROR
    location: tuple[float, float] | None = None
    area_m2: float | None = None

    def to_text(self) -> str:
        """One line: severity, feature (row from 0), code, kind (key and Chinese), message."""
        where = f"#{self.index}" if self.index is not None else "-"
        at = f" at ({self.location[0]:.7f}, {self.location[1]:.7f})" if self.location else ""
        code = f" {self.code}" if self.code else ""
        zh = f" ({KINDS_ZH[self.kind]})" if self.kind in KINDS_ZH else ""
        return f"{self.severity.upper():7} {where}{code} {self.kind}: {self.message}{at}{zh}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able mapping of the fields."""
        return {
            "index": self.index,
            "code": self.code,
            "kind": self.kind,
            "kind_zh": KINDS_ZH.get(self.kind),
            "kind_en": KINDS.get(self.kind),
            "message": self.message,
            "severity": self.severity,
            "location": list(self.location) if self.location else None,
            "area_m2": self.area_m2,
        }


@dataclass
class ImportReport:
    """What an import found, would do and did.

    Attributes:
        source: the file read.
        target: ``"grids"`` or ``"households"``.
        level: the level imported (grids only).
        features: features read from the file.
        problems: every problem found, in feature order.
        plan: what a commit writes: ``insert`` (rows per level or households), and for grids
            ``linked_by`` (how many children were linked by ``field``, ``code`` prefix or
            ``containment``) and ``parents`` (children per parent code).
        committed: True once rows were written.
        written: rows written.
        assignment: after a household commit, the counts of the store-wide reassignment:
            ``households``, ``assigned``, ``unassigned``, ``changed``.
    """

    source: str
    target: str
    features: int
    level: str | None = None
    problems: list[Problem] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    committed: bool = False
    written: int = 0
    assignment: dict[str, int] | None = None

    @property
    def errors(self) -> list[Problem]:
        """Problems that block a commit."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems reported without blocking a commit."""
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when nothing blocks a commit."""
        return not self.errors

    def summary(self) -> str:
        """A few lines: counts of problems by kind, the plan and the outcome."""
        what = f"{self.target} ({self.level})" if self.level else self.target
        lines = [f"{self.source}: {self.features} features read as {what}"]
        kinds = Counter((p.severity, p.kind) for p in self.problems)
        if kinds:
            parts = [f"{n} {kind}" for (_, kind), n in sorted(kinds.items())]
            lines.append(
                f"{len(self.errors)} errors, {len(self.warnings)} warnings: " + ", ".join(parts)
            )
        else:
            lines.append("no problems found")
        insert = ", ".join(f"{n} {key}" for key, n in self.plan.get("insert", {}).items())
        linked = ", ".join(f"{n} by {how}" for how, n in self.plan.get("linked_by", {}).items())
        lines.append(
            f"plan: insert {insert or 'nothing'}" + (f"; parents linked {linked}" if linked else "")
        )
        if "count_field" in self.plan:
            total = self.plan.get("household_count", 0)
            lines.append(
                f"household counts from the field '{self.plan['count_field']}': {total} in all"
                if self.plan["count_field"]
                else f"household counts: 1 per point ({total}); no field households, 户数 or "
                "household_count (name one with --count-field)"
            )
        if self.committed:
            lines.append(f"committed: {self.written} rows written")
        elif self.errors:
            lines.append("not committed: fix the errors first; nothing written")
        else:
            lines.append("dry run: nothing written")
        if self.assignment is not None:
            a = self.assignment
            lines.append(
                f"assignment (whole store): {a['assigned']} of {a['households']} household "
                f"points in a grid, {a['unassigned']} outside every grid"
            )
        return "\n".join(lines)

    def to_text(self, limit: int | None = None) -> str:
        """A report for people: one line per problem (at most ``limit``), then the summary."""
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [p.to_text() for p in shown]
        if len(shown) < len(self.problems):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems")
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping of the whole report."""
        return {
            "source": self.source,
            "target": self.target,
            "level": self.level,
            "features": self.features,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
            "plan": self.plan,
            "committed": self.committed,
            "written": self.written,
            "assignment": self.assignment,
        }


class ImportRejected(InvalidInput):
    """A commit was refused because the report has errors; nothing was written.

    Attributes:
        report: the full report (``detail["report"]`` holds its ``to_dict()``).
    """

    def __init__(self, report: ImportReport) -> None:
        head = "; ".join(p.to_text() for p in report.errors[:3])
        more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        super().__init__(
            f"{report.source}: {len(report.errors)} errors, nothing written: {head}{more}",
            report=report.to_dict(),
        )
        self.report = report
