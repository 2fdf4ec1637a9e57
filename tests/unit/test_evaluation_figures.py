"""The figures from sums, the score and grades, the weights, the periods: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gridgeo.errors import InvalidInput
from gridgeo.evaluation.figures import FIGURES, SUMS, figures, grade, parse_weights
from gridgeo.evaluation.periods import buckets, days, last_months, month_of, parse_period

SH = ZoneInfo("Asia/Shanghai")


def test_empty_denominators_are_none_not_zero():
    f = figures({})
    assert f["reported"] == 0 and f["closure_rate"] is None and f["mean_rating"] is None
    assert f["score"] is None and f["grade"] is None
    assert {x.key for x in FIGURES} == set(f)


def test_score_renormalises_over_defined_components():
    # due 4, all closed on time; nothing rated, nothing resolved in the period
    f = figures({"due": 4, "due_closed": 4, "on_time": 4, "closed": 0})
    assert f["closure_rate"] == f["on_time_rate"] == 1.0 and f["rework_rate"] is None
    assert f["score"] == 100.0 and f["grade"] == "A"  # closure and on time only
    g = figures({"due": 4, "due_closed": 2, "on_time": 1, "resolved": 2, "reopened": 1,
                 "closed": 2, "rated": 2, "rating_sum": 6, "in_grid": 1})  # fmt: skip
    # 30×.5 + 30×.25 + 20×(3−1)/4 + 10×(1−.5) + 10×.5 = 15 + 7.5 + 10 + 5 + 5
    assert g["score"] == 42.5 and g["grade"] == "D"


@pytest.mark.parametrize(
    "score,want",
    [(100, "A"), (90, "A"), (89.9, "B"), (75, "B"), (74.9, "C"), (60, "C"), (59.9, "D"),
     (40, "D"), (39.9, "E"), (0, "E")],
)  # fmt: skip
def test_grades(score, want):
    assert grade(score) == want


def test_weights():
    assert parse_weights("") == {"closure": 30, "on_time": 30, "satisfaction": 20, "rework": 10,
                                 "in_grid": 10}  # fmt: skip
    assert parse_weights("closure=1, extension=1") == {"closure": 1.0, "extension": 1.0}
    f = figures({"due": 2, "due_closed": 2, "extended": 1}, parse_weights("extension=1"))
    assert f["score"] == 50.0
    for bad in ("colour=1", "closure=-1", "closure=x", "closure=0"):
        with pytest.raises(ValueError):
            parse_weights(bad)
    assert "due" in SUMS


def test_periods_in_beijing_time():
    nov = parse_period("2026-11", SH)
    assert nov.start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 00:00 +08:00
    assert (nov.first, nov.last) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (
        nov.previous().label == "2026-10"
        and parse_period("2026-01", SH).previous().label == "2025-12"
    )
    assert parse_period("2026Q1", SH).previous().label == "2025Q4"
    week = parse_period("2026-W47", SH)
    assert (week.first, week.last) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week.previous().first == date(2026, 11, 9)
    assert parse_period("2026-11-05", SH).label == "2026-11-05"
    assert [b.label for b in buckets(nov, "week")][:2] == ["2026-W44", "2026-W45"]
    assert sum((b.end - b.start).days for b in buckets(nov, "week")) == 30
    assert month_of(datetime(2026, 11, 30, 17, tzinfo=UTC), SH).label == "2026-12"
    year = last_months(datetime(2026, 12, 5, tzinfo=UTC), SH)
    assert [b.label for b in buckets(year, "month")][::11] == ["2026-01", "2026-12"]
    for bad in ("2026-13", "2026Q5", "November", "2026-W60"):
        with pytest.raises(InvalidInput):
            parse_period(bad, SH)
    with pytest.raises(InvalidInput):
        days(date(2026, 11, 2), date(2026, 11, 1), SH)
