"""OGC API – Features Core, grid history and exports over HTTP."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import text

from gridgeo.versions import record_change
from tests.helpers import add_box

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"


@pytest.fixture
def city(conn):
    """Two districts; five streets in the first, one in the second."""
    change = record_change(conn, "planner1", "first load", "import")
    add_box(conn, "110101", "district", 0, 0, 5, 1)
    add_box(conn, "110102", "district", 10, 0, 11, 1)
    for i in range(5):
        add_box(conn, f"110101{i + 1:03d}", "street", i, 0, i + 1, 1, "110101", workers=i)
    add_box(conn, "110102001", "street", 10, 0, 11, 1, "110102")
    return conn.execute(text("SELECT at FROM changes WHERE id = :i"), {"i": change}).scalar()


def test_landing_conformance_collections(client, city, login_as):
    assert client.get("/ogc/").status_code == 401
    client.headers.update(login_as("viewer", "110101"))
    r = client.get("/ogc/")
    assert r.status_code == 200
    links = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert links["data"]["href"] == "http://testserver/ogc/collections"
    assert links["service-desc"]["href"] == "http://testserver/openapi.json"
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    assert {CONF + "core", CONF + "geojson", CONF + "oas30"} <= set(conforms)
    cols = client.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in cols] == ["district", "street", "community", "grid"]
    street = cols[1]
    assert street["extent"]["spatial"]["bbox"] == [[0, 0, 5, 1]]  # the viewer's area only
    assert street["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    items = next(link for link in street["links"] if link["rel"] == "items")
    assert items["href"] == "http://testserver/ogc/collections/street/items"
    assert items["type"] == "application/geo+json"
    assert client.get("/ogc/collections/street").json()["id"] == "street"
    assert client.get("/ogc/collections/province").status_code == 404


def test_items_paging_links(client, city, login_as):
    client.headers.update(login_as("viewer", "110101"))
    r = client.get("/ogc/collections/street/items", params={"limit": 2})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["numberMatched"] == 5 and fc["numberReturned"] == 2
    assert [f["id"] for f in fc["features"]] == ["110101001", "110101002"]
    assert fc["timeStamp"].endswith("Z")
    rels = {link["rel"]: link["href"] for link in fc["links"]}
    assert "prev" not in rels and "offset=2" in rels["next"] and "limit=2" in rels["next"]
    fc2 = client.get(rels["next"]).json()
    assert [f["id"] for f in fc2["features"]] == ["110101003", "110101004"]
    rels2 = {link["rel"]: link["href"] for link in fc2["links"]}
    assert "offset=0" in rels2["prev"] and "offset=4" in rels2["next"]
    last = client.get(rels2["next"]).json()
    assert last["numberReturned"] == 1 and "next" not in {x["rel"] for x in last["links"]}
    props = last["features"][0]["properties"]
    assert props == props | {"code": "110101005", "parent_code": "110101", "workers": 4}
    assert "households" not in props


def test_items_bbox_and_datetime(client, conn, city, login_as):
    client.headers.update(login_as("admin"))
    r = client.get("/ogc/collections/street/items", params={"bbox": "1.2,0.2,2.5,0.5"})
    assert [f["id"] for f in r.json()["features"]] == ["110101002", "110101003"]
    record_change(conn, "planner1", "widen 110101001", "plan")
    conn.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(0, 0, 1, 2, 4326)) "
            "WHERE code = '110101001'"
        )
    )
    before = city.isoformat()
    r = client.get("/ogc/collections/street/items", params={"datetime": before, "limit": 1})
    feature = r.json()["features"][0]
    assert feature["properties"]["version"] == 1
    assert max(y for _, y in feature["geometry"]["coordinates"][0][0]) == 1
    now = client.get("/ogc/collections/street/items", params={"limit": 1}).json()
    assert now["features"][0]["properties"]["version"] == 2
    r = client.get("/ogc/collections/street/items", params={"datetime": before + "/.."})
    assert r.json()["numberMatched"] == 7  # 6 streets, one of them in two versions
    one = client.get("/ogc/collections/street/items/110101001", params={"datetime": before})
    assert one.json()["properties"]["version"] == 1
    assert client.get("/ogc/collections/street/items/110101001@1").json()["id"] == "110101001@1"
    assert (
        client.get("/ogc/collections/street/items/110101001").json()["properties"]["version"] == 2
    )
    # history and the level as it stood
    hist = client.get("/grids/110101001/history").json()["features"]
    assert [f["properties"]["message"] for f in hist] == ["first load", "widen 110101001"]
    old = client.get("/history/grids", params={"level": "street", "at": before}).json()
    assert {f["properties"]["version"] for f in old["features"]} == {1}
    assert client.get("/grids/999999/history").status_code == 404


def test_item_by_code_and_errors(client, city, login_as):
    client.headers.update(login_as("viewer", "110101"))
    r = client.get("/ogc/collections/street/items/110101002")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "Feature" and body["id"] == "110101002"
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}
    assert client.get("/ogc/collections/street/items/110101009").status_code == 404
    assert client.get("/ogc/collections/street/items/110102001").status_code == 403
    assert client.get("/ogc/collections/nope/items").status_code == 404
    assert client.get("/grids/110102001/history").status_code == 403
    hidden = client.get("/ogc/collections/street/items").json()
    assert "110102001" not in {f["id"] for f in hidden["features"]}
    for params in (
        {"bbox": "1,2,3"},
        {"bbox": "a,0,1,1"},
        {"limit": "0"},
        {"limit": "10001"},
        {"limit": "many"},
        {"offset": "-1"},
        {"datetime": "yesterday"},
        {"f": "html"},
    ):
        r = client.get("/ogc/collections/street/items", params=params)
        assert r.status_code == 400, params
        assert r.json()["message"]


def test_export_endpoint(client, city, login_as):
    client.headers.update(login_as("viewer", "110101"))
    assert client.get("/export/grids", params={"level": "street"}).status_code == 403
    client.headers.update(login_as("planner", "110101"))
    r = client.get("/export/grids", params={"level": "street", "format": "geojson"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert len(r.json()["features"]) == 5  # the planner's area only
    r = client.get("/export/grids", params={"level": "street", "format": "shp", "crs": 4490})
    assert r.status_code == 200 and "street-4490.zip" in r.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {n.rsplit(".", 1)[1] for n in names} >= {"shp", "shx", "dbf", "prj", "cpg"}
    r = client.get("/export/grids", params={"level": "street", "format": "gpkg"})
    assert r.status_code == 200 and r.content[:15] == b"SQLite format 3"
    assert client.get("/export/grids", params={"level": "x"}).status_code == 400
    r = client.get("/export/grids", params={"level": "street", "crs": 3857})
    assert r.status_code == 400 and "4490" in r.json()["message"]


def test_export_of_one_area(client, city, login_as):
    """``area=``: the grids at or below one code (the map pages' download links); 403 outside."""
    client.headers.update(login_as("planner", "110101"))
    every = client.get("/export/grids", params={"level": "street"}).json()["features"]
    one = every[0]["properties"]["code"]
    r = client.get("/export/grids", params={"level": "street", "area": one})
    assert r.status_code == 200 and f"street-{one}-4326" in r.headers["content-disposition"]
    assert [f["properties"]["code"] for f in r.json()["features"]] == [one]
    r = client.get("/export/grids", params={"level": "street", "area": "120101"})
    assert r.status_code == 403
