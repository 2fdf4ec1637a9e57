"""The published results page (评价结果公开): each community's grade and rates, for anyone.

Aggregates of an evaluation table only — no incident, no text, no person — drawn as plain
HTML (no script), in Chinese or English, readable on a phone.
"""

from __future__ import annotations

from html import escape
from typing import Any

from gridgeo.evaluation.export import GRADE_FILLS
from gridgeo.evaluation.figures import FIGURE

COLUMNS = ("grade", "score", "closure_rate", "on_time_rate", "mean_rating", "satisfied_share",
           "resident_rated_share", "in_grid_rate", "reported")  # fmt: skip
TEXT = {
    "zh": {"title": "网格化管理综合评价结果公开", "area": "社区", "rank": "排名",
           "note": "按期结案率以原定处置时限计；评分权重", "other": "English", "none": "—"},
    "en": {"title": "Evaluation of the communities (published results)", "area": "Community",
           "rank": "Rank", "note": "On time counts against the original limit; score weights",
           "other": "中文", "none": "—"},
}  # fmt: skip


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    kind = FIGURE[key].kind
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind in ("score", "hours"):
        return f"{value:.1f}"
    if kind == "rating":
        return f"{value:.2f}"
    return escape(str(value))


def public_page(table: dict[str, Any], lang: str = "zh") -> str:
    """The HTML page of an evaluation table of communities."""
    t = TEXT[lang]
    label = (lambda f: f.zh) if lang == "zh" else (lambda f: f.en)
    head = "".join(f"<th>{escape(label(FIGURE[k]))}</th>" for k in COLUMNS)
    rows = []
    for r in table["rows"]:
        grade = r.get("grade")
        colour = f' style="background:#{GRADE_FILLS[grade]}"' if grade else ""
        cells = "".join(
            f"<td{colour if k == 'grade' else ''}>{_cell(k, r.get(k))}</td>" for k in COLUMNS
        )
        rows.append(f"<tr><td>{r['rank'] or '—'}</td><td>{escape(r['name'])}</td>{cells}</tr>")
    weights = ", ".join(f"{escape(k)} {v:g}" for k, v in table["weights"].items())
    period = table["period"]
    other = f"?period={period['label']}&lang={'en' if lang == 'zh' else 'zh'}"
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t["title"])} {escape(period["label"])}</title>
<style>
body {{ font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 12px;
       color: #222; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 6px 4px; text-align: right; }}
th:nth-child(2), td:nth-child(2) {{ text-align: left; }}
.wrap {{ overflow-x: auto; }} .muted {{ color: #666; font-size: 13px; }}
</style></head><body>
<h1>{escape(t["title"])}</h1>
<p class="muted">{escape(period["from"])} – {escape(period["to"])} ·
<a href="{other}">{t["other"]}</a></p>
<div class="wrap"><table><thead><tr><th>{t["rank"]}</th><th>{t["area"]}</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
<p class="muted">{escape(t["note"])}: {weights}</p>
</body></html>"""
