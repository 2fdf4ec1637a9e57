"""Plans against a real PostGIS: every edit op, every topology check, commit, conflict, revert."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from sqlalchemy import Connection, text

from boundaries.plans.commit import commit_plan, revert_change
from boundaries.plans.drafts import load_draft
from boundaries.plans.edits import undo_edit
from boundaries.plans.proposals import plan_from_proposal
from boundaries.plans.records import discard_plan, list_edits, open_plan
from gridgeo.errors import Conflict, InvalidInput, NotFound
from gridgeo.levels import Hierarchy, load_hierarchy
from tests.plan_city import X0, Y0, A, B, C, E, F, H, W, add_plan_city, box, households_of, polygon
from tests.plan_ops import NEW, check, edit, geom_of, kinds, line, new_plan, vertical_split


@pytest.fixture
def city(conn: Connection) -> Hierarchy:
    add_plan_city(conn)
    return load_hierarchy(conn)


# ---------------------------------------------------------------- opening


def test_open_needs_an_area_with_children_and_a_title(conn: Connection, city: Hierarchy) -> None:
    with pytest.raises(NotFound, match="no grid has the code '370705999'"):
        open_plan(conn, "370705999", "x", "p")
    with pytest.raises(InvalidInput, match="has no grids below it"):
        open_plan(conn, A, "x", "p")
    with pytest.raises(InvalidInput, match="needs a title"):
        open_plan(conn, C, "  ", "p")


# ---------------------------------------------------------------- split, preview, commit


def test_split_previews_moves_and_commits_versions_and_households(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    result, draft = edit(conn, city, pid, vertical_split(A))
    assert result.changed == (A, NEW)
    assert draft.grids[NEW].state == "created" and draft.grids[A].state == "changed"
    # nothing live changed yet
    assert households_of(conn, A) == 100
    out = check(conn, city, pid)
    assert out["ok"] and out["problems"] == []
    imp = out["impact"]
    (move,) = imp["moves"]
    assert move | {"from_point": None, "to_point": None} == {
        "from": A, "to": NEW, "households": 50, "points": 2, "from_point": None, "to_point": None
    }  # fmt: skip
    # the arrow's ends: points inside the grid before (stored) and after (the draft)
    before = shapely.from_wkb(draft.grids[A].stored[4])  # type: ignore[index]
    assert before.contains(shapely.Point(move["from_point"]))
    assert draft.grids[NEW].geom.contains(shapely.Point(move["to_point"]))
    rows = {g["code"]: g for g in imp["grids"]}
    assert rows[A]["households_before"] == 100 and rows[A]["households_after"] == 50
    assert rows[NEW]["status_after"] == "unstaffed" and rows[NEW]["workers_needed_after"] == 1

    done = commit_plan(conn, city, pid, "planner1", "A has grown: split it", snap_m=0.5)
    assert done["plan"]["status"] == "committed" and done["grids"] == [A, NEW]
    assert households_of(conn, A) == 50 and households_of(conn, NEW) == 50
    assert done["households_considered"] == 4  # only A's points were re-evaluated
    hist = conn.execute(
        text(
            "SELECT v.version, v.valid_to IS NULL, c.message, c.kind FROM grid_versions v "
            "LEFT JOIN changes c ON c.id = v.change_id WHERE v.code = :c ORDER BY v.version"
        ),
        {"c": A},
    ).all()
    assert [(v, cur) for v, cur, _, _ in hist] == [(1, False), (2, True)]
    assert hist[1][2:] == ("A has grown: split it", "plan")
    assert abs(geom_of(conn, A).area + geom_of(conn, NEW).area - W * H) < 1e-15


def test_commit_needs_a_message_and_an_open_nonempty_plan(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    with pytest.raises(InvalidInput, match="changes nothing"):
        commit_plan(conn, city, pid, "p", "why", snap_m=0.5)
    edit(conn, city, pid, vertical_split(A))
    with pytest.raises(InvalidInput, match="needs a message"):
        commit_plan(conn, city, pid, "p", " ", snap_m=0.5)
    commit_plan(conn, city, pid, "p", "why", snap_m=0.5)
    with pytest.raises(Conflict, match="is committed"):
        commit_plan(conn, city, pid, "p", "again", snap_m=0.5)
    with pytest.raises(Conflict, match="is committed"):
        edit(conn, city, pid, vertical_split(B))


def test_split_line_that_does_not_cross_is_refused_and_the_plan_keeps_its_state(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    x0, y0, x1, y1 = box(A)
    short = {"op": "split", "code": A, "line": line((x0 + 2e-4, y0 + 2e-4), (x0 + 5e-4, y0 + 5e-4))}
    with conn.begin_nested() as sp:
        with pytest.raises(InvalidInput, match=f"grid {A}: the split line does not cross"):
            edit(conn, city, pid, short)
        sp.rollback()
    away = {"op": "split", "code": A, "line": line((x1 + 1e-3, y0), (x1 + 1e-3, y1))}
    with pytest.raises(InvalidInput, match="lies wholly outside it"):
        edit(conn, city, pid, away)
    assert list_edits(conn, pid) == []


def test_split_with_given_codes_checks_them(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    e = vertical_split(A) | {"codes": ["37070500100109"]}
    with pytest.raises(InvalidInput, match="has 14 digits"):
        edit(conn, city, pid, e)
    with pytest.raises(InvalidInput, match="already used by grid"):
        edit(conn, city, pid, vertical_split(A) | {"codes": [B]})
    result, draft = edit(
        conn, city, pid, vertical_split(A) | {"codes": [C + "020"], "names": ["新苑"]}
    )
    assert draft.grids[C + "020"].name == "新苑"


# ---------------------------------------------------------------- merge


def test_merge_adjacent_siblings_sums_workers_and_retires_the_others(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    _, draft = edit(conn, city, pid, {"op": "merge", "codes": [A, B], "name": "南片"})
    assert draft.grids[A].workers == 2 and draft.grids[A].name == "南片"
    assert [g.code for g in draft.retired] == [B]
    assert check(conn, city, pid)["ok"]
    commit_plan(conn, city, pid, "p", "merge the south", snap_m=0.5)
    assert households_of(conn, A) == 200
    assert conn.execute(
        text("SELECT valid_to IS NOT NULL FROM grids WHERE code = :c"), {"c": B}
    ).scalar()


def test_merge_refuses_grids_that_only_touch_at_a_corner(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    with pytest.raises(InvalidInput, match=f"grids {A} and {F} are not adjacent"):
        edit(conn, city, pid, {"op": "merge", "codes": [A, F]})
    with pytest.raises(InvalidInput, match="two or more different grids"):
        edit(conn, city, pid, {"op": "merge", "codes": [A]})


# ---------------------------------------------------------------- shared boundaries


def test_move_boundary_changes_both_sides_with_no_gap_or_overlap(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    x = X0 + W * 1.3  # A grows east into B by 30 % of a grid
    e = {"op": "move_boundary", "codes": [A, B], "line": line((x, Y0 - 1e-4), (x, Y0 + H + 1e-4))}
    _, draft = edit(conn, city, pid, e)
    a, b = draft.grids[A].geom, draft.grids[B].geom
    assert a.intersection(b).area == 0
    assert abs(a.union(b).area - 2 * W * H) < 1e-15
    out = check(conn, city, pid)
    assert out["ok"], out["problems"]
    moves = [
        {k: m[k] for k in ("from", "to", "households", "points")} for m in out["impact"]["moves"]
    ]
    assert moves == [{"from": B, "to": A, "households": 50, "points": 2}]


def test_move_boundary_needs_neighbours(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    e = {"op": "move_boundary", "codes": [A, F], "line": line((X0, Y0), (X0 + W, Y0 + H))}
    with pytest.raises(InvalidInput, match="are not neighbours"):
        edit(conn, city, pid, e)


def test_transfer_moves_a_piece_to_the_neighbour(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    x0, y0, x1, y1 = box(A)
    piece = polygon(x0 + W / 2, y0 - 1e-4, x1 + 1e-5, y1 + 1e-4)
    _, draft = edit(conn, city, pid, {"op": "transfer", "from": A, "to": B, "geometry": piece})
    assert abs(draft.grids[A].geom.area - W * H / 2) < 1e-12
    assert check(conn, city, pid)["ok"]
    far = polygon(x0, y0, x0 + W / 4, y1)  # the west quarter of A does not touch B
    with pytest.raises(InvalidInput, match=f"does not touch it, so {B}"):
        edit(conn, city, pid, {"op": "transfer", "from": A, "to": B, "geometry": far})


# ---------------------------------------------------------------- replace: neighbours, topology


def _grown_a() -> dict[str, Any]:
    x0, y0, x1, y1 = box(A)
    return polygon(x0, y0, x1 + W / 4, y1)  # reaches a quarter into B


def test_replace_keep_reports_the_overlap_with_area_and_place_and_blocks_commit(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "replace", "code": A, "geometry": _grown_a()})
    out = check(conn, city, pid)
    assert not out["ok"] and kinds(out) == {"overlap"}
    p = next(p for p in out["problems"] if p["kind"] == "overlap")
    assert 4000 < p["area_m2"] < 6000  # a quarter grid: 45 m × 111 m
    assert X0 + W < p["location"][0] < X0 + W * 1.25 and p["geometry"]["type"] == "Polygon"
    with pytest.raises(InvalidInput, match="topology error") as err:
        commit_plan(conn, city, pid, "p", "overlapping", snap_m=0.5)
    assert err.value.detail["problems"][0]["kind"] == "overlap"


def test_replace_yield_takes_the_area_from_neighbours(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    e = {"op": "replace", "code": A, "geometry": _grown_a(), "neighbours": "yield"}
    result, draft = edit(conn, city, pid, e)
    assert result.changed == (A, B)
    assert abs(draft.grids[B].geom.area - W * H * 0.75) < 1e-12
    assert check(conn, city, pid)["ok"]


def test_replace_shrinking_leaves_a_gap_unless_neighbours_follow(
    conn: Connection, city: Hierarchy
) -> None:
    x0, y0, x1, y1 = box(A)
    small = polygon(x0, y0, x1 - W / 4, y1)
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "replace", "code": A, "geometry": small})
    out = check(conn, city, pid)
    assert kinds(out) == {"gap"}
    gap = next(p for p in out["problems"] if p["kind"] == "gap")
    assert gap["code"] == C and 4000 < gap["area_m2"] < 6000
    other = new_plan(conn)
    e = {"op": "replace", "code": A, "geometry": small, "neighbours": "follow"}
    result, draft = edit(conn, city, other, e)
    assert B in result.changed
    assert check(conn, city, other)["ok"]


def test_outside_parent_and_multipart_are_errors(conn: Connection, city: Hierarchy) -> None:
    x0, y0, x1, y1 = box(A)
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "replace", "code": A, "geometry": polygon(x0 - W / 4, y0, x1, y1)})
    assert "outside_parent" in kinds(check(conn, city, pid))
    two = {
        "type": "MultiPolygon",
        "coordinates": [
            polygon(x0, y0, x0 + W / 3, y1)["coordinates"],
            polygon(x1 - W / 3, y0, x1, y1)["coordinates"],
        ],
    }
    other = new_plan(conn)
    edit(conn, city, other, {"op": "replace", "code": A, "geometry": two})
    assert {"multipart", "gap"} <= kinds(check(conn, city, other))


def test_snapping_closes_a_hairline_gap_to_the_neighbour(conn: Connection, city: Hierarchy) -> None:
    x0, y0, x1, y1 = box(A)
    off = 0.2 / 111_320  # 20 cm short of B's edge
    pid = new_plan(conn)
    _, draft = edit(
        conn, city, pid, {"op": "replace", "code": A, "geometry": polygon(x0, y0, x1 - off, y1)}
    )
    assert draft.grids[A].geom.bounds[2] == pytest.approx(x1, abs=1e-12)
    assert check(conn, city, pid)["problems"] == []


# ---------------------------------------------------------------- other ops, undo, discard


def test_create_retire_rename_recode_workers(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "rename", "code": A, "name": "和平苑"})
    edit(conn, city, pid, {"op": "workers", "code": A, "workers": 3})
    edit(conn, city, pid, {"op": "recode", "code": B, "new_code": C + "009"})
    with pytest.raises(InvalidInput, match="must contain digits only"):
        edit(conn, city, pid, {"op": "recode", "code": E, "new_code": C + "0x9"})
    edit(conn, city, pid, {"op": "merge", "codes": [E, F]})
    x0, y0, x1, y1 = box(E)
    # carve a new grid out of the merged north half, neighbours giving way
    e = {
        "op": "create",
        "parent_code": C,
        "name": "新建网格",
        "workers": 1,
        "geometry": polygon(x0, y0, x0 + W / 2, y1),
        "neighbours": "yield",
    }
    result, draft = edit(conn, city, pid, e)
    made = result.changed[0]
    assert draft.grids[made].state == "created" and made.startswith(C)
    out = check(conn, city, pid)
    assert out["ok"], out["problems"]
    commit_plan(conn, city, pid, "p", "reorganise", snap_m=0.5)
    row = conn.execute(
        text("SELECT name, workers FROM grids WHERE code = :c AND valid_to IS NULL"), {"c": A}
    ).one()
    assert tuple(row) == ("和平苑", 3)
    assert households_of(conn, C + "009") == 100
    assert households_of(conn, made) == 50 and households_of(conn, E) == 150


def test_a_grid_with_children_cannot_be_retired_or_recoded(
    conn: Connection, city: Hierarchy
) -> None:
    from tests.plan_city import S

    pid = new_plan(conn, S)
    with pytest.raises(InvalidInput, match="still has 4 grids below it"):
        edit(conn, city, pid, {"op": "retire", "code": C})
    with pytest.raises(InvalidInput, match="has grids below it"):
        edit(conn, city, pid, {"op": "recode", "code": C, "new_code": S + "002"})


def test_retire_then_gap_is_an_error(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "retire", "code": F})
    out = check(conn, city, pid)
    assert kinds(out) == {"gap"}
    assert out["impact"]["unassigned_after"] == 0 or out["impact"]["moves"][0]["to"] != F


def test_undo_restores_the_previous_draft(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    edit(conn, city, pid, vertical_split(A))
    edit(conn, city, pid, {"op": "rename", "code": B, "name": "x"})
    _, draft = undo_edit(conn, city, pid, "p", snap_m=0.5)
    assert draft.grids[B].state == "unchanged" and NEW in draft.grids
    _, draft = undo_edit(conn, city, pid, "p", snap_m=0.5)
    assert not draft.touched()
    with pytest.raises(InvalidInput, match="no edits to undo"):
        undo_edit(conn, city, pid, "p", snap_m=0.5)
    discard_plan(conn, pid, "p")
    with pytest.raises(Conflict, match="is discarded"):
        edit(conn, city, pid, vertical_split(A))


# ---------------------------------------------------------------- conflicts and revert


def test_second_commit_on_the_same_grids_fails_with_409_and_applies_nothing(
    conn: Connection, city: Hierarchy
) -> None:
    first, second = new_plan(conn), new_plan(conn)
    edit(conn, city, first, vertical_split(A))
    edit(conn, city, second, {"op": "rename", "code": B, "name": "unrelated"})
    edit(conn, city, second, vertical_split(A, 0.3))
    commit_plan(conn, city, first, "p1", "first", snap_m=0.5)
    before = geom_of(conn, A).wkb
    with pytest.raises(Conflict) as err:
        commit_plan(conn, city, second, "p2", "second", snap_m=0.5)
    assert err.value.detail["grids"] == [A, NEW]  # A changed; NEW's code was taken meanwhile
    assert f"{NEW} was created by another commit" in err.value.message
    assert "by change" in err.value.message and "p1: first" in err.value.message
    assert geom_of(conn, A).wkb == before
    assert (
        conn.execute(text("SELECT name FROM grids WHERE code = :c"), {"c": B}).scalar()
        != "unrelated"
    )
    # touching a grid changed since the plan opened is refused at once
    with pytest.raises(Conflict, match=f"grid {A} was changed by change"):
        edit(conn, city, new_plan_opened_before(conn, first), vertical_split(A, 0.25))


def new_plan_opened_before(conn: Connection, plan_id: int) -> int:
    """A plan whose opening time is set before another plan's commit."""
    pid = new_plan(conn)
    conn.execute(
        text(
            "UPDATE plans SET opened_at = (SELECT opened_at FROM plans WHERE id = :o) WHERE id = :i"
        ),
        {"o": plan_id, "i": pid},
    )
    return pid


