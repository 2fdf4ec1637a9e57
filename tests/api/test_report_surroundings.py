"""GET /report/surroundings: the phone map's own grids, neighbours' outlines and lines.

A row of five grids ~890 m wide on lat 36.70; the patrol's grid is the middle one and the
radius is 500 m, so the two touching grids are neighbours and the two outer ones are not.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gridgeo.lines import store_lines
from tests.api.conftest import app_in_transaction
from tests.helpers import add_box

D, S, C = "370705", "370705009", "370705009001"
GRIDS = [f"{C}00{i}" for i in range(1, 6)]  # west to east
X0, W, Y0, Y1 = 119.10, 0.01, 36.70, 36.71
OWN, NEAR, FAR = GRIDS[2], (GRIDS[1], GRIDS[3]), (GRIDS[0], GRIDS[4])
VIEW = f"{X0 - 0.01},{Y0 - 0.01},{X0 + 5 * W + 0.01},{Y1 + 0.01}"


@pytest.fixture
def city(conn):
    add_box(conn, D, "district", X0, Y0, X0 + 5 * W, Y1)
    add_box(conn, S, "street", X0, Y0, X0 + 5 * W, Y1, D)
    add_box(conn, C, "community", X0, Y0, X0 + 5 * W, Y1, S)
    for i, code in enumerate(GRIDS):
        add_box(conn, code, "grid", X0 + i * W, Y0, X0 + (i + 1) * W, Y1, C, workers=1)
    # a worker with a name and a household in the neighbour to the west: none may leak
    conn.execute(
        text(
            "INSERT INTO workers (grid_id, name, role, full_time, phone, created_by, updated_by)"
            " SELECT id, '王邻居', 'grid_admin', true, '13900000000', 't', 't'"
            " FROM grids WHERE code = :c AND valid_to IS NULL"
        ),
        {"c": NEAR[0]},
    )
    conn.execute(
        text(
            "INSERT INTO households (location, household_count, address)"
            " VALUES (ST_Point(:x, 36.705, 4326), 77, '邻居路1号')"
        ),
        {"x": X0 + 1.5 * W},
    )
    from shapely.geometry import LineString

    store_lines(
        conn,
        [
            LineString([(X0 - 0.2, 36.705), (X0 + 0.3, 36.705)]),  # a long road across the view
            LineString([(X0 + 0.025, 36.60), (X0 + 0.025, 36.80)]),  # a river north-south
            LineString([(X0 + 1.0, 36.705), (X0 + 1.1, 36.705)]),  # a road far away
            LineString([(X0 + 0.021, 36.702), (X0 + 0.023, 36.702)]),  # an alley of ~180 m
        ],
        ["road", "river", "road", "road"],
        ["胜利街", "白浪河", "远方路", "槐荫巷"],
        source="test",
    )


@pytest.fixture
def phone(engine, conn, city):
    with TestClient(app_in_transaction(engine, conn, neighbour_radius_m=500)) as c:
        yield c


def _get(client, headers, bbox=VIEW, z=15):
    return client.get("/report/surroundings", params={"bbox": bbox, "z": z}, headers=headers)


def test_patrol_sees_neighbour_outlines_and_names_but_no_data_of_them(phone, login_as):
    patrol = login_as("patrol", OWN)
    r = _get(phone, patrol)
    assert r.status_code == 200, r.text
    body = r.json()
    grids = {f["properties"]["code"]: f for f in body["grids"]["features"]}
    assert set(grids) == {OWN, *NEAR}  # the outer two lie ~890 m away, beyond 500 m
    assert body["radius_m"] == 500 and body["truncated"] is False
    assert grids[OWN]["properties"]["own"] is True
    assert [grids[c]["properties"]["own"] for c in NEAR] == [False, False]
    for f in grids.values():
        # outlines and names only: no households, workers, incidents, people
        assert set(f["properties"]) == {"code", "name", "own", "label"}
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        lon, lat = f["properties"]["label"]
        i = GRIDS.index(f["properties"]["code"])
        assert X0 + i * W < lon < X0 + (i + 1) * W and Y0 < lat < Y1  # inside its grid
    assert grids[NEAR[0]]["properties"]["name"] == f"网格{NEAR[0]}"
    raw = r.text
    assert "王邻居" not in raw and "13900000000" not in raw and "邻居路" not in raw
    assert "households" not in raw and "workers" not in raw
    # the neighbour's own data stays refused to this account
    assert phone.get(f"/grids/{NEAR[0]}", headers=patrol).status_code == 403
    assert phone.get(f"/grids/{NEAR[0]}/workers", headers=patrol).status_code == 403
    assert phone.get("/households", params={"grid": NEAR[0]}, headers=patrol).status_code == 403
    listed = phone.get("/grids", params={"level": "grid"}, headers=patrol).json()
    assert [f["properties"]["code"] for f in listed["features"]] == [OWN]


def test_lines_of_the_view_clipped_and_named(phone, login_as):
    body = _get(phone, login_as("patrol", OWN)).json()
    lines = body["lines"]["features"]
    assert sorted((f["properties"]["kind"], f["properties"]["name"]) for f in lines) == [
        ("river", "白浪河"),
        ("road", "槐荫巷"),
        ("road", "胜利街"),
    ]
    x0, y0, x1, y1 = (float(v) for v in VIEW.split(","))
    for f in lines:
        coords = f["geometry"]["coordinates"]
        flat = coords if f["geometry"]["type"] == "LineString" else sum(coords, [])
        for lon, lat in flat:  # clipped to the view: a long river is not sent whole
            assert x0 - 1e-9 <= lon <= x1 + 1e-9 and y0 - 1e-9 <= lat <= y1 + 1e-9


def test_short_roads_are_left_out_at_wide_views(phone, login_as):
    # at zoom 12 a pixel is ~30 m: the 180 m alley is under 24 px, the long road and river stay
    body = _get(phone, login_as("patrol", OWN), z=12).json()
    names = sorted(f["properties"]["name"] for f in body["lines"]["features"])
    assert names == ["白浪河", "胜利街"]
    # and coordinates carry fewer decimals (5 at z12; 6 at z15)
    road = next(f for f in body["lines"]["features"] if f["properties"]["name"] == "胜利街")
    geom = road["geometry"]
    parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
    values = [v for part in parts for pt in part for v in pt]
    assert values and all(len(repr(v).split(".")[-1]) <= 5 for v in values)


def test_a_community_account_sees_its_grids_as_own_and_admin_all(phone, login_as):
    body = _get(phone, login_as("dispatcher", C)).json()
    assert {f["properties"]["code"] for f in body["grids"]["features"]} == set(GRIDS)
    assert all(f["properties"]["own"] for f in body["grids"]["features"])
    admin = _get(phone, login_as("admin")).json()
    assert all(f["properties"]["own"] for f in admin["grids"]["features"])
    assert len(admin["grids"]["features"]) == 5


def test_radius_zero_shows_only_own_grids(engine, conn, city, login_as):
    with TestClient(app_in_transaction(engine, conn, neighbour_radius_m=0)) as c:
        body = _get(c, login_as("patrol", OWN)).json()
    # touching grids lie at distance 0: they stay (a worker sees who is across the street)
    assert {f["properties"]["code"] for f in body["grids"]["features"]} == {OWN, *NEAR}


def test_view_bounds_the_answer(phone, login_as):
    patrol = login_as("patrol", OWN)
    # a view over the own grid only: the neighbours outside it are not sent
    inner = f"{X0 + 2.2 * W},{Y0 + 0.002},{X0 + 2.8 * W},{Y1 - 0.002}"
    body = _get(phone, patrol, bbox=inner).json()
    assert [f["properties"]["code"] for f in body["grids"]["features"]] == [OWN]
    # coordinates to 6 decimals (~0.1 m): a phone is sent no more digits than it can show
    coords = json.dumps(body["grids"]["features"][0]["geometry"]["coordinates"])
    assert all(len(n.split(".")[1]) <= 6 for n in coords.replace("]", ",").split(",") if "." in n)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"bbox": "119,36,120,37", "z": 15}, 400, "bbox"),  # 1° a side: too large
        ({"bbox": "119.2,36.7,119.1,36.8", "z": 15}, 400, "bbox"),  # min > max
        ({"bbox": "119.1,36.7,119.2", "z": 15}, 400, "bbox"),
        ({"bbox": VIEW, "z": 3}, 422, "z"),
        ({"z": 15}, 422, "bbox"),
    ],
)
def test_bad_views_are_refused_naming_the_field(phone, login_as, params, status, field):
    r = phone.get("/report/surroundings", params=params, headers=login_as("patrol", OWN))
    assert r.status_code == status, r.text
    assert field in r.text
    if status == 400:
        assert r.json()["field"] == field


def test_a_view_too_large_is_said_in_both_languages(phone, login_as):
    r = _get(phone, login_as("patrol", OWN), bbox="119,36,120,37")
    body = r.json()
    assert body["code"] == "view_too_large" and body["field"] == "bbox"
    assert "zh" in body["messages"] and "放大" in body["messages"]["zh"]


def test_anonymous_callers_are_refused(phone):
    assert _get(phone, {}).status_code == 401
