"""Every sentence the balancer says, in Chinese and English, in one place.

The balancing core returns what it has to say as :class:`Said` (a key and its values), never
as finished text; the answer is worded here, in the caller's language (:func:`say`), with
both languages beside it (:func:`both`) so that a page can switch without asking again.
Plan titles (:func:`plan_title`) come from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


@dataclass(frozen=True)
class Said:
    """Something the balancer says: a key of :data:`TEXT` and the values it names."""

    key: str
    values: tuple[tuple[str, Any], ...]

    def __init__(self, key: str, **values: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "values", tuple(values.items()))

    def __getitem__(self, name: str) -> Any:
        return dict(self.values)[name]

    def __contains__(self, text: object) -> bool:
        """``"islands" in said``: a word of its English sentence (as the old strings allowed)."""
        return isinstance(text, str) and text in say(self, "en")

    def __str__(self) -> str:
        return say(self, "en")


# key: (English, Chinese). Values are formatted with str.format; {band} etc. are fractions.
TEXT: dict[str, tuple[str, str]] = {
    "k_more_than_atoms": (
        "k={k} is more than the {n} indivisible units (buildings): one grid each",
        "网格数 {k} 多于 {n} 个不可再分的单元（楼栋）：每个单元一个网格",
    ),
    "islands_raise_k": (
        "the area has more separate pieces (islands) than grids: k raised",
        "区域内互不相连的片块（飞地）多于网格数：网格数已增加",
    ),
    "k_lowered": (
        "{left} grid(s) cannot be placed: too few units; k lowered",
        "{left} 个网格无法安排：单元太少，网格数已减少",
    ),
    "cut_off_join_big": (
        "{n} units cut off by big buildings join a big building's grid",
        "{n} 个被大楼隔开的单元并入一栋大楼的网格",
    ),
    "big_atoms_own_grid": (
        "{n} building(s) hold more households than the band allows (> {hi:.0f}): each is a "
        "grid of its own (unavoidable deviation)",
        "{n} 栋楼的户数超过允许范围（> {hi:.0f} 户）：各自单独成为一个网格（偏差无法避免）",
    ),
    "only_connected": (
        "only {got} connected grids could be formed, not {k}",
        "只能划出 {got} 个连通的网格，而不是 {k} 个",
    ),
    "tree_out_of_band": (
        "the tree method's best partition has a worst deviation of {dev:.1%}, outside the band "
        "±{band:.0%}",
        "树方法的最佳划分最大偏差为 {dev:.1%}，超出 ±{band:.0%} 的范围",
    ),
    "share_vs_standard": (
        "the equal share {share:.0f} is outside ±{band:.0%} of the standard {standard}",
        "平均每格 {share:.0f} 户，偏离标准 {standard} 户超过 ±{band:.0%}",
    ),
    "more_grids_than_atoms": (
        "proved impossible: {k} grids but only {n} indivisible atoms",
        "已证明不可行：需要 {k} 个网格，但只有 {n} 个不可再分的单元",
    ),
    "empty_band": (
        "proved impossible: no whole number of households lies in {lo}–{hi}",
        "已证明不可行：{lo}–{hi} 户之间没有整数户数",
    ),
    "unavoidable_atom": (
        "proved impossible: {atom} holds {households} households > {hi}, the most a grid may "
        "hold, and it cannot be split",
        "已证明不可行：{atom} 有 {households} 户，超过每格上限 {hi} 户，且不可再分",
    ),
    "piece_fits_no_grids": (
        "proved impossible: a piece of {atoms} atoms cut off from the rest (from {first}) holds "
        "{households} households, which no whole number of grids of {lo}–{hi} can hold",
        "已证明不可行：与其余部分隔开的一片（{atoms} 个单元，自 {first} 起）有 {households} 户，"
        "无法分成整数个 {lo}–{hi} 户的网格",
    ),
    "pieces_need_other_k": (
        "proved impossible: the separate pieces need between {low} and {high} grids of "
        "{lo}–{hi} households, not {k}",
        "已证明不可行：各互不相连的片块共需 {low}–{high} 个 {lo}–{hi} 户的网格，而不是 {k} 个",
    ),
    "exact_found": (
        "CP-SAT found a partition of the {n} atoms into {k} grids, every grid within the band "
        "({s} s)",
        "CP-SAT 在 {s} 秒内找到把 {n} 个单元分为 {k} 个网格的方案，每个网格都在范围内",
    ),
    "exact_repaired": (
        "CP-SAT re-partitioned the grids around those out of the band: every grid of the {n} "
        "atoms is now within the band ({s} s)",
        "CP-SAT 重新划分了超出范围的网格及其相邻网格：{n} 个单元分成的每个网格都在范围内（{s} 秒）",
    ),
    "exact_proved": (
        "CP-SAT proved in {s} s that no partition of these {n} atoms into {k} contiguous grids "
        "of {lo}–{hi} households exists",
        "CP-SAT 用 {s} 秒证明：这 {n} 个单元无法分成 {k} 个连通且每格 {lo}–{hi} 户的网格",
    ),
    "exact_time_limit": (
        "unknown: CP-SAT ran out of its time limit ({limit:.1f} s of solver time) on {n} atoms "
        "into {k} grids without finding a partition within the band or a proof that none exists",
        "未知：CP-SAT 在时限内（求解时间 {limit:.1f} 秒；{n} 个单元、{k} 个网格）既未找到范围内的方案，"
        "也未能证明不存在",
    ),
    "split_building": (
        "{building} {units} → grid {grid}",
        "{building} {units_zh} → 网格 {grid}",
    ),
    "plan_title": (
        "balance {area} into {n} grids",
        "{area} 平衡划分为 {n} 个网格",
    ),
}

STATUS: dict[str, tuple[str, str]] = {
    "within_band": ("within the band", "均在范围内"),
    "infeasible": ("proved impossible", "已证明不可行"),
    "time_limit": ("time limit", "超出时限"),
    "out_of_band": ("outside the band", "超出范围"),
}
METHOD: dict[str, tuple[str, str]] = {"tree": ("tree", "树方法"), "exact": ("exact", "精确方法")}


def say(said: Said, lang: str = "en") -> str:
    """The sentence in ``lang`` (``zh`` or ``en``; anything else: English)."""
    en, zh = TEXT[said.key]
    return (zh if lang == "zh" else en).format(**dict(said.values))


def both(said: Said) -> dict[str, str]:
    """The sentence in both languages, with its key: ``{"key", "en", "zh"}``."""
    return {"key": said.key, "en": say(said, "en"), "zh": say(said, "zh")}


def word(table: dict[str, tuple[str, str]], key: str, lang: str = "en") -> str:
    """A status or method word in ``lang``."""
    en, zh = table[key]
    return zh if lang == "zh" else en


def plan_title(area: str, grids: int, lang: str = "en") -> str:
    """The default title of a plan opened from a proposal."""
    return say(Said("plan_title", area=area, n=grids), lang)


def pick_lang(value: str | None) -> Lang:
    """``zh`` or ``en`` from a ``lang`` value or an Accept-Language header (default ``zh``)."""
    if not value:
        return "zh"
    first = value.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"
