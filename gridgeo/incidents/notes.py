"""The timeline notes the system writes, read back into parts a page can say in its language.

Escalation (:mod:`gridgeo.incidents.escalation`) and moves (:mod:`gridgeo.incidents.moves`)
write their notes in English in SQL, and the notes of years of incidents are stored so; a
person reading the desk in Chinese should not read ``overdue: resolve → level 1 queue …``.
The formats are stated here once, as the patterns that read them, and each note becomes its
parts (``kind`` and the values); the page words them (``tests/db/test_incident_notes.py``
writes notes through the real SQL and reads them back here).
"""

from __future__ import annotations

import re
from typing import Any

# escalate: "overdue: resolve → level 1 queue 370705001001" (a missed limit) or
# "major → level 1 queue 370705001001" (escalated at once, with its reason)
_ESCALATE = re.compile(
    r"^(?P<overdue>overdue: )?(?P<why>\w+) → level (?P<level>\d+) queue (?P<queue>\S+)$"
)
# move and regrid: "A → B", "queue A → B" or "B confirmed", then ": " and the note given
_MOVE = re.compile(
    r"^(?:(?P<queue>queue )?(?P<old>\S+) → (?P<new>\S+)|(?P<confirmed>\S+) confirmed)"
    r"(?:: (?P<note>.*))?$",
    re.S,
)
_CHANGE = re.compile(r"^change (?P<change>\d+)$")


def note_parts(action: str, note: str | None) -> dict[str, Any] | None:
    """The parts of a note the system wrote, or None for a person's own words.

    Kinds: ``escalated`` (``why``: accept, resolve or another reason; ``overdue``; ``level``;
    ``queue``), ``moved`` (``from``, ``to``), ``queue_moved`` (``from``, ``to``: queue codes),
    ``confirmed`` (``grid``); a move's own words are ``note``, or ``change`` when a plan's
    commit moved it.
    """
    if not note:
        return None
    if action == "escalate":
        m = _ESCALATE.match(note)
        if m is None:
            return None
        return {
            "kind": "escalated",
            "why": m["why"],
            "overdue": bool(m["overdue"]),
            "level": int(m["level"]),
            "queue": m["queue"],
        }
    if action not in ("move", "regrid"):
        return None
    m = _MOVE.match(note)
    if m is None:
        return None
    if m["confirmed"]:
        out: dict[str, Any] = {"kind": "confirmed", "grid": m["confirmed"]}
    else:
        out = {"kind": "queue_moved" if m["queue"] else "moved", "from": m["old"], "to": m["new"]}
    said = m["note"]
    if said:
        change = _CHANGE.match(said)
        out |= {"change": int(change["change"])} if change else {"note": said}
    return out


def codes_of(parts: dict[str, Any] | None) -> list[str]:
    """The area codes a note's parts name (to be named beside their codes)."""
    if not parts:
        return []
    return [v for k in ("queue", "from", "to", "grid") if isinstance(v := parts.get(k), str)]
