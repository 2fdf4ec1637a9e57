"""Open311 readers: api_key on GET, the public read mode, pages and notes."""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import text

from gridgeo.incidents.public import coarsen
from gridgeo.tokens import create_api_key
from tests.api.incident_city import INSIDE_A, make_users

URL = "/open311/v2/requests.json"


@pytest.fixture
def users(conn):
    return make_users(conn)


@pytest.fixture
def hotline_key(conn, users):
    return create_api_key(conn, "dispatcher", "12345 hotline", "test").token


@pytest.fixture
def three(client, users, hotline_key):
    """Three requests (sanitation, dispute, sanitation); the first resolved with a note."""
    ids = []
    for k, code in enumerate(("sanitation", "dispute", "sanitation")):
        data = {
            "service_code": code,
            "lat": str(INSIDE_A[1] + k / 1000),
            "long": str(INSIDE_A[0] + 0.00013 * k),
            "description": f"住户王某反映{k}",
            "api_key": hotline_key,
        }
        r = client.post(URL, data=data)
        assert r.status_code == 201, r.text
        ids.append(int(r.json()[0]["service_request_id"]))
    for action, extra in [("accept", {}), ("start", {}), ("resolve", {"note": "已清运,联系王某"})]:
        t = client.post(
            f"/incidents/{ids[0]}/transitions",
            json={"action": action, **extra},
            headers=users["dispatcher"],
        )
        assert t.status_code == 200, t.text
    return ids


def _ids(r):
    assert r.status_code == 200, r.text
    return [int(x["service_request_id"]) for x in r.json()]


def test_api_key_on_get_in_every_form(client, three, hotline_key):
    assert client.get(URL).status_code == 401  # public reading is off by default
    assert _ids(client.get(URL, params={"api_key": hotline_key})) == three
    assert _ids(client.get(URL, headers={"X-API-Key": hotline_key})) == three
    basic = base64.b64encode(f"api_key:{hotline_key}".encode()).decode()
    assert _ids(client.get(URL, headers={"Authorization": f"Basic {basic}"})) == three
    one = client.get(f"/open311/v2/requests/{three[1]}.json", params={"api_key": hotline_key})
    assert _ids(one) == [three[1]]
    bad = client.get(URL, params={"api_key": "ggk_nope"})
    assert bad.status_code == 401 and "api_key" in bad.json()["message"]


def test_pages_and_filters(client, three, hotline_key):
    key = {"api_key": hotline_key}
    assert _ids(client.get(URL, params=key | {"page_size": 2})) == three[:2]
    assert _ids(client.get(URL, params=key | {"page_size": 2, "page": 2})) == three[2:]
    assert _ids(client.get(URL, params=key | {"page_size": 2, "page": 3})) == []
    assert _ids(client.get(URL, params=key | {"status": "closed"})) == three[:1]
    assert _ids(client.get(URL, params=key | {"status": "open", "page_size": 1})) == three[1:2]
    far = "2000-01-01T00:00:00Z"
    assert _ids(client.get(URL, params=key | {"end_date": far})) == []
    r = client.get(URL, params=key | {"page_size": 0})
    assert r.status_code == 422 and "page_size" in r.text


def test_notes_with_extensions(client, three, hotline_key):
    r = client.get(URL, params={"api_key": hotline_key, "extensions": "true"})
    first = r.json()[0]
    assert [n["type"] for n in first["notes"]] == ["report", "accept", "start", "resolve"]
    assert first["notes"][-1]["summary"] == "已清运,联系王某"
    assert first["notes"][-1]["status"] == "closed"
    assert "notes" not in client.get(URL, params={"api_key": hotline_key}).json()[0]
    x = client.get("/open311/v2/requests.xml", params={"api_key": hotline_key, "extensions": 1})
    notes = ET.fromstring(x.content).find("request").find("notes")
    assert [n.findtext("type") for n in notes.findall("note")][:2] == ["report", "accept"]


def test_public_mode_shows_no_personal_data(client, conn, three, hotline_key):
    client.app.state.settings = client.app.state.settings.replace(open311_public=True)
    conn.execute(text("UPDATE incident_categories SET public = true WHERE key = 'dispute'"))
    r = client.get(URL, params={"extensions": "true"})
    rows = {int(x["service_request_id"]): x for x in r.json()}
    assert list(rows) == three  # every area: the public is not scoped
    keyed = {
        int(x["service_request_id"]): x
        for x in client.get(URL, params={"api_key": hotline_key}).json()
    }
    for i, row in rows.items():
        assert row["status_notes"] is None and row["media_url"] is None
        assert all(set(n) == {"datetime", "type", "status", "summary"} for n in row["notes"])
        assert all(n["summary"] is None for n in row["notes"])
        assert "王某" not in str({k: v for k, v in row.items() if k != "description"})
        lon, lat = keyed[i]["long"], keyed[i]["lat"]
        assert (row["long"], row["lat"]) == coarsen(lon, lat)
        dy = (row["lat"] - lat) * 111_320
        dx = (row["long"] - lon) * 111_320 * math.cos(math.radians(lat))
        assert math.hypot(dx, dy) <= 50 / math.sqrt(2) + 1
    assert rows[three[0]]["description"] == ""  # sanitation: not public
    assert rows[three[1]]["description"] == "住户王某反映1"  # dispute: marked public
    one = client.get(f"/open311/v2/requests/{three[0]}.json")
    assert one.status_code == 200 and one.json()[0]["description"] == ""
    # a key still reads with names and notes
    assert keyed[three[0]]["status_notes"] == "已清运,联系王某"


def test_coarsen_moves_at_most_half_a_step():
    for lon, lat in [(119.1, 36.7), (116.35123, 39.90077), (-71.4, 41.8)]:
        x, y = coarsen(lon, lat)
        dy = (y - lat) * 111_320
        dx = (x - lon) * 111_320 * math.cos(math.radians(lat))
        assert abs(dy) <= 25.01 and abs(dx) <= 25.2
        assert coarsen(x, y) == (x, y)
