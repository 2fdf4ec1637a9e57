"""The map pages and their data over HTTP: all-level tiles, incident data and filters (with
their 4xx answers), the area page's privacy rules, workload data, base-map settings."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridgeo.accounts import add_user
from gridgeo.bulk_assign import assign_households
from gridgeo.incidents.report import Report, report
from gridgeo.levels import load_hierarchy
from gridgeo.tiles import TileCache, levels_at
from gridgeo.workload import workload_report
from maps.basemaps import resolve
from tests.api.test_tiles import TILE, decode
from tests.helpers import C1, G1, G3, S1, S2, D, add_strip_city

Z9 = "9/256/255"


def unescape(html: str) -> str:
    """JSON ``\\uXXXX`` escapes of the page decoded."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def city(conn, client):
    add_strip_city(conn)
    conn.execute(
        text(
            "INSERT INTO households (location, household_count) VALUES "
            "(ST_Point(0.5, 0.5, 4326), 600), (ST_Point(0.50001, 0.50001, 4326), 5), "
            "(ST_Point(1.5, 0.5, 4326), 400), (ST_Point(2.5, 0.5, 4326), 200)"
        )
    )
    assign_households(conn)
    admin = add_user(conn, name="reporter_t", role="admin", areas=[], password="x" * 12,
                     actor="t")  # fmt: skip
    made = []
    # G1: two sanitation reports three days ago (overdue), one dispute now; G3: one now
    for lon, lat, cat, when in [
        (0.2, 0.2, "sanitation", NOW - timedelta(days=3)),
        (0.8, 0.8, "sanitation", NOW - timedelta(days=3)),
        (0.5, 0.3, "dispute", NOW),
        (2.5, 0.7, "sanitation", NOW),
    ]:
        made.append(report(conn, Report(lon=lon, lat=lat, category=cat), account=admin,
                           now=when, snap_m=200.0)[0])  # fmt: skip
    client.app.state.clock = lambda: NOW
    return made


