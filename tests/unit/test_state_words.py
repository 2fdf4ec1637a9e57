"""Issue 16: the phone said 已办结 where the maps said 已处置. One table of words, the policy's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridgeo.incidents.policy import STATE_WORDS
from maps.incidents_page import STATE_LABELS

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    "api/desk_static/desk.js",
    "api/report_static/report.js",
    "api/resident_static/resident.js",
    "maps/static/gridgeo/incidents.js",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_the_policys_state_words(page):
    source = (ROOT / page).read_text(encoding="utf-8")
    blocks = re.findall(r"states: \{[^}]*\}", source)  # the pages' tables of state words
    source = "\n".join(blocks) or source  # incidents.js keeps them at the top of its table
    for state, (zh, _) in STATE_WORDS.items():
        said = set(re.findall(rf"\b{state}: ['\"]([^'\"]+)['\"]", source))
        chinese = {w for w in said if re.search(r"[\u4e00-\u9fff]", w)}
        assert chinese == {zh}, (page, state, said)


def test_the_map_legend_uses_the_policys_words():
    assert {k: v[0] for k, v in STATE_LABELS.items()} == {k: v[0] for k, v in STATE_WORDS.items()}
