"""Numbers as the map pages show them (gridmap.js says the same in the browser).

Thousands separated (``31,799``), a deviation signed with one decimal, and one that rounds to
zero shown as ``0.0 %``, never ``-0.0 %``.
"""

from __future__ import annotations


def count(n: float | None, digits: int = 0) -> str:
    """``n`` with thousands separators and ``digits`` decimals; ``–`` for none."""
    return "–" if n is None else f"{n:,.{digits}f}"


def percent(deviation: float | None) -> str:
    """A deviation (0.053 → ``+5.3 %``); ``–`` for none."""
    if deviation is None:
        return "–"
    p = round(100 * deviation, 1)
    if p == 0:
        return "0.0 %"
    return f"{p:+,.1f} %"
