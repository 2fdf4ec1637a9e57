"""An edit's summary (written in English by :mod:`boundaries.plans.edits`) read back into parts.

The planners' editor says each edit in the page's language from these parts (``kind`` and the
codes, names and figures); the stored English summary stays the record (and what the command
line prints). The patterns are those of the handlers' ``return f"..."`` lines, each once here.
"""

from __future__ import annotations

import re
from typing import Any

_CODES = r"[0-9A-Za-z_\-]+(?:, [0-9A-Za-z_\-]+)*"
PATTERNS: dict[str, re.Pattern[str]] = {
    "redraw": re.compile(r"^redrew grid (?P<code>\S+) \((?P<ha>[\d.]+) ha\)(?P<more>; .*)?$"),
    "split": re.compile(rf"^split grid (?P<code>\S+) into (?P<codes>{_CODES})$"),
    "merge": re.compile(rf"^merged (?P<codes>{_CODES}) into (?P<code>\S+)$"),
    "move": re.compile(r"^moved the boundary between (?P<code>\S+) and (?P<other>\S+)$"),
    "transfer": re.compile(r"^moved part of (?P<code>\S+) to (?P<other>\S+)$"),
    "create": re.compile(r"^created grid (?P<code>\S+) (?P<name>.+?)(?P<more>; neighbours .*)?$"),
    "retire": re.compile(r"^retired grid (?P<code>\S+)$"),
    "rename": re.compile(r"^renamed grid (?P<code>\S+) from (?P<old>.+) to (?P<name>.+)$"),
    "recode": re.compile(r"^recoded grid (?P<old>\S+) as (?P<code>\S+)$"),
    "workers": re.compile(r"^set the workers of grid (?P<code>\S+) to (?P<workers>\d+)$"),
    "proposal": re.compile(r"^proposal of (?P<n>\d+) grids for (?P<code>\S+) \((?P<source>\w+)\)$"),
    "move_units": re.compile(
        r"^move units? (?P<codes>[^,\s]+(?:, [^,\s]+)*) of building (?P<name>.+) "
        r"\((?P<building>[^()]+)\) to grid (?P<code>\S+): (?P<n>\d+) households$"
    ),
}
_NEIGHBOURS = re.compile(r"neighbours (?P<codes>" + _CODES + ")")


def summary_parts(summary: str | None) -> dict[str, Any] | None:
    """The parts of an edit's summary (``kind`` and its values), or None if none matches."""
    for kind, pattern in PATTERNS.items():
        m = pattern.match(summary or "")
        if m is None:
            continue
        parts: dict[str, Any] = {"kind": kind}
        for key, value in m.groupdict().items():
            if value is None:
                continue
            if key == "codes":
                parts["codes"] = value.split(", ")
            elif key == "more":
                found = _NEIGHBOURS.search(value)
                parts["neighbours"] = found["codes"].split(", ") if found else []
            else:
                parts[key] = value
        return parts
    return None
