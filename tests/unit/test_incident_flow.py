"""The transition table: every action × state × role."""

from __future__ import annotations

import pytest

from gridgeo.accounts import ROLES
from gridgeo.errors import Conflict, Forbidden, InvalidInput
from gridgeo.incidents.flow import check_transition
from gridgeo.incidents.policy import RULES, STATES

LOOP = [
    ("accept", "reported", "accepted"),
    ("dispatch", "accepted", "dispatched"),
    ("start", "dispatched", "in_progress"),
    ("resolve", "in_progress", "resolved"),
    ("verify", "resolved", "verified"),
    ("close", "verified", "closed"),
    ("reopen", "closed", "accepted"),
]


@pytest.mark.parametrize("action,src,dst", LOOP)
def test_the_closed_loop(action, src, dst):
    assert check_transition(action, src, "admin") == dst


@pytest.mark.parametrize("action", sorted(RULES))
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_every_action_state_role(action, state, role):
    rule = RULES[action]
    if role not in rule.roles:
        with pytest.raises(Forbidden):
            check_transition(action, state, role)
    elif state not in rule.sources:
        with pytest.raises(Conflict, match=f"cannot {action}"):
            check_transition(action, state, role)
    else:
        assert check_transition(action, state, role) == (rule.target or state)


def test_table_shape():
    assert RULES["verify"].roles == ("dispatcher", "admin")  # 督查 is a supervisor's act
    assert "viewer" not in {r for rule in RULES.values() for r in rule.roles}
    assert RULES["reopen"].sources == ("verified", "closed")
    assert RULES["mark_major"].target is None


def test_unknown_action():
    with pytest.raises(InvalidInput, match="unknown action"):
        check_transition("teleport", "reported", "admin")
