"""The Chinese address parser (gridgeo/buildings/address.py) over many forms."""

from __future__ import annotations

import pytest

from gridgeo.buildings.address import Address, Unparsed, cn_number, floor_of_room, parse_address

A = Address


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("幸福小区3号楼2单元501室", A("幸福小区", "3", "2", 5, "501")),
        ("3栋2单元502", A(None, "3", "2", 5, "502")),
        ("3-2-502", A(None, "3", "2", 5, "502")),
        ("3幢2单元502室", A(None, "3", "2", 5, "502")),
        ("3座2单元502号", A(None, "3", "2", 5, "502")),
        ("3#楼2单元1203", A(None, "3", "2", 12, "1203")),
        ("3#2单元1203室", A(None, "3", "2", 12, "1203")),
        ("３号楼２单元５０１室", A(None, "3", "2", 5, "501")),  # full-width
        ("3 号楼 2 单元 501 室", A(None, "3", "2", 5, "501")),
        ("三号楼二单元501室", A(None, "3", "2", 5, "501")),
        ("十二号楼三单元1102", A(None, "12", "3", 11, "1102")),
        ("二十一栋一单元301", A(None, "21", "1", 3, "301")),
        ("3号楼2单元5楼501", A(None, "3", "2", 5, "501")),
        ("3号楼2单元5层", A(None, "3", "2", 5, None)),
        ("3号楼2单元", A(None, "3", "2", None, None)),
        ("3号楼", A(None, "3", None, None, None)),
        ("槐荫里12号", A("槐荫里", "12", None, None, None)),
        ("3号楼501室", A(None, "3", None, 5, "501")),
        ("3－2－502", A(None, "3", "2", 5, "502")),  # full-width dashes
        ("3—2—502", A(None, "3", "2", 5, "502")),
        ("12-1-1502室", A(None, "12", "1", 15, "1502")),
        ("3栋-2-502", A(None, "3", "2", 5, "502")),
        ("幸福小区3-2-502", A("幸福小区", "3", "2", 5, "502")),
        ("奎文区东关街道和平社区槐荫小区3号楼2单元501室", A("槐荫小区", "3", "2", 5, "501")),
        ("山东省潍坊市奎文区幸福花园3栋1单元101", A("幸福花园", "3", "1", 1, "101")),
        ("和平社区幸福家园B座2单元502", A("幸福家园", "B", "2", 5, "502")),
        ("阳光100小区A3栋1单元1001", A("阳光100小区", "A3", "1", 10, "1001")),
        ("金宝苑5号楼3单元201户", A("金宝苑", "5", "3", 2, "201")),
        ("东关街道北海小区7栋1单元102", A("北海小区", "7", "1", 1, "102")),
        ("清池镇王家村5号", A(None, "5", None, None, None)),
    ],
)
def test_forms(text: str, want: Address) -> None:
    assert parse_address(text) == want


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("幸福小区", "no building number"),
        ("胜利街与新华路交叉口东北角", "no building number"),
        ("3号楼2单元501室旁边的车棚", "not of the form"),
        ("3-2", "not of the form"),
    ],
)
def test_unparsed_say_why(text: str, why: str) -> None:
    got = parse_address(text)
    assert isinstance(got, Unparsed) and why in got.reason and got.reason_zh


def test_numbers_and_floors() -> None:
    assert [cn_number(t) for t in ("7", "十", "十二", "二十", "二十一", "一百零五")] == [
        7, 10, 12, 20, 21, 105
    ]  # fmt: skip
    assert floor_of_room("501") == 5 and floor_of_room("1203") == 12
    assert floor_of_room("01") is None and floor_of_room("A01") is None
