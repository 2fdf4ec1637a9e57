"""Plans that split a tower by unit: the edit, preview, commit (versioned), undo, revert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, text

from boundaries.plans.commit import commit_plan, revert_change
from boundaries.plans.edits import undo_edit
from gridgeo.accounts import Account
from gridgeo.bulk_assign import assign_households
from gridgeo.errors import Conflict, InvalidInput
from gridgeo.incidents.report import Report, report_incident
from gridgeo.levels import Hierarchy, load_hierarchy
from gridgeo.workload import workload_report
from tests.plan_city import A, B, C, E, add_plan_city, households_of
from tests.plan_ops import check, edit, new_plan
from tests.tower_city import PER_UNIT, TOWER, add_tower, grid_of_unit

MOVE = {"op": "move_units", "building": TOWER, "units": ["3", "4"], "grid": B}


@pytest.fixture
def city(conn: Connection) -> Hierarchy:
    add_plan_city(conn)
    return load_hierarchy(conn)


def _commit(conn: Connection, city: Hierarchy, pid: int) -> dict:
    return commit_plan(conn, city, pid, "planner1", "split tower 3 by unit", snap_m=0.5)


def _open_rows(conn: Connection) -> list[tuple[int, str]]:
    return [
        (int(r[0]), str(r[1]))
        for r in conn.execute(
            text("SELECT u.unit_id, u.code FROM current_unit_grids u ORDER BY u.unit_id")
        ).all()
    ]


def test_moving_units_previews_commits_and_reverts(conn: Connection, city: Hierarchy) -> None:
    units = add_tower(conn, A)
    assert households_of(conn, A) == 100 + 4 * PER_UNIT
    admin = Account(0, "admin", "admin", ())
    now = datetime.now(UTC)
    at_unit4 = report_incident(
        conn, Report(lon=120.001, lat=36.0005, category="sanitation", building=TOWER, unit="4"),
        account=admin, now=now, snap_m=200,
    )  # fmt: skip
    assert at_unit4.incident is not None and at_unit4.incident["grid"] == A
    pid = new_plan(conn)
    result, _ = edit(conn, city, pid, MOVE)
    assert (
        result.op == "move_units"
        and "3, 4" in result.summary
        and "120 households" in result.summary
    )
    # nothing live changed; the preview shows the households moved and the loads
    assert grid_of_unit(conn, units["4"]) == A
    out = check(conn, city, pid)
    assert out["ok"], out
    imp = out["impact"]
    assert [(m["from"], m["to"], m["households"], m["points"]) for m in imp["moves"]] == [
        (A, B, 2 * PER_UNIT, 2)
    ]
    rows = {g["code"]: g for g in imp["grids"]}
    assert rows[A]["households_before"] == 340 and rows[A]["households_after"] == 220
    assert rows[B]["households_after"] == 100 + 2 * PER_UNIT
    assert imp["incidents"] == [{"id": at_unit4.id, "from": A, "to": B}]
    # commit: versioned rows, households and the incident moved in the same transaction
    done = _commit(conn, city, pid)
    assert done["units_reassigned"] == 2 and done["incidents_moved"] == 1
    assert done["households_moved"] == 2 * PER_UNIT
    assert _open_rows(conn) == [(units["3"], B), (units["4"], B)]
    assert grid_of_unit(conn, units["3"]) == B and grid_of_unit(conn, units["2"]) == A
    assert households_of(conn, A) == 220 and households_of(conn, B) == 220
    grid = conn.execute(text("SELECT grid_id FROM incidents WHERE id = :i"), {"i": at_unit4.id})
    assert (
        grid.scalar_one()
        == conn.execute(text("SELECT id FROM current_grids WHERE code = :c"), {"c": B}).scalar_one()
    )
    # workload counts by the rule
    rows_w = workload_report(conn, city, parent=C, default_standard=300)
    loads = {w.code: w.households for w in rows_w}
    assert loads[A] == 220 and loads[B] == 220
    # a full reassignment keeps the units where the plan put them
    again = assign_households(conn)
    assert again.changed == 0 and grid_of_unit(conn, units["4"]) == B
    # revert: the units go back, their rows closed by the revert's change
    back = revert_change(conn, city, done["change_id"], "planner1", "undo the split", snap_m=0.5)
    assert back["units_reassigned"] == 2
    assert _open_rows(conn) == [] and grid_of_unit(conn, units["4"]) == A
    closed = conn.execute(
        text("SELECT count(*) FROM unit_grids WHERE closed_change_id = :c"),
        {"c": back["change_id"]},
    ).scalar_one()
    assert closed == 2


def test_a_report_at_a_unit_lands_in_the_unit_grid(conn: Connection, city: Hierarchy) -> None:
    add_tower(conn, A)
    _commit(conn, city, _planned(conn, city))
    admin = Account(0, "admin", "admin", ())
    now = datetime.now(UTC)
    # the GPS fix is in E, across the street: the building and its unit decide
    for unit, grid in (("1", A), ("4", B), (None, A)):
        done = report_incident(
            conn, Report(lon=120.001, lat=36.0015, category="sanitation", building=TOWER, unit=unit),
            account=admin, now=now, snap_m=200,
        )  # fmt: skip
        assert done.incident is not None and done.incident["grid"] == grid, unit
    plain = report_incident(
        conn, Report(lon=120.001, lat=36.0015, category="sanitation"), account=admin, now=now,
        snap_m=200,
    )  # fmt: skip
    assert plain.incident is not None and plain.incident["grid"] == E
    with pytest.raises(InvalidInput, match="has no unit '9'; its units are: 1, 2, 3, 4"):
        report_incident(
            conn, Report(lon=120.001, lat=36.0015, category="sanitation", building=TOWER, unit="9"),
            account=admin, now=now, snap_m=200,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="no building has the code 'nope'"):
        report_incident(
            conn, Report(lon=120.001, lat=36.0015, category="sanitation", building="nope"),
            account=admin, now=now, snap_m=200,
        )  # fmt: skip


def _planned(conn: Connection, city: Hierarchy) -> int:
    pid = new_plan(conn)
    edit(conn, city, pid, MOVE)
    return pid


def test_bad_unit_moves_are_refused_and_undone(conn: Connection, city: Hierarchy) -> None:
    add_tower(conn, A)
    pid = new_plan(conn)
    with pytest.raises(InvalidInput, match="building T-3 has no unit 7; its units are: 1, 2, 3, 4"):
        edit(conn, city, pid, MOVE | {"units": ["3", "7"]})
    with pytest.raises(InvalidInput, match="no building has the code 'X'"):
        edit(conn, city, pid, MOVE | {"building": "X"})
    with pytest.raises(InvalidInput, match="is the plan's area itself"):
        edit(conn, city, pid, MOVE | {"grid": C})
    with pytest.raises(InvalidInput, match="'units' must be a non-empty list"):
        edit(conn, city, pid, MOVE | {"units": []})
    edit(conn, city, pid, MOVE)
    edit(conn, city, pid, MOVE | {"units": ["4"], "grid": E})
    assert conn.execute(
        text("SELECT grid_code FROM plan_units WHERE plan_id = :p ORDER BY unit_id"), {"p": pid}
    ).scalars().all() == [B, E]
    undo_edit(conn, city, pid, "planner1", snap_m=0.5)
    assert conn.execute(
        text("SELECT grid_code FROM plan_units WHERE plan_id = :p ORDER BY unit_id"), {"p": pid}
    ).scalars().all() == [B, B]
    undo_edit(conn, city, pid, "planner1", snap_m=0.5)
    assert not conn.execute(
        text("SELECT count(*) FROM plan_units WHERE plan_id = :p"), {"p": pid}
    ).scalar_one()
    with pytest.raises(InvalidInput, match="changes nothing"):
        _commit(conn, city, pid)


def test_revert_refuses_when_a_unit_moved_again(conn: Connection, city: Hierarchy) -> None:
    add_tower(conn, A)
    first = _commit(conn, city, _planned(conn, city))
    pid = new_plan(conn)
    edit(conn, city, pid, MOVE | {"grid": E})
    _commit(conn, city, pid)
    with pytest.raises(Conflict, match="was assigned again after change"):
        revert_change(conn, city, first["change_id"], "planner1", "undo", snap_m=0.5)
