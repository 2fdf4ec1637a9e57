"""The incident policy, each rule stated once: who may do what, the time limits, overdue.

Everything else — the transitions, the report statement, the queues, the escalation job, the
maps — imports these names; the SQL among them is generated from the same constants
(:func:`due_sql`, :data:`OVERDUE`, :func:`sql_list`).

The loop of seed 000 (巡查、报告、解决、督查、反馈): reported → accepted → dispatched → in
progress → resolved → verified (督查) → closed with a rating (评事); reopened from verified or
closed. Escalation climbs the hierarchy one level per missed time limit, or at once for a
major incident (小事不出网格,大事不出社区).

**Time limits.** A report sets two limits from its category: to accept, and to resolve. They
are kept as first set (``accept_due``, ``resolve_due``: the *original* limits, by which an
incident is late and an on-time rate is counted) beside the limits of the level it is queued at
(``level_accept_due``, ``level_resolve_due``), which escalation resets each time it moves the
incident up: the community gets its own time before the street is asked. An incident past its
original limit stays overdue wherever it is queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

STATES = ("reported", "accepted", "dispatched", "in_progress", "resolved", "verified", "closed")
OPEN_STATES = ("reported", "accepted", "dispatched", "in_progress")
HANDLING = ("accepted", "dispatched", "in_progress")  # taken on, not yet resolved

# The words people read for the states and actions, in Chinese and English: the maps, the desk
# and the phone page say the same (tests/unit/test_state_words.py holds the pages' tables equal).
STATE_WORDS = {
    "reported": ("已上报", "reported"),
    "accepted": ("已受理", "accepted"),
    "dispatched": ("已派遣", "dispatched"),
    "in_progress": ("处置中", "in progress"),
    "resolved": ("已处置", "resolved"),
    "verified": ("已核查", "verified"),
    "closed": ("已结案", "closed"),
}
ACTION_WORDS = {
    "report": ("上报", "report"),
    "accept": ("受理", "accept"),
    "dispatch": ("派遣", "dispatch"),
    "start": ("开始处置", "start"),
    "resolve": ("处置完成", "resolve"),
    "verify": ("核查", "verify"),
    "close": ("结案", "close"),
    "reopen": ("重新受理", "reopen"),
    "mark_major": ("标为重大", "mark major"),
    "escalate": ("超时升级", "escalate"),
    "regrid": ("调整网格", "move to another grid"),
    "photo": ("补充照片", "add photos"),
    "move": ("随网格调整", "moved with its grid"),
    "request_extension": ("申请延期", "ask for more time"),
    "approve_extension": ("批准延期", "approve the extension"),
    "refuse_extension": ("不予延期", "refuse the extension"),
    "return": ("回退", "return"),
}

ROLES_ON_SITE = ("patrol", "dispatcher", "admin")  # who works an incident on the ground
REPORTERS = ("patrol", "dispatcher", "planner", "admin")  # who may report, add photos, mark major
DESK = ("dispatcher", "admin")  # who dispatches, verifies, closes, reopens, regrids
# Who an incident may be dispatched to by name (its handler, 处置人): a named worker of the
# incident's grid (table ``workers``), or an account of these roles whose areas cover the
# grid (Account.covers). Anyone else is refused (gridgeo/incidents/handlers.py applies it).
HANDLER_ROLES = ("patrol",)

ESCALATION_ACTOR = "system:escalation"

DUPLICATE_M = 50.0  # a likely duplicate: same category, open, within this many metres …
DUPLICATE_WINDOW = timedelta(hours=24)  # … reported within this time before
MAX_ACCURACY_M = 1000.0  # a GPS fix worse than this is refused
MAX_DESCRIPTION = 4000
MAX_KEY = 128  # Idempotency-Key length


@dataclass(frozen=True)
class Rule:
    """One action: the states it may start from, where it leads, and who may take it."""

    sources: tuple[str, ...]
    target: str | None  # None: the state does not change
    roles: tuple[str, ...]
    needs_note: bool = False
    # an extension request pending: needed (True), refused (False) or either (None)
    pending: bool | None = None


RULES: dict[str, Rule] = {
    "accept": Rule(("reported",), "accepted", ROLES_ON_SITE),
    "dispatch": Rule(("reported", "accepted"), "dispatched", DESK),
    "start": Rule(("accepted", "dispatched"), "in_progress", ROLES_ON_SITE),
    "resolve": Rule(("in_progress",), "resolved", ROLES_ON_SITE, True),
    "verify": Rule(("resolved",), "verified", DESK),
    "close": Rule(("verified",), "closed", DESK),
    "reopen": Rule(("verified", "closed"), "accepted", DESK, True),
    "mark_major": Rule(OPEN_STATES, None, REPORTERS),
    # to another of the incident's candidate grids (its accuracy circle crossed a boundary),
    # or to its own grid to confirm it; either way the dispatcher has settled the question
    "regrid": Rule(OPEN_STATES, None, DESK),
    # 延期: the handler asks with a reason; a dispatcher sets the new limit or refuses, saying why
    "request_extension": Rule(HANDLING, None, ROLES_ON_SITE, True, pending=False),
    "approve_extension": Rule(HANDLING, None, DESK, pending=True),
    "refuse_extension": Rule(HANDLING, None, DESK, True, pending=True),
    # 回退: a receiver sends a dispatched incident back to the dispatcher as not theirs
    "return": Rule(("dispatched",), "accepted", ROLES_ON_SITE, True),
}
# The actions of the evaluation's figures, by the fact they set (gridgeo/incidents/facts.py).
ACCEPTING = ("accept", "dispatch")  # the first of these ends the wait for acceptance
# a reopen by the desk, or a resident's "not fixed": either is rework (返工) in the evaluation
REOPENING = ("reopen", "not_fixed")

# --- Residents' matters (居民提事·评事, gridgeo/residents/) ------------------------------------
# A resident's report is a *matter* until a dispatcher decides on it: ``submitted`` (待受理) in
# the desk's queue, then accepted (it became an incident of its grid), merged (into an open
# incident, which the resident then follows) or rejected (with a reason the resident reads).
# It is not an incident row before acceptance, so nothing a resident sends can reach a map, a
# list or a public answer of incidents before a dispatcher has read it.
MATTER_STATES = ("submitted", "accepted", "merged", "rejected")
MATTER_STATE_WORDS = {
    "submitted": ("待受理", "awaiting acceptance"),
    "accepted": ("已受理", "accepted"),
    "merged": ("已合并", "merged"),
    "rejected": ("不予受理", "not accepted"),
}
RESIDENT = "resident"  # the pseudo-role of whoever holds a matter's private link
RESIDENT_ACTOR = "resident:"  # + the tracking number: the actor of a resident's steps
MATTER_RULES: dict[str, Rule] = {
    "accept": Rule(("submitted",), "accepted", DESK),
    "merge": Rule(("submitted",), "merged", DESK),
    "reject": Rule(("submitted",), "rejected", DESK, True),
}
# What a resident does on the incident a matter became, by its private link (not in RULES:
# no account holds the role). "Not fixed" reopens a closed incident within the window.
RESIDENT_RULES: dict[str, Rule] = {
    "not_fixed": Rule(("closed",), "accepted", (RESIDENT,), True),
    "rate": Rule(("closed",), None, (RESIDENT,)),
}
RESIDENT_WORDS = {
    "submit": ("居民提事", "raised by a resident"),
    "merge": ("合并居民来件", "a resident's report merged in"),
    "reject": ("不予受理", "not accepted"),
    "not_fixed": ("居民反映未解决", "not fixed, says the resident"),
    "rate": ("居民评价", "rated by the resident"),
}
# 网格议事 · 会议定事 · 联动办事 (gridgeo/residents/deliberation.py): a matter that needs deciding
# is marked for deliberation, the grid discusses it (notes, who took part), a community meeting
# records its decision, linked tasks (incidents with the matter as parent) carry it out; the
# matter closes only when they are closed. The state does not change on these steps.
DELIBERATION_RULES: dict[str, Rule] = {
    "deliberate": Rule(OPEN_STATES, None, DESK),
    "discuss": Rule(OPEN_STATES, None, ROLES_ON_SITE, True),
    "decide": Rule(OPEN_STATES, None, DESK),
    "link_task": Rule(OPEN_STATES, None, DESK),
}
# 党员领单 (gridgeo/residents/volunteers.py): the desk opens an accepted request to the
# volunteers of its community; one claims it (it is in progress, theirs) and reports it done.
VOLUNTEER = "volunteer"
VOLUNTEER_RULES: dict[str, Rule] = {
    "open_to_volunteers": Rule(("accepted",), None, DESK),
    "claim": Rule(("accepted",), "in_progress", (VOLUNTEER,)),
    "volunteer_done": Rule(("in_progress",), "resolved", (VOLUNTEER,), True),
}
RESOLVING = ("resolve", "volunteer_done")  # either sets the resolution the evaluation counts
RESIDENT_WORDS.update({
    "deliberate": ("标为议事", "marked for deliberation"),
    "discuss": ("网格议事", "discussed in the grid"),
    "decide": ("会议定事", "decided by the community meeting"),
    "link_task": ("联动办事", "linked task"),
    "open_to_volunteers": ("开放党员领单", "opened to volunteers"),
    "claim": ("党员领单", "claimed by a volunteer"),
    "volunteer_done": ("志愿者办结", "done by the volunteer"),
})  # fmt: skip
ACTION_WORDS.update(RESIDENT_WORDS)  # one table of action words for every timeline
NOT_FIXED_WINDOW = timedelta(days=7)  # a resident may say "not fixed" this long after closing
RESIDENT_MAX_PHOTOS = 3


def sees_names(role: str) -> bool:
    """Whether an account of ``role`` sees reporters', workers' and actors' names.

    Viewers (leaders reading the maps) see what happened, not who reported or did it; nor do
    volunteers, who see the requests open to them.
    """
    return role not in ("viewer", "volunteer")


def sql_list(values: Iterable[str]) -> str:
    """A list of string literals for ``IN (…)`` (the values are this module's constants)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def resolve_limit_sql(alias: str = "i") -> str:
    """SQL of the resolve limit in force: the original, or the one an extension approved."""
    return f"coalesce({alias}.extended_due, {alias}.resolve_due)"


def resolve_limit(extended_due: datetime | None, resolve_due: datetime | None) -> datetime | None:
    """:func:`resolve_limit_sql` in Python (the report's answer, made without a query)."""
    return extended_due if extended_due is not None else resolve_due


# Which limit runs in which states: the accept limit while reported, the resolve limit while
# open (the earliest applies). due_sql and missed_sql render it as SQL, due and missed in
# Python (the demo's generated history); tests hold the two renderings equal.
LIMITS: dict[str, tuple[str, ...]] = {"accept": ("reported",), "resolve": OPEN_STATES}


def _in(alias: str, states: tuple[str, ...]) -> str:
    if len(states) == 1:
        return f"{alias}.state = '{states[0]}'"
    return f"{alias}.state IN ({sql_list(states)})"


def due_sql(alias: str = "i", *, level: bool = False) -> str:
    """SQL of the limit an incident runs against now; NULL once it is resolved.

    While reported: the earlier of the accept and the resolve limit; while open: the resolve
    limit (:data:`LIMITS`). Past it, the incident is overdue. With ``level``, the limits of
    the level it is queued at (what escalation acts on); else the original limits, the
    resolve limit as an approved extension moved it (what overdue means).
    """
    if level:
        accept, resolve = f"{alias}.level_accept_due", f"{alias}.level_resolve_due"
    else:
        accept, resolve = f"{alias}.accept_due", resolve_limit_sql(alias)
    # least() skips the NULL of a limit not running in the state; the resolve limit written
    # once keeps the report statement, which answers with it, under psycopg's 4 KB cache limit
    return (
        f"(CASE WHEN {_in(alias, LIMITS['resolve'])} THEN least(CASE WHEN "
        f"{_in(alias, LIMITS['accept'])} THEN {accept} END, {resolve}) END)"
    )


def due(state: str, limits: Mapping[str, datetime | None]) -> datetime | None:
    """:func:`due_sql` in Python: the earliest of ``limits`` (by name) running in ``state``."""
    running = [v for k, v in limits.items() if state in LIMITS[k] and v is not None]
    return min(running) if running else None


def missed_sql(alias: str = "i") -> str:
    """SQL naming the level limit an incident escalated by :func:`due_sql` missed."""
    return (
        f"(CASE WHEN {_in(alias, LIMITS['accept'])} AND {alias}.level_accept_due <= :now "
        "THEN 'accept' ELSE 'resolve' END)"
    )


def missed(state: str, level_accept_due: datetime | None, now: datetime) -> str:
    """:func:`missed_sql` in Python: ``accept`` or ``resolve``."""
    late = level_accept_due is not None and level_accept_due <= now
    return "accept" if state in LIMITS["accept"] and late else "resolve"


# Overdue: open and past a limit in force at :now (queues, maps, desk, evaluation).
OVERDUE = f"{due_sql()} <= :now"
# Due to escalate: open and past a limit of the level it is queued at, at :now.
ESCALATION_DUE = f"{due_sql(level=True)} <= :now"


def late_sql(alias: str = "i") -> str:
    """SQL: late against the *original* resolve limit, at ``:now``; never NULL.

    Resolved after it (the last resolution, as ``resolved_at`` keeps it), or not resolved and
    past it; an approved extension does not change it. The complement, for a resolved case, of
    the evaluation's on-time closure (``resolved_at <= resolve_due``, gridgeo/evaluation/).
    """
    end = f"CASE WHEN {alias}.state IN ({sql_list(OPEN_STATES)}) THEN NULL ELSE {alias}.resolved_at END"
    return f"coalesce(coalesce({end}, :now) > {alias}.resolve_due, false)"


# Overdue, as a column or filter that is never NULL (NULL: no limit runs, it is resolved).
OVERDUE_NOW = f"coalesce({OVERDUE}, false)"
