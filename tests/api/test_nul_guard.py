"""A NUL in any text the API receives: 400 naming the field, before PostgreSQL sees it."""

from __future__ import annotations

import pytest

from api.nul_guard import nul_in_json, nul_in_pairs
from tests.api.incident_city import INSIDE_A, make_users


@pytest.fixture
def users(conn):
    return make_users(conn)


def _refused(r, field: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "InvalidInput" and body["field"] == field
    assert field in body["message"] and "NUL" in body["message"]


def test_finders_name_the_field():
    assert nul_in_pairs([("a", "x"), ("q", "a\x00b")]) == "q"
    assert nul_in_pairs([("a", "x")]) is None
    assert nul_in_json(b'{"a": [1, {"b": "x\\u0000"}]}') == "a[1].b"
    assert nul_in_json(b'{"a": "\\\\u0000"}') is None  # an escaped backslash, no NUL
    assert nul_in_json(b"not json \x00") is None  # left to the route


def test_query_parameters(client, users):
    _refused(client.get("/maps/search?q=ab%00c", headers=users["viewer"]), "q")
    _refused(client.get("/open311/v2/requests.json?service_code=%00"), "service_code")
    assert client.get("/maps/search?q=%E4%B8%9C", headers=users["viewer"]).status_code == 200


def test_path_parameters(client, users):
    _refused(client.get("/grids/11%00", headers=users["viewer"]), "code")


def test_json_form_and_multipart_bodies(client, users):
    report = {"lon": INSIDE_A[0], "lat": INSIDE_A[1], "category": "sanitation"}
    bad = report | {"description": "垃圾\x00"}
    _refused(client.post("/incidents", json=bad, headers=users["patrol"]), "description")
    _refused(
        client.post("/open311/v2/requests.json", data={"service_code": "a\x00", "lat": "1"}),
        "service_code",
    )
    photo = ("p.jpg", b"\xff\xd8\x00\x00binary", "image/jpeg")
    r = client.post(
        "/incidents",
        data={k: str(v) for k, v in bad.items()},
        files={"photo": photo},
        headers=users["patrol"],
    )
    _refused(r, "description")
    # bytes of a file may be anything: the route judges the photo (here: not a JPEG)
    fine = {k: str(v) for k, v in report.items()}
    r = client.post("/incidents", data=fine, files={"photo": photo}, headers=users["patrol"])
    assert r.status_code == 400 and r.json()["field"] == "photo"
