"""The policy's rules for residents' matters, deliberation and volunteers (issue 21): each
action's states exist, each is worded in both languages, rework and resolution facts."""

from __future__ import annotations

import pytest

from gridgeo.accounts import ROLES, STAFF
from gridgeo.incidents.facts import set_sql
from gridgeo.incidents.policy import (
    ACTION_WORDS,
    DELIBERATION_RULES,
    MATTER_RULES,
    MATTER_STATE_WORDS,
    MATTER_STATES,
    OPEN_STATES,
    RESIDENT,
    RESIDENT_RULES,
    RULES,
    STATES,
    VOLUNTEER_RULES,
    sees_names,
)

GROUPS = {"matter": MATTER_RULES, "resident": RESIDENT_RULES,
          "deliberation": DELIBERATION_RULES, "volunteer": VOLUNTEER_RULES}  # fmt: skip


def test_matter_states_are_worded_in_both_languages():
    assert set(MATTER_STATE_WORDS) == set(MATTER_STATES)
    assert all(zh and en for zh, en in MATTER_STATE_WORDS.values())
    assert MATTER_STATE_WORDS["submitted"][0] == "待受理"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_rule_names_known_states_roles_and_words(group):
    states = MATTER_STATES if group == "matter" else STATES
    for action, rule in GROUPS[group].items():
        assert set(rule.sources) <= set(states), action
        assert rule.target is None or rule.target in states, action
        assert set(rule.roles) <= {*ROLES, RESIDENT}, action
        assert all(ACTION_WORDS[action]), action


def test_the_new_actions_do_not_reach_the_staff_transitions():
    """No account role takes a resident's or a volunteer's step through /transitions."""
    assert not set(RESIDENT_RULES) & set(RULES) and not set(VOLUNTEER_RULES) & set(RULES)
    assert "volunteer" not in {r for rule in RULES.values() for r in rule.roles}
    assert "volunteer" not in STAFF and not sees_names("volunteer")


def test_not_fixed_is_rework_and_a_volunteers_done_a_resolution():
    assert set_sql("not_fixed") == set_sql("reopen") == ", reopened_at = :now"
    assert set_sql("volunteer_done") == set_sql("resolve") == ", resolved_at = :now"
    assert RESIDENT_RULES["not_fixed"].target in OPEN_STATES
