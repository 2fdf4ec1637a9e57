"""Chinese names, codes and addresses of the demo city (Kuiwen district 奎文区, Weifang).

The street (街道) names are those of Kuiwen's sub-districts; the road, river and community
names are typical of Weifang but the map they are attached to is synthetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# (code, name) of every street, of every community and of every grid.
Labels = tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]

DISTRICT_CODE = "370705"
DISTRICT_NAME = "奎文区"

STREET_NAMES = (
    "东关街道",
    "大虞街道",
    "梨园街道",
    "广文街道",
    "廿里堡街道",
    "潍州路街道",
    "北苑街道",
    "清池街道",
)

# Two-character stems of community names (社区); at least 65 distinct ones.
COMMUNITY_STEMS = (
    "和平", "幸福", "胜利", "向阳", "民主", "友谊", "光明", "建设", "东风", "文化",
    "新华", "花园", "健康", "安居", "康乐", "福寿", "春晖", "丽景", "锦绣", "怡园",
    "金宝", "玉清", "鸢飞", "白浪", "樱园", "桃源", "杏林", "松园", "竹园", "梅园",
    "兰苑", "荷花", "月河", "北海", "南苑", "东苑", "西苑", "中和", "青年", "育英",
    "文华", "永安", "长松", "福乐", "宝通", "奎星", "北宫", "鸿福", "仁和", "德润",
    "瑞祥", "嘉禾", "恒信", "泰华", "金马", "凤凰", "翠园", "绿洲", "清平", "庆丰",
    "华安", "宏远", "东明", "西关", "南关", "十笏", "芙蓉", "潍阳",
)  # fmt: skip

# Main roads: north-south ones are 路, east-west ones are 街 (the Weifang convention).
NORTH_SOUTH_ROADS = ("北海路", "虞河路", "新华路", "潍州路", "鸢飞路", "四平路", "东方路")
EAST_WEST_ROADS = ("北宫街", "福寿街", "胜利街", "东风街", "健康街", "民生街", "宝通街")
RIVERS = ("白浪河", "虞河")

LANE_STEMS = (
    "槐荫", "柳荫", "榆林", "桑园", "枣园", "石榴", "丁香", "海棠", "紫薇", "银杏",
    "梧桐", "月季", "杨柳", "青松", "翠竹", "红梅", "秋菊", "春兰", "夏荷", "冬青",
)  # fmt: skip


def street_name(index: int) -> str:
    """The name of the ``index``-th street (0-based)."""
    return STREET_NAMES[index % len(STREET_NAMES)]


def community_name(index: int) -> str:
    """The name of the ``index``-th community (0-based), e.g. ``和平社区``."""
    stem = COMMUNITY_STEMS[index % len(COMMUNITY_STEMS)]
    rounds = index // len(COMMUNITY_STEMS)
    return f"{stem}{'' if rounds == 0 else rounds + 1}社区"


def grid_name(community: str, number: int) -> str:
    """The name of grid ``number`` (1-based) of a community, e.g. ``和平社区第3网格``."""
    return f"{community}第{number}网格"


def lane_name(index: int) -> str:
    """The name of the ``index``-th minor street (0-based), e.g. ``槐荫巷`` or ``槐荫2巷``."""
    stem = LANE_STEMS[index % len(LANE_STEMS)]
    rounds = index // len(LANE_STEMS)
    return f"{stem}{'' if rounds == 0 else rounds + 1}巷"


COMPOUND_SUFFIXES = ("小区", "花园", "家园", "苑", "新村", "公寓")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
         "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "建国", "文", "红", "玉兰",
         "海燕", "志强", "丹", "萍", "鹏", "辉", "玲", "斌", "宁", "雪", "琳", "浩", "晓东")  # fmt: skip


def compound_name(index: int, style: str) -> str:
    """The compound (小区) of the ``index``-th grid; an old-lane grid is named for its lane."""
    stem = LANE_STEMS[index % len(LANE_STEMS)]
    rounds = index // len(LANE_STEMS)
    if style == "old":
        return f"{stem}{'' if rounds == 0 else rounds + 1}里"
    return f"{stem}{COMPOUND_SUFFIXES[rounds % len(COMPOUND_SUFFIXES)]}"


def person_names(n: int, seed: int) -> list[str]:
    """``n`` Chinese names (deterministic), for the demo's heads of buildings and units."""
    pairs = [s + g for s in SURNAMES for g in GIVEN]
    order = np.random.default_rng(seed).permutation(len(pairs))
    return [pairs[int(order[i % len(pairs)])] for i in range(n)]


def address(street: str, community: str, number: int, compound: str = "") -> str:
    """A building address, e.g. ``奎文区东关街道和平社区槐荫小区12号楼``."""
    return f"{DISTRICT_NAME}{street}{community}{compound}{number}号楼"


def label_areas(community_street: Sequence[int], grid_community: Sequence[int]) -> Labels:
    """Codes and names of the streets, communities and grids (children numbered from 001).

    Args:
        community_street: the street index of each community.
        grid_community: the community index of each grid.

    Returns:
        ``(code, name)`` lists for the streets, the communities and the grids.
    """
    streets = [
        (f"{DISTRICT_CODE}{s + 1:03d}", street_name(s)) for s in range(max(community_street) + 1)
    ]
    communities = [
        (f"{streets[s][0]}{n:03d}", community_name(c))
        for c, (s, n) in enumerate(zip(community_street, _ranks(community_street), strict=True))
    ]
    grids = [
        (f"{communities[c][0]}{n:03d}", grid_name(communities[c][1], n))
        for c, n in zip(grid_community, _ranks(grid_community), strict=True)
    ]
    return streets, communities, grids


def addresses(
    street_of: Iterable[int],
    community_of: Sequence[int],
    labels: Labels,
    compounds: Sequence[str] | None = None,
    numbers: Sequence[int] | None = None,
) -> list[str]:
    """The address of each building.

    In its compound by its number when given, else numbered building by building within its
    community.
    """
    streets, communities, _ = labels
    nums = list(numbers) if numbers is not None else _ranks(community_of)
    comps = list(compounds) if compounds is not None else [""] * len(nums)
    return [
        address(streets[s][1], communities[c][1], n, k)
        for s, c, n, k in zip(street_of, community_of, nums, comps, strict=True)
    ]


def _ranks(parents: Sequence[int]) -> list[int]:
    """1-based position of each item among the items with the same parent."""
    seen: dict[int, int] = {}
    out = []
    for p in parents:
        seen[p] = seen.get(p, 0) + 1
        out.append(seen[p])
    return out
