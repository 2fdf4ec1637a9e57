"""Incident lives under the real rules, for the demo's simulated history (gridgeo/demo/history.py).

A :class:`Life` is one incident's row and timeline as the simulation builds them; the
:class:`Simulator` applies an action to it as :func:`gridgeo.incidents.flow.transition` would
— checked by the policy's rules (:func:`~gridgeo.incidents.flow.check_transition`,
:func:`~gridgeo.incidents.flow.check_pending`), with the same effects — after escalating it at
every level limit that passed before, as the escalation job would have
(:func:`gridgeo.incidents.policy.due` and :func:`~gridgeo.incidents.policy.missed`: the Python
rendering of the SQL the job runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gridgeo.incidents.flow import check_pending, check_transition
from gridgeo.incidents.policy import ESCALATION_ACTOR, due, missed


@dataclass
class Life:
    """One incident being simulated: its row and its timeline."""

    k: int
    building: int
    grid: int
    category: str
    reported_at: datetime
    accept_due: datetime
    resolve_due: datetime
    reporter: str
    state: str = "reported"
    level: int = 0
    major: bool = False
    level_accept_due: datetime | None = None
    level_resolve_due: datetime | None = None
    extended_due: datetime | None = None
    extension_requested_at: datetime | None = None
    department: int | None = None
    assignee: str | None = None
    rating: int | None = None
    events: list[tuple[datetime, str, str, str | None, str | None, str]] = field(
        default_factory=list
    )


class Simulator:
    """Applies actions to lives as the real flow would, escalating on the way."""

    def __init__(self, chains: dict[int, list[str]], limits: dict[str, tuple[int, int]]) -> None:
        """``chains``: grid id → its codes from the top; ``limits``: category → minutes."""
        self.chains = chains
        self.limits = limits

    def escalate_until(self, life: Life, t: datetime) -> None:
        """Escalate ``life`` at every level limit that passes before ``t`` (the job's rule)."""
        top = len(self.chains[life.grid]) - 1
        while life.level < top:
            limits = {"accept": life.level_accept_due, "resolve": life.level_resolve_due}
            when = due(life.state, limits)
            if when is None or when > t:
                return
            # a limit that passed while the incident was not open (before a reopen) is acted
            # on by the job's first run after it opened again
            when = max(when, life.events[-1][0])
            why = missed(life.state, life.level_accept_due, when)
            self._up(life, when, why, "overdue: ", ESCALATION_ACTOR)

    def _up(self, life: Life, when: datetime, why: str, prefix: str, actor: str) -> None:
        accept, resolve = self.limits[life.category]
        life.level += 1
        if why == "accept":
            life.level_accept_due = when + timedelta(minutes=accept)
        elif why == "resolve":
            life.level_resolve_due = when + timedelta(minutes=resolve)
        chain = self.chains[life.grid]
        queue = chain[len(chain) - 1 - life.level]
        note = f"{prefix}{why} → level {life.level} queue {queue}"
        life.events.append((when, actor, "escalate", life.state, life.state, note))

    def major(self, life: Life) -> None:
        """A major incident leaves the grid's queue at its report (escalate_one, 'major')."""
        life.major = True
        self._up(life, life.reported_at, "major", "", life.reporter)

    def act(self, life: Life, action: str, t: datetime, actor: str, role: str, note: str = "",
            **extra: Any) -> None:  # fmt: skip
        """Take ``action`` at ``t`` as the flow does, after any escalation due before it."""
        self.escalate_until(life, t)
        target = check_transition(action, life.state, role)
        check_pending(action, life.extension_requested_at is not None)
        if action == "dispatch":
            life.department = extra.get("department")
            life.assignee = extra["assignee"]
        elif action == "close":
            life.rating = extra.get("rating")
        elif action == "reopen":
            life.rating = None
        elif action == "request_extension":
            life.extension_requested_at = t
        elif action == "approve_extension":
            life.extended_due = life.level_resolve_due = extra["until"]
            life.extension_requested_at = None
        elif action in ("refuse_extension", "resolve"):
            life.extension_requested_at = None
        elif action == "return":
            life.department = life.assignee = None
            life.extension_requested_at = None
        life.events.append((t, actor, action, life.state, target, note))
        life.state = target
