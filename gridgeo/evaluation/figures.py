"""The figures of the evaluation (综合评价), each defined once, from the sums of a group.

:mod:`gridgeo.evaluation.query` sums a group's incidents (an area, department, worker or
category, in one period) into :data:`SUMS`; :func:`figures` turns those sums into the rates,
times, satisfaction, score and grade, and :data:`FIGURES` names each figure in Chinese and
English with its formula — the table docs/evaluation.md, the API, the workbook and the
dashboard all show. A rate whose denominator is zero is None ("—"), never 0 or 100 %.

Which incidents each sum counts (the period is ``[start, end)``, evaluated at ``now``):

- ``reported``: reported in the period. ``accepted``: first accepted (or dispatched straight
  from reported) in it. ``dispatched``: first dispatched in it. ``resolved``: resolved for the
  last time in it. ``closed``: closed now, closed in it. ``reopened``, ``escalated``,
  ``returned``: reopened, escalated, returned (the last time) in it.
- ``due`` (应结案): the original resolve limit falls in the period — and has passed, or the
  incident is closed (one still open and not yet due is not due yet). Of these, ``due_closed``
  are closed now; ``on_time`` are closed and were resolved (the last time) by the original limit
  — the limit is the handler's, to resolve, so the desk's verification after it does not make a
  case late, while a reopened case resolved again after the limit does; ``extended`` had an
  extension approved.
- ``accept_due``: the original accept limit falls in the period (and has passed, or the
  incident was accepted); ``accept_on_time``: of these, accepted by it.
- ``open_at_end``: reported before the end and not resolved by then (an incident reopened and
  not yet resolved again counts as open from its report).
- ``accept_s``, ``resolve_s``: total seconds from report to first acceptance (over ``accepted``)
  and to last resolution (over ``resolved``); the medians come with them.
- ``rated``, ``rating_sum``, ``satisfied`` (rated 4 or 5), ``in_grid`` (never left the grid's
  queue: escalation level 0), ``in_community`` (never above the community): over ``closed``.
  An incident's rating is its residents' (the mean of the ratings given by the private links of
  the matters that follow it, :mod:`gridgeo.residents.follow`) where there is one, else the
  dispatcher's at closing (the rating of the verification); ``resident_rated`` counts the
  closed incidents rated by residents, so the figures say which ratings they rest on.
- ``decided``: closed matters for deliberation with a recorded meeting decision (会议定事,
  :mod:`gridgeo.residents.deliberation`); ``decided_rated``, ``decided_rating_sum``: their
  ratings.
- ``open_now``, ``overdue_now``: now, whatever the period (open and past a limit in force).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUMS = (
    "reported", "accepted", "dispatched", "resolved", "closed", "reopened", "escalated",
    "returned", "open_at_end", "due", "due_closed", "on_time", "extended", "accept_due",
    "accept_on_time", "accept_s", "resolve_s", "accept_median_s", "resolve_median_s", "rated",
    "rating_sum", "satisfied", "in_grid", "in_community", "open_now", "overdue_now",
    "resident_rated", "decided", "decided_rated", "decided_rating_sum",
)  # fmt: skip


@dataclass(frozen=True)
class Figure:
    """One figure: its key, names, kind (count, rate, hours, rating, score, grade), formula."""

    key: str
    zh: str
    en: str
    kind: str
    formula: str


FIGURES: tuple[Figure, ...] = (
    Figure("reported", "上报数", "reported", "count", "reported in the period"),
    Figure("accepted", "受理数", "accepted", "count", "first accepted in the period"),
    Figure("dispatched", "派遣数", "dispatched", "count", "first dispatched in the period"),
    Figure("resolved", "处置数", "resolved", "count", "last resolved in the period"),
    Figure("closed", "结案数", "closed", "count", "closed now, closed in the period"),
    Figure("reopened", "返工数", "reopened", "count", "reopened in the period"),
    Figure("escalated", "上报升级数", "escalated", "count", "escalated in the period"),
    Figure("returned", "回退数", "returned", "count", "returned in the period"),
    Figure("open_at_end", "期末未办结", "open at the end", "count",
           "reported before the end, not resolved by then"),
    Figure("open_now", "当前在办", "open now", "count", "open now"),
    Figure("overdue_now", "当前超期", "overdue now", "count", "open now, past its limit in force"),
    Figure("due", "应结案数", "due to close", "count",
           "original resolve limit in the period, passed or closed"),
    Figure("closure_rate", "结案率", "closure rate", "rate", "due_closed / due"),
    Figure("on_time_rate", "按期结案率", "on-time closure rate", "rate",
           "closed and resolved by the original resolve limit / due"),
    Figure("on_time_accept_rate", "按期受理率", "on-time acceptance rate", "rate",
           "accepted by the original accept limit / due to accept"),
    Figure("rework_rate", "返工率", "rework rate", "rate", "reopened / resolved"),
    Figure("extension_rate", "延期率", "extension rate", "rate", "extended / due"),
    Figure("accept_hours_mean", "平均受理时长(时)", "mean hours to accept", "hours",
           "mean of first acceptance − report, over accepted"),
    Figure("accept_hours_median", "受理时长中位数(时)", "median hours to accept", "hours",
           "median of first acceptance − report, over accepted"),
    Figure("resolve_hours_mean", "平均处置时长(时)", "mean hours to resolve", "hours",
           "mean of last resolution − report, over resolved"),
    Figure("resolve_hours_median", "处置时长中位数(时)", "median hours to resolve", "hours",
           "median of last resolution − report, over resolved"),
    Figure("mean_rating", "平均评价", "mean rating", "rating",
           "rating_sum / rated (1–5); residents' ratings where there are any, else the dispatcher's"),
    Figure("satisfied_share", "满意率", "share rated 4–5", "rate", "rated 4 or 5 / rated"),
    Figure("rated_share", "参评率", "share rated", "rate", "rated / closed"),
    Figure("resident_rated_share", "居民评价占比", "share rated by residents", "rate",
           "rated by residents / rated (the rest: the dispatcher's rating at closing)"),
    Figure("decided", "会议定事数", "matters decided", "count",
           "closed matters for deliberation with a meeting decision"),
    Figure("decided_mean_rating", "定事平均评价", "mean rating of decided matters", "rating",
           "rating sum / rated, over the matters decided"),
    Figure("in_grid_rate", "小事不出网格率", "settled in the grid", "rate",
           "closed, never escalated (level 0) / closed"),
    Figure("in_community_rate", "大事不出社区率", "settled in the community", "rate",
           "closed, never above the community / closed"),
    Figure("score", "综合得分", "score", "score", "Σ weight × component / Σ weight"),
    Figure("grade", "等级", "grade", "grade", "A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below"),
)  # fmt: skip
FIGURE = {f.key: f for f in FIGURES}

# The score's components, each 0–1 (1 best), from the figures.
COMPONENTS: dict[str, tuple[str, str, str]] = {
    "closure": ("结案率", "closure rate", "closure_rate"),
    "on_time": ("按期结案率", "on-time closure", "on_time_rate"),
    "on_time_accept": ("按期受理率", "on-time acceptance", "on_time_accept_rate"),
    "satisfaction": ("满意度", "satisfaction: (mean rating − 1) / 4", "mean_rating"),
    "rework": ("返工", "1 − rework rate", "rework_rate"),
    "extension": ("延期", "1 − extension rate", "extension_rate"),
    "in_grid": ("小事不出网格", "settled in the grid", "in_grid_rate"),
    "in_community": ("大事不出社区", "settled in the community", "in_community_rate"),
}
DEFAULT_WEIGHTS = {"closure": 30.0, "on_time": 30.0, "satisfaction": 20.0, "rework": 10.0,
                   "in_grid": 10.0}  # fmt: skip
GRADES = (("A", 90.0), ("B", 75.0), ("C", 60.0), ("D", 40.0))  # else E


def parse_weights(text: str) -> dict[str, float]:
    """Weights from ``closure=30,on_time=30,…`` (empty: the defaults).

    Raises:
        ValueError: an unknown component, a negative or unreadable weight, or all zero.
    """
    if not text.strip():
        return dict(DEFAULT_WEIGHTS)
    weights: dict[str, float] = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in COMPONENTS:
            raise ValueError(f"unknown score component '{name}'; use: {', '.join(COMPONENTS)}")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"the weight of {name} is not a number: '{value}'") from None
        if not weight >= 0:
            raise ValueError(f"the weight of {name} must be 0 or more")
        weights[name] = weight
    if not sum(weights.values()) > 0:
        raise ValueError("the weights add up to 0")
    return weights


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if not den or num is None else float(num) / float(den)


def _hours(seconds: float | None, count: float | None = 1) -> float | None:
    return None if seconds is None or not count else float(seconds) / float(count) / 3600.0


def component(name: str, f: Mapping[str, Any]) -> float | None:
    """The score component ``name`` (0–1, 1 best) of the figures ``f``; None when undefined."""
    value = f[COMPONENTS[name][2]]
    if value is None:
        return None
    if name == "satisfaction":
        return (float(value) - 1.0) / 4.0
    if name in ("rework", "extension"):
        return 1.0 - min(1.0, float(value))
    return float(value)


def grade(score: float | None) -> str | None:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E; None without a score."""
    if score is None:
        return None
    return next((g for g, low in GRADES if score >= low), "E")