def test_revert_restores_the_grids_and_households_and_is_itself_a_change(
    conn: Connection, city: Hierarchy
) -> None:
    pid = new_plan(conn)
    edit(conn, city, pid, vertical_split(A))
    before = geom_of(conn, A).wkb
    done = commit_plan(conn, city, pid, "p", "split", snap_m=0.5)
    out = revert_change(conn, city, done["change_id"], "p", "the split was premature", snap_m=0.5)
    assert out["reverted"] == done["change_id"] and out["plan"]["source"] == "revert"
    assert geom_of(conn, A).wkb == before
    assert households_of(conn, A) == 100 and households_of(conn, NEW) == 0
    kinds_ = conn.execute(text("SELECT kind FROM changes ORDER BY id")).scalars().all()
    assert kinds_[-2:] == ["plan", "revert"]
    with pytest.raises(Conflict, match="changed again after change"):
        revert_change(conn, city, done["change_id"], "p", "twice", snap_m=0.5)
    # reverting the revert brings the split back
    again = revert_change(conn, city, out["change_id"], "p", "split after all", snap_m=0.5)
    assert households_of(conn, NEW) == 50 and again["plan"]["status"] == "committed"


def test_revert_of_a_merge_brings_the_retired_grid_back(conn: Connection, city: Hierarchy) -> None:
    pid = new_plan(conn)
    edit(conn, city, pid, {"op": "merge", "codes": [A, B]})
    done = commit_plan(conn, city, pid, "p", "merge", snap_m=0.5)
    revert_change(conn, city, done["change_id"], "p", "unmerge", snap_m=0.5)
    assert households_of(conn, A) == 100 and households_of(conn, B) == 100
    versions = conn.execute(
        text("SELECT count(*) FROM grid_versions WHERE code = :c"), {"c": B}
    ).scalar_one()
    assert versions == 2  # the original, and the one the revert brought back


