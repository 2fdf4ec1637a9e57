"""Issue 16: the editor said 'split grid … into …' in English; the summaries come back as parts."""

from boundaries.plans.summaries import summary_parts


def test_each_handlers_summary_has_parts():
    assert summary_parts("split grid 1001 into 1001, 1006") == {
        "kind": "split", "code": "1001", "codes": ["1001", "1006"]
    }  # fmt: skip
    assert summary_parts("merged 1001, 1002 into 1001") == {
        "kind": "merge", "codes": ["1001", "1002"], "code": "1001"
    }  # fmt: skip
    assert summary_parts("redrew grid 7 (1.25 ha); neighbours 8, 9 adjusted") == {
        "kind": "redraw", "code": "7", "ha": "1.25", "neighbours": ["8", "9"]
    }  # fmt: skip
    assert summary_parts("created grid 9 和平社区 新网格 009")["name"] == "和平社区 新网格 009"  # type: ignore[index]
    assert summary_parts("renamed grid 7 from 甲 to 乙 丙") == {
        "kind": "rename", "code": "7", "old": "甲", "name": "乙 丙"
    }  # fmt: skip
    assert summary_parts("set the workers of grid 7 to 3")["workers"] == "3"  # type: ignore[index]
    assert summary_parts("proposal of 7 grids for 3707 (balance)")["kind"] == "proposal"  # type: ignore[index]
    assert summary_parts("something a person wrote") is None


def test_move_units_summary_parts() -> None:
    got = summary_parts(
        "move units 3, 4 of building 幸福小区3号楼 (XF-3) to grid 370705001001002: 120 households"
    )
    assert got == {"kind": "move_units", "codes": ["3", "4"], "name": "幸福小区3号楼",
                   "building": "XF-3", "code": "370705001001002", "n": "120"}  # fmt: skip
    one = summary_parts("move unit 2 of building T-3 (T-3) to grid 9: 2 households")
    assert one is not None and one["codes"] == ["2"]
