"""The evaluation of November 2026 on the constructed history, against answers worked by hand.

The history is tests/evaluation_history.py (its table tells each incident's story). Below, for
each figure, which incidents it counts — the working — and the answer.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from gridgeo.errors import Forbidden, InvalidInput
from gridgeo.evaluation import evaluate, trend
from gridgeo.evaluation.periods import buckets, month, parse_period
from gridgeo.levels import Hierarchy, load_hierarchy
from tests.api.incident_city import COMM_A, COMM_B, DISTRICT
from tests.evaluation_history import CST, NOW, build_history

NOVEMBER = month(2026, 11, CST)


@pytest.fixture
def hierarchy(conn: Connection) -> Hierarchy:
    build_history(conn)
    return load_hierarchy(conn)


def _close(got: dict, want: dict) -> None:
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value), key
        else:
            assert got[key] == value, key


# The district (everything), November:
DISTRICT_NOVEMBER = {
    "reported": 11,  # 1–10 and 12 (11 and 13 in October, 14 and 15 in September)
    "accepted": 10,  # 1–10 (12 never; 11 in October)
    "dispatched": 2,  # 4, 10 (the first dispatch; 10's second does not count again)
    "resolved": 11,  # 1–8, 10, 11, 14 (2's last resolution; 14 reported in September)
    "closed": 11,  # the same eleven
    "reopened": 1,  # 2
    "escalated": 1,  # 3 (14 and 15 escalated in September)
    "returned": 1,  # 10
    "open_at_end": 3,  # 9, 12, 15 (15 untouched since September)
    "open_now": 3,
    "overdue_now": 3,  # 9 (resolve limit 29 Nov), 12 (accept limit 30 Nov 22:00), 15
    "due": 11,  # resolve limit in November: 1–11 (12's is 1 December; 14's and 15's September)
    "closure_rate": 10 / 11,  # all but 9
    # resolved by the original limit and closed: 1, 5, 6, 7 (under its 48 h), 10, 11; not 2
    # (resolved again after it), 3, 4 (extended), 8 (24 h), 9 (open)
    "on_time_rate": 6 / 11,
    # accept limit in November: 1–10, 12; in time: all but 3, 8 and 12
    "on_time_accept_rate": 8 / 11,
    "rework_rate": 1 / 11,  # 2 / the eleven resolved
    "extension_rate": 1 / 11,  # 4
    "accept_hours_mean": 9.5 / 10,  # 1, .5, 1.5, 1, 1, 1, .5, 1.5, .5, 1
    "accept_hours_median": 1.0,
    # 5, 27, 11, 96, 6, 9, 35, 27, 7, 14 and 1176 (14: from 15 September 09:00)
    "resolve_hours_mean": 1413 / 11,
    "resolve_hours_median": 14.0,
    "mean_rating": 3.8,  # 5, 4, 3, 5, 4, 4, 2, 5, 5, 1 (5 was not rated)
    "satisfied_share": 0.7,  # 7 of the 10 rated
    "rated_share": 10 / 11,
    "in_grid_rate": 9 / 11,  # all closed but 3 (street) and 14 (district)
    "in_community_rate": 9 / 11,
    # 30 × 10/11 + 30 × 6/11 + 20 × (3.8 − 1)/4 + 10 × (1 − 1/11) + 10 × 9/11 = 670/11 + 14
    "score": 74.9,
    "grade": "C",
}


def test_the_district_in_november(conn, hierarchy):
    out = evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, level="district")
    assert out["period"] == {"label": "2026-11", "from": "2026-11-01", "to": "2026-11-30"}
    assert [r["key"] for r in out["rows"]] == [DISTRICT]
    _close(out["rows"][0], DISTRICT_NOVEMBER)
    _close(out["total"], DISTRICT_NOVEMBER)


def test_communities_in_november(conn, hierarchy):
    out = evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, parent=DISTRICT, level="community")
    rows = {r["key"]: r for r in out["rows"]}
    assert set(rows) == {COMM_A, COMM_B}
    # B: 6 (moved there by the plan), 8, 12; 15 open at the end
    _close(rows[COMM_B], {
        "reported": 3, "accepted": 2, "resolved": 2, "closed": 2, "due": 2, "open_at_end": 2,
        "closure_rate": 1.0, "on_time_rate": 0.5, "on_time_accept_rate": 1 / 3,
        "rework_rate": 0.0, "extension_rate": 0.0, "accept_hours_mean": 1.25,
        "accept_hours_median": 1.25, "resolve_hours_mean": 18.0, "mean_rating": 3.0,
        "satisfied_share": 0.5, "in_grid_rate": 1.0,
        "score": 75.0, "grade": "B",  # 30 + 15 + 20 × 0.5 + 10 + 10
    })  # fmt: skip
    # A: the rest
    _close(rows[COMM_A], {
        "reported": 8, "accepted": 8, "dispatched": 2, "resolved": 9, "closed": 9, "due": 9,
        "open_at_end": 1, "closure_rate": 8 / 9, "on_time_rate": 5 / 9,
        "on_time_accept_rate": 7 / 8, "rework_rate": 1 / 9, "extension_rate": 1 / 9,
        "accept_hours_mean": 7 / 8, "accept_hours_median": 1.0, "resolve_hours_mean": 153.0,
        "resolve_hours_median": 14.0, "mean_rating": 4.0, "satisfied_share": 0.75,
        "rated_share": 8 / 9, "in_grid_rate": 7 / 9,
        "score": 75.0, "grade": "B",  # (240 + 150 + 80 + 70)/9 + 15
    })  # fmt: skip
    assert [r["rank"] for r in out["rows"]] == [1, 2]
    _close(out["total"], DISTRICT_NOVEMBER)  # the parent's total: the same figures


def test_a_category_whose_limit_changed_counts_by_the_limit_it_had(conn, hierarchy):
    out = evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, by="category", parent=DISTRICT)
    rows = {r["key"]: r for r in out["rows"]}
    assert rows["dispute"]["name"] == "矛盾纠纷"
    # 7 resolved in 35 h under its 48 h limit: on time; 8 in 27 h under 24 h: late
    _close(rows["dispute"], {"reported": 2, "due": 2, "on_time_rate": 0.5})
    _close(rows["safety_hazard"], {"escalated": 1, "on_time_rate": 0.0, "in_grid_rate": 0.0})


def test_departments_and_workers(conn, hierarchy):
    deps = evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, by="department")
    # 4 only: 10 was returned by 城市管理局 and dispatched again to a worker
    assert [r["name"] for r in deps["rows"]] == ["住房和城乡建设局"]
    _close(deps["rows"][0], {"due": 1, "closure_rate": 1.0, "on_time_rate": 0.0,
                             "extension_rate": 1.0, "score": 70.0, "grade": "C"})  # fmt: skip
    workers = evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, by="worker")
    assert [r["key"] for r in workers["rows"]] == ["张伟"]
    with pytest.raises(Forbidden):
        evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, by="worker", names=False)


def test_the_trend_agrees_with_the_months(conn, hierarchy):
    autumn = parse_period("2026Q4", CST)
    months = buckets(autumn, "month")
    assert [b.label for b in months] == ["2026-10", "2026-11", "2026-12"]
    got = trend(conn, hierarchy, buckets=months, now=NOW)
    # now, not of a period; and a trend shows means, not medians
    snapshot = ("open_now", "overdue_now", "accept_hours_median", "resolve_hours_median")
    _close(got[1], {k: v for k, v in DISTRICT_NOVEMBER.items() if k not in snapshot})
    # October: 13 and 11 reported and accepted; 13 resolved, closed, due and on time; open at
    # its end: 11 (resolved 1 November), 14, 15
    _close(got[0], {"reported": 2, "accepted": 2, "resolved": 1, "closed": 1, "due": 1,
                    "on_time_rate": 1.0, "open_at_end": 3})  # fmt: skip
    # December (to the 5th): 12's resolve limit (1 December 20:00) has passed: due, not closed
    _close(got[2], {"reported": 0, "due": 1, "closure_rate": 0.0, "open_at_end": 3})


def test_a_scoped_caller_and_bad_scopes(conn, hierarchy):
    out = evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, areas=(COMM_B,))
    # the caller's one area is the default parent; its grids are listed
    assert [r["key"] for r in out["rows"]] == [COMM_B + "001"]
    assert out["total"]["reported"] == 3
    with pytest.raises(InvalidInput, match="above the parent"):
        evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, parent=COMM_A, level="street")
    with pytest.raises(InvalidInput, match="not the code of an area"):
        evaluate(conn, hierarchy, period=NOVEMBER, now=NOW, parent="1101")


def test_settled_months_come_from_the_cache_until_the_past_changes(conn, hierarchy):
    from gridgeo.accounts import Account
    from gridgeo.evaluation.cache import SettledCache
    from gridgeo.incidents.flow import transition
    from gridgeo.incidents.report import Report, report

    months = buckets(parse_period("2026Q4", CST), "month")  # October is settled at NOW
    cache = SettledCache()
    plain = trend(conn, hierarchy, buckets=months, now=NOW)
    assert trend(conn, hierarchy, buckets=months, now=NOW, cache=cache) == plain
    assert (cache.hits, cache.misses) == (0, 1)
    assert trend(conn, hierarchy, buckets=months, now=NOW, cache=cache) == plain
    assert cache.hits == 1  # October; November and December are summed again
    # a report now leaves the settled past as it was
    admin = Account(0, "admin", "admin", ())
    report(conn, Report(116.35, 39.90, "sanitation"), account=admin, now=NOW, snap_m=200)
    assert trend(conn, hierarchy, buckets=months, now=NOW, cache=cache)[0] == plain[0]
    assert cache.hits == 2
    # incident 13 (all October) reopened now: October's figures change, and are summed again
    thirteen = conn.execute(text("SELECT id FROM incidents WHERE idempotency_key = 'h13'"))
    transition(conn, thirteen.scalar_one(), account=admin, action="reopen", now=NOW, note="又坏了")
    again = trend(conn, hierarchy, buckets=months, now=NOW, cache=cache)
    assert again[0]["closed"] == 0 and plain[0]["closed"] == 1
    assert again == trend(conn, hierarchy, buckets=months, now=NOW)


def test_settled_sums_outlive_the_process_and_move_only_with_their_past(conn, hierarchy):
    """A new cache (a restart, another worker) reads settled months from the table; an action
    on an old incident renews only the months that incident lived in."""
    from gridgeo.accounts import Account
    from gridgeo.evaluation.cache import SettledCache, period_versions
    from gridgeo.incidents.flow import transition

    months = buckets(parse_period("2026Q3", CST), "month") + buckets(
        parse_period("2026Q4", CST), "month"
    )  # July … December; July to October are settled at NOW
    plain = trend(conn, hierarchy, buckets=months, now=NOW)
    assert trend(conn, hierarchy, buckets=months, now=NOW, cache=SettledCache()) == plain
    restarted = SettledCache()
    assert trend(conn, hierarchy, buckets=months, now=NOW, cache=restarted) == plain
    assert (restarted.hits, restarted.misses, restarted.stored_hits) == (0, 4, 4)
    month_table = evaluate(conn, hierarchy, period=months[3], now=NOW)
    evaluate(conn, hierarchy, period=months[3], now=NOW, cache=SettledCache())  # medians kept
    again = SettledCache()
    assert evaluate(conn, hierarchy, period=months[3], now=NOW, cache=again) == month_table
    assert again.stored_hits == 1

    periods = [(m.start, m.end) for m in months[:4]]
    before = period_versions(conn, periods)
    admin = Account(0, "admin", "admin", ())
    thirteen = conn.execute(text("SELECT id FROM incidents WHERE idempotency_key = 'h13'"))
    transition(conn, thirteen.scalar_one(), account=admin, action="reopen", now=NOW, note="又坏了")
    after = period_versions(conn, periods)
    assert after[:3] == before[:3] and after[3] != before[3]  # incident 13 lived in October
    fresh = SettledCache()
    assert trend(conn, hierarchy, buckets=months, now=NOW, cache=fresh) == trend(
        conn, hierarchy, buckets=months, now=NOW
    )
    assert fresh.stored_hits == 3  # July to September from the table, October summed again