def test_all_level_tile_has_a_layer_per_level_leaf_first(client, city, login_as):
    client.headers.update(login_as("viewer", D))
    r = client.get(f"/tiles/{TILE}.pbf", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["vary"]
    layers = low = decode(r.content)  # the client has already unzipped it
    assert list(layers) == ["street", "district"]  # at zoom 6 grids are too small to draw
    assert sorted(f["code"] for f in layers["street"]) == [S1, S2]
    # zoom 9 (lon and lat 0–0.7): every level, the leaf first so that outlines draw on top
    layers = decode(client.get(f"/tiles/{Z9}.pbf").content)
    assert list(layers) == ["grid", "community", "street", "district"]
    assert [(f["code"], f["open_incidents"]) for f in layers["grid"]] == [(G1, 3)]
    # without gzip: the same layers, plain
    plain = client.get(f"/tiles/{TILE}.pbf", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and decode(plain.content) == low
    # a scoped viewer: only its street
    client.headers.update(login_as("viewer", S2))
    layers = decode(client.get(f"/tiles/{TILE}.pbf").content)
    assert [f["code"] for f in layers["street"]] == [S2]
    assert client.get(f"/tiles/{Z9}.pbf").content == b""  # nothing of S2 there
    assert client.get("/tiles/6/64/0.pbf").status_code == 400  # outside zoom 6's pyramid
    for path in ("23/0/0", "6/x/0"):  # typed path parameters (FastAPI's 422)
        assert client.get(f"/tiles/{path}.pbf").status_code == 422


def test_levels_at_zoom_and_gzip_cache(conn, city):
    h = load_hierarchy(conn)
    assert list(levels_at(h, 3)) == ["district", "street"]
    assert list(levels_at(h, 8)) == ["district", "street", "community"]
    assert list(levels_at(h, 9)) == ["district", "street", "community", "grid"]
    cache = TileCache(300)
    raw = cache.get_levels(conn, h, z=6, x=32, y=31)
    packed = cache.get_levels(conn, h, z=6, x=32, y=31, compress=True)
    assert gzip.decompress(packed) == raw and len(packed) < len(raw)
    hits = cache.hits
    cache.get_levels(conn, h, z=6, x=32, y=31, compress=True)
    assert cache.hits == hits + 1


def test_incident_data_filters(client, city, login_as):
    client.headers.update(login_as("viewer", D))
    r = client.get("/maps/incidents/data")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 4 and body["overdue"] == 2 and not body["truncated"]
    assert {i["grid"] for i in body["incidents"]} == {G1, G3}
    one = body["incidents"][0]
    assert set(one) == {"id", "lon", "lat", "state", "category", "grid", "reported_at", "major",
                        "overdue"}  # fmt: skip
    assert one["reported_at"].endswith("+08:00")
    # overdue only; a category; an area (with its outline); dates in China time
    assert client.get("/maps/incidents/data?overdue=true").json()["count"] == 2
    assert client.get("/maps/incidents/data?category=dispute").json()["count"] == 1
    by_area = client.get(f"/maps/incidents/data?grid={G1}").json()
    assert by_area["count"] == 3 and by_area["area"]["feature"]["properties"]["code"] == G1
    assert by_area["area"]["bounds"] == [[0.0, 0.0], [1.0, 1.0]]
    assert client.get(f"/maps/incidents/data?grid={C1}").json()["count"] == 3
    assert client.get("/maps/incidents/data?from=2026-11-20").json()["count"] == 2
    assert client.get("/maps/incidents/data?to=2026-11-17").json()["count"] == 2
    assert client.get("/maps/incidents/data?state=open").json()["count"] == 4
    assert client.get("/maps/incidents/data?state=closed").json()["count"] == 0
    # empty parameters (an untouched form) count as unset
    assert client.get("/maps/incidents/data?state=&category=&grid=").json()["count"] == 4


def test_incident_data_scope_and_errors(client, city, login_as):
    client.headers.update(login_as("dispatcher", S2))
    assert {i["grid"] for i in client.get("/maps/incidents/data").json()["incidents"]} == {G3}
    r = client.get(f"/maps/incidents/data?grid={G1}")
    assert r.status_code == 403
    r = client.get(f"/maps/incidents?grid={G1}")
    assert r.status_code == 403
    client.headers.update(login_as("viewer", D))
    cases = {
        "state=lost": (400, "unknown state 'lost'"),
        "category=fire": (400, "unknown category 'fire'"),
        "from=2026-11-20&to=2026-11-01": (400, "is after to"),
        "from=20.11.2026": (422, "from"),
        "overdue=maybe": (422, "overdue"),
        f"grid={D}99": (404, f"no area has the code '{D}99'"),
    }
    for query, (status, words) in cases.items():
        for path in ("/maps/incidents/data", "/maps/incidents"):
            r = client.get(f"{path}?{query}")
            assert r.status_code == status, (path, query, r.text)
            assert words in r.json()["message"], (query, r.json())


def test_incident_page_needs_an_account(client, city):
    r = client.get("/maps/incidents/data")
    assert r.status_code == 401
    r = client.get("/maps/incidents?grid=1", headers={"Accept": "text/html"},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_incident_page_carries_the_filter(client, city, login_as):
    client.headers.update(login_as("viewer", D))
    r = client.get(f"/maps/incidents?grid={G1}&state=open&lang=en")
    assert r.status_code == 200
    html = r.text
    assert '"filter": {"grid": "' + G1 + '", "state": "open"}' in html
    assert '"lang": "en"' in html and "gridgeo Incident map" in html
    assert "/static/markercluster/leaflet.markercluster.js" in html
    assert "/static/heat/leaflet-heat.js" in html
    assert '"incidents": [' not in html  # fetched by the page, never embedded


def test_area_page_households_only_for_roles_that_may_see_them(client, city, login_as):
    client.headers.update(login_as("planner", S1))
    html = unescape(client.get(f"/maps/grids/{G1}").text)
    assert "楼栋户数" in html and '"households": 605' in html  # two points 1 m apart: one spot
    assert "0.500005" in html or "0.50000" in html
    client.headers.update(login_as("viewer", S1))
    html = unescape(client.get(f"/maps/grids/{G1}").text)
    i = html.find("楼栋户数")
    assert i < 0, html[i - 300 : i + 100]
    assert client.get(f"/maps/grids/{G3}").status_code == 403
    client.headers.update(login_as("viewer", D))
    assert client.get(f"/maps/grids/{D}99").status_code == 404
    r = client.get(f"/maps/grids/{C1}?lang=fr")
    assert r.status_code == 422 and "lang" in r.json()["message"]


def test_workload_data_any_level(client, city, login_as, conn):
    client.headers.update(login_as("viewer", D))
    body = client.get("/maps/workload/data?level=street").json()
    rows = {
        r.code: r
        for r in workload_report(conn, load_hierarchy(conn), level="street", default_standard=300)
    }
    assert set(body["areas"]) == {S1, S2}
    for code, (status, load, _dev, households, workers) in body["areas"].items():
        assert (status, households, workers) == (rows[code].status, rows[code].households,
                                                 rows[code].workers)  # fmt: skip
        assert load == pytest.approx(rows[code].load, abs=0.05)
    r = client.get("/maps/workload/data?level=planet")
    assert r.status_code == 400 and "planet" in r.json()["message"]
    assert client.get("/maps/workload/data").status_code == 422
    html = client.get("/maps/workload?level=community").text
    assert '"hide": ["grid"]' in html and "?level=community" in html


def test_base_map_settings():
    assert [b.key for b in resolve("")] == ["none"]
    assert [b.key for b in resolve("OpenStreetMap")] == ["osm"]
    assert [b.key for b in resolve("amap,none,bogus")] == ["amap", "none"]
    assert resolve("amap")[0].gcj02 and not resolve("osm")[0].gcj02
    assert [b.key for b in resolve("tianditu")] == ["none"]  # no key: left out, offline base
    tdt = resolve("tianditu", "KEY123")[0]
    assert [u for u, _ in tdt.layers][0].count("tk=KEY123") == 1
    assert "LAYER=vec" in tdt.layers[0][0] and "LAYER=cva" in tdt.layers[1][0]
    assert not tdt.gcj02  # CGCS2000 tiles line up with WGS84 unshifted
    custom = resolve("https://tiles.example.cn/{z}/{x}/{y}.png")[0]
    assert custom.layers[0][0] == "https://tiles.example.cn/{z}/{x}/{y}.png"


def test_pages_offline_by_default_in_tests(client, city, login_as):
    """The test app has GRIDGEO_MAP_TILES empty: no page names a server but this one."""
    client.headers.update(login_as("admin"))
    for path in ("/maps/grids", f"/maps/grids/{C1}", "/maps/incidents", "/maps/workload"):
        html = client.get(path).text
        assert "https://" not in html.replace("https://leafletjs.com", ""), path
        assert '"layers": []' in html and '"key": "none"' in html, path