def test_open_incidents_in_the_changed_area_follow_the_new_grid(
    conn: Connection, city: Hierarchy
) -> None:
    x0, y0, x1, y1 = box(A)
    conn.execute(
        text(
            "INSERT INTO incidents (location, grid_id, category, state) SELECT "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326), g.id, c.key, :s FROM grids g, "
            "(SELECT key FROM incident_categories LIMIT 1) c WHERE g.code = :code"
        ),
        [
            {"x": x1 - W / 8, "y": y0 + H / 2, "s": "dispatched", "code": A},
            {"x": x1 - W / 8, "y": y0 + H / 3, "s": "closed", "code": A},
        ],
    )
    pid = new_plan(conn)
    edit(conn, city, pid, vertical_split(A))
    imp = check(conn, city, pid)["impact"]
    assert [(i["from"], i["to"]) for i in imp["incidents"]] == [(A, NEW)]
    done = commit_plan(conn, city, pid, "p", "split", snap_m=0.5)
    assert done["incidents_moved"] == 1
    states = dict(
        conn.execute(
            text("SELECT i.state, g.code FROM incidents i JOIN grids g ON g.id = i.grid_id")
        ).all()
    )
    assert states == {"dispatched": NEW, "closed": A}  # closed incidents keep their grid


# ---------------------------------------------------------------- proposals