def figures(sums: Mapping[str, Any], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> dict:
    """Every figure of :data:`FIGURES` from a group's sums (missing sums count as 0/None).

    The score is the weighted mean of the components that are defined (a group with nothing
    rated is scored on the rest), × 100; None when none is.
    """
    s = {k: sums.get(k) for k in SUMS}
    n = {k: int(s[k] or 0) for k in SUMS if not k.endswith(("_s", "rating_sum"))}
    out: dict[str, Any] = {k: n[k] for k in (
        "reported", "accepted", "dispatched", "resolved", "closed", "reopened", "escalated",
        "returned", "open_at_end", "open_now", "overdue_now", "due", "decided")}  # fmt: skip
    out["closure_rate"] = _ratio(n["due_closed"], n["due"])
    out["on_time_rate"] = _ratio(n["on_time"], n["due"])
    out["on_time_accept_rate"] = _ratio(n["accept_on_time"], n["accept_due"])
    out["rework_rate"] = _ratio(n["reopened"], n["resolved"])
    out["extension_rate"] = _ratio(n["extended"], n["due"])
    out["accept_hours_mean"] = _hours(s["accept_s"], n["accepted"])
    out["accept_hours_median"] = _hours(s["accept_median_s"])
    out["resolve_hours_mean"] = _hours(s["resolve_s"], n["resolved"])
    out["resolve_hours_median"] = _hours(s["resolve_median_s"])
    out["mean_rating"] = _ratio(s["rating_sum"], n["rated"])
    out["satisfied_share"] = _ratio(n["satisfied"], n["rated"])
    out["rated_share"] = _ratio(n["rated"], n["closed"])
    out["resident_rated_share"] = _ratio(n["resident_rated"], n["rated"])
    out["decided_mean_rating"] = _ratio(s["decided_rating_sum"], n["decided_rated"])
    out["in_grid_rate"] = _ratio(n["in_grid"], n["closed"])
    out["in_community_rate"] = _ratio(n["in_community"], n["closed"])
    total = weight = 0.0
    for name, w in weights.items():
        c = component(name, out)
        if c is not None and w > 0:
            total += w * c
            weight += w
    out["score"] = round(100.0 * total / weight, 1) if weight else None
    out["grade"] = grade(out["score"])
    return out
