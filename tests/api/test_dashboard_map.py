"""The dashboard's map asks the tiles for the levels it draws only (issue 17, the first load).

A district's first view colours its streets: its tiles need no grid layer, whose workload
figures (households, open incidents) took 1–3 s a tile on a server's first dashboard with
1,000,000 incidents (bench/evaluation.py). ``/tiles/{z}/{x}/{y}.pbf?levels=`` keeps the levels
named; the evaluation page asks for those down to the chosen one.
"""

from __future__ import annotations

import json
import re

from tests.api.test_maps_pages import Z9, city  # noqa: F401 - the fixture
from tests.api.test_tiles import decode
from tests.helpers import G1, S1, S2, D


def test_the_tile_keeps_only_the_levels_named(client, city, login_as):  # noqa: F811
    client.headers.update(login_as("viewer", D))
    every = decode(client.get(f"/tiles/{Z9}.pbf").content)
    assert list(every) == ["grid", "community", "street", "district"]
    two = decode(client.get(f"/tiles/{Z9}.pbf?levels=district,street").content)
    assert list(two) == ["street", "district"]  # the leaf first still; no grid, no community
    assert two["street"] == every["street"] and two["district"] == every["district"]
    grids = decode(client.get(f"/tiles/{Z9}.pbf?levels=grid").content)
    assert list(grids) == ["grid"] and [f["code"] for f in grids["grid"]] == [G1]
    # a level too fine for the zoom stays out, named or not (zoom 6: district and street)
    assert list(decode(client.get("/tiles/6/32/31.pbf?levels=grid,street").content)) == ["street"]
    # the caller's areas still rule
    client.headers.update(login_as("viewer", S2))
    assert client.get(f"/tiles/{Z9}.pbf?levels=street").content == b""  # nothing of S2 there
    r = client.get(f"/tiles/{Z9}.pbf?levels=street,ward")
    assert r.status_code == 400 and "ward" in r.text


def test_the_evaluation_map_asks_for_the_levels_it_draws(client, city, login_as):  # noqa: F811
    client.headers.update(login_as("viewer", D))
    for level, levels in (
        ("street", "district,street"),
        ("grid", "district,street,community,grid"),
    ):
        page = client.get(
            "/dashboard/map", params={"parent": D, "level": level, "period": "2026-11"}
        )
        assert page.status_code == 200
        found = re.search(r'"tileUrl": ("[^"]*")', page.text)
        assert found, "the map's configuration names its tiles"
        assert json.loads(found.group(1)) == f"/tiles/{{z}}/{{x}}/{{y}}.pbf?levels={levels}"
    page = client.get("/dashboard/map", params={"parent": S1, "period": "2026-11"})
    assert "levels=district,street,community" in page.text  # a street's first view: communities