def test_plan_from_proposal_keeps_codes_by_overlap(conn: Connection, city: Hierarchy) -> None:
    south = shapely.box(X0, Y0, X0 + 2 * W, Y0 + H)
    north = shapely.box(X0, Y0 + H, X0 + 2 * W, Y0 + 2 * H)
    plan = plan_from_proposal(
        conn,
        city,
        C,
        "balance C",
        "p",
        [{"geometry": south, "workers": 1}, {"geometry": north, "workers": 1, "name": "北"}],
    )
    draft = load_draft(conn, city, int(plan["id"]), snap_m=0.5)
    assert sorted(draft.grids) in ([A, E], [A, F], [B, E], [B, F])
    assert len(draft.retired) == 2
    out = check(conn, city, int(plan["id"]))
    assert out["ok"], out["problems"]
    commit_plan(conn, city, int(plan["id"]), "p", "balance", snap_m=0.5)
    total = sum(households_of(conn, c) for c in draft.grids)
    assert total == 400


def test_create_without_a_code_in_a_street_plan_takes_the_next_free_code(
    conn: Connection, city: Hierarchy
) -> None:
    from tests.plan_city import S

    pid = new_plan(conn, S)
    x0, y0, x1, y1 = box(A)
    e = {"op": "create", "parent_code": C, "name": "新", "neighbours": "yield",
         "geometry": polygon(x0, y0, x0 + W / 2, y1)}  # fmt: skip
    result, draft = edit(conn, city, pid, e)
    assert result.changed[0] == NEW and draft.grids[NEW].parent_code == C
    assert check(conn, city, pid)["ok"]
    done = commit_plan(conn, city, pid, "p", "new grid", snap_m=0.5)
    assert done["households_moved"] == 50 and done["points_changed"] == 2
