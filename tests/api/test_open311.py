"""Open311 GeoReport v2: services, requests (JSON and XML), api_key, state mapping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gridgeo.tokens import create_api_key
from tests.api.incident_city import GRID_A, INSIDE_A, count, make_users


@pytest.fixture
def users(conn):
    return make_users(conn)


@pytest.fixture
def hotline_key(conn, users):
    """The 12345 hotline: a machine client with an API key (a dispatcher of the district)."""
    return create_api_key(conn, "dispatcher", "12345 hotline", "test").token


def form(**extra):
    return {
        "service_code": "sanitation",
        "lat": str(INSIDE_A[1]),
        "long": str(INSIDE_A[0]),
        "description": "12345热线:小区门口垃圾",
        **extra,
    }


def test_services_json_and_xml_are_public(client):
    r = client.get("/open311/v2/services.json")
    assert r.status_code == 200
    codes = {s["service_code"]: s for s in r.json()}
    assert codes["dispute"]["service_name"] == "矛盾纠纷" and codes["dispute"]["metadata"] is False
    x = client.get("/open311/v2/services.xml")
    assert x.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(x.content)
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.findall("service")} == set(codes)
    assert client.get("/open311/v2/services.csv").status_code == 422


def test_post_with_api_key_field_then_get(client, conn, hotline_key):
    r = client.post("/open311/v2/requests.json", data=form(api_key=hotline_key))
    assert r.status_code == 201, r.text
    [made] = r.json()
    rid = made["service_request_id"]
    one = client.get(f"/open311/v2/requests/{rid}.json", headers={"X-API-Key": hotline_key})
    assert one.status_code == 200
    [req] = one.json()
    assert req["status"] == "open" and req["service_code"] == "sanitation"
    assert req["lat"] == pytest.approx(INSIDE_A[1]) and req["long"] == pytest.approx(INSIDE_A[0])
    assert req["service_name"] == "环境卫生"
    inc = client.get(f"/incidents/{rid}", headers={"X-API-Key": hotline_key}).json()
    assert inc["grid"] == GRID_A and inc["reporter"] == "dispatcher"


def test_post_xml_and_device_id_is_idempotent(client, conn, hotline_key):
    h = {"X-API-Key": hotline_key}
    r = client.post("/open311/v2/requests.xml", data=form(device_id="call-0001"), headers=h)
    assert r.status_code == 201
    root = ET.fromstring(r.content)
    rid = root.find("request").findtext("service_request_id")
    again = client.post("/open311/v2/requests.xml", data=form(device_id="call-0001"), headers=h)
    assert ET.fromstring(again.content).find("request").findtext("service_request_id") == rid
    assert count(conn) == 1


def test_post_needs_a_key_and_valid_input(client, conn, users, hotline_key):
    assert client.post("/open311/v2/requests.json", data=form()).status_code == 401
    bad = client.post("/open311/v2/requests.json", data=form(api_key="ggk_nope"))
    assert bad.status_code == 401
    viewer = client.post("/open311/v2/requests.json", data=form(), headers=users["viewer"])
    assert viewer.status_code == 403
    no_loc = form(api_key=hotline_key, address_string="和平路1号")
    del no_loc["lat"], no_loc["long"]
    r = client.post("/open311/v2/requests.json", data=no_loc)
    assert r.status_code == 400 and "lat and long" in r.json()["message"]
    r = client.post("/open311/v2/requests.json", data=form(api_key=hotline_key, service_code="x"))
    assert r.status_code == 400
    assert count(conn) == 0


def test_state_mapping_and_filters(client, conn, users, hotline_key):
    h = {"X-API-Key": hotline_key}
    ids = []
    for k in range(2):
        r = client.post(
            "/open311/v2/requests.json", data=form(long=str(116.31 + k / 100)), headers=h
        )
        ids.append(int(r.json()[0]["service_request_id"]))
    for action, extra in [("accept", {}), ("start", {}), ("resolve", {"note": "已清运"})]:
        t = client.post(
            f"/incidents/{ids[1]}/transitions",
            json={"action": action, **extra},
            headers=users["dispatcher"],
        )
        assert t.status_code == 200, t.text

    def listed(q):
        r = client.get("/open311/v2/requests.json" + q, headers=h)
        assert r.status_code == 200, r.text
        return {int(x["service_request_id"]): x for x in r.json()}

    assert set(listed("")) == set(ids)
    assert set(listed("?status=open")) == {ids[0]}
    closed = listed("?status=closed")
    assert set(closed) == {ids[1]} and closed[ids[1]]["status_notes"] == "已清运"
    assert set(listed(f"?service_request_id={ids[1]}")) == {ids[1]}
    assert listed("?service_code=dispute") == {}
    x = client.get("/open311/v2/requests.xml?status=closed", headers=h)
    root = ET.fromstring(x.content)
    assert [r.findtext("status") for r in root.findall("request")] == ["closed"]
    # area scoping: another grid's patrol sees nothing and is refused one by id
    assert client.get("/open311/v2/requests.json", headers=users["patrol_b"]).json() == []
    hidden = client.get(f"/open311/v2/requests/{ids[0]}.json", headers=users["patrol_b"])
    assert hidden.status_code == 403
    assert client.get("/open311/v2/requests.json").status_code == 401


@pytest.fixture
def media_client(engine, conn, tmp_path):
    """A client with a private data folder for the photos."""
    from fastapi.testclient import TestClient

    from tests.api.conftest import app_in_transaction

    app = app_in_transaction(engine, conn, data_dir=tmp_path / "data", escalation_interval_s=0)
    with TestClient(app) as c:
        yield c


def test_post_with_a_media_file_stores_the_photo_and_answers_its_url(
    media_client, conn, hotline_key, tmp_path
):
    from tests.api.test_photos_api import image

    key = {"X-API-Key": hotline_key}
    files = {"media": ("scene.jpg", image(), "image/jpeg")}
    r = media_client.post("/open311/v2/requests.json", data=form(), files=files, headers=key)
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    [req] = media_client.get(f"/open311/v2/requests/{rid}.json", headers=key).json()
    photo = media_client.get(f"/incidents/{rid}", headers=key).json()["photos"][0]
    assert req["media_url"] == f"http://testserver/incidents/{rid}/photos/{photo['id']}"
    got = media_client.get(req["media_url"].removeprefix("http://testserver"), headers=key)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    listed = media_client.get("/open311/v2/requests.xml", headers=key)
    urls = {el.findtext("service_request_id"): el.findtext("media_url")
            for el in ET.fromstring(listed.content).findall("request")}  # fmt: skip
    assert urls[rid] == req["media_url"]


def test_post_with_a_media_url_keeps_it(client, hotline_key):
    key = {"X-API-Key": hotline_key}
    link = "https://12345.example.cn/media/2026/11/abc.jpg"
    r = client.post("/open311/v2/requests.json", data=form(media_url=link), headers=key)
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    assert (
        client.get(f"/open311/v2/requests/{rid}.json", headers=key).json()[0]["media_url"] == link
    )
    assert client.get(f"/incidents/{rid}", headers=key).json()["media_url"] == link


@pytest.mark.parametrize("link", ["ftp://x.cn/a.jpg", "javascript:alert(1)", "/media/a.jpg",
                                  "https://x.cn/" + "a" * 2000])  # fmt: skip
def test_bad_media_is_refused_and_nothing_stored(client, conn, hotline_key, link):
    key = {"X-API-Key": hotline_key}
    before = count(conn)
    r = client.post("/open311/v2/requests.json", data=form(media_url=link), headers=key)
    assert r.status_code == 400 and "media_url" in r.json()["message"], r.text
    files = {"media": ("notes.txt", b"not an image at all", "text/plain")}
    r = client.post("/open311/v2/requests.json", data=form(), files=files, headers=key)
    assert r.status_code == 400, r.text
    assert count(conn) == before
