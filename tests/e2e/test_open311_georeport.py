"""A standard GeoReport v2 client (``georeport`` from PyPI) reads gridgeo's Open311 API.

``georeport`` sends no key on GET (the specification asks for one only when posting): it
reads with a key carried as the URL's Basic credentials, and without one in public mode.
"""

from __future__ import annotations

import httpx
import pytest
import requests
from georeport import GeoReport
from shapely.geometry import shape

from tests.e2e.conftest import serve_app, token

GRID = "370705001001001"  # the demo patrol's grid, in the dispatcher's street


def _post_requests(url: str) -> tuple[str, list[str]]:
    """A dispatcher's API key, and two requests it posted (one to be read back by id)."""
    admin = {"Authorization": f"Bearer {token(url, 'admin', 'admin-demo-2026')}"}
    r = httpx.post(url + "/admin/users/dispatcher/keys", json={"label": "georeport"}, headers=admin)
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    point = shape(httpx.get(f"{url}/grids/{GRID}", headers=admin).json()["geometry"])
    inside = point.representative_point()
    ids = []
    for k in range(2):
        form = {"api_key": key, "service_code": "sanitation", "lat": str(inside.y),
                "long": str(inside.x), "description": f"georeport {k}"}  # fmt: skip
        r = httpx.post(url + "/open311/v2/requests.json", data=form)
        assert r.status_code == 201, r.text
        ids.append(r.json()[0]["service_request_id"])
    return key, ids


def test_georeport_reads_with_a_key_and_publicly(demo_engine):
    with serve_app(demo_engine) as url:
        key, ids = _post_requests(url)
        host = url.removeprefix("http://")
        anonymous = GeoReport(f"{url}/open311/v2")
        assert {s["service_code"] for s in anonymous.get_service_list()} >= {"sanitation"}
        with pytest.raises(requests.HTTPError) as refused:
            anonymous.get_service_requests()
        assert refused.value.response.status_code == 401
        for fmt in ("json", "xml"):
            keyed = GeoReport(f"http://api_key:{key}@{host}/open311/v2", output_format=fmt)
            listed = keyed.get_service_requests(service_code="sanitation", status="open")
            listed = listed if isinstance(listed, list) else [listed]
            assert set(ids) <= {r["service_request_id"] for r in listed}
            one = keyed.get_service_request(ids[1])
            one = one[0] if isinstance(one, list) else one
            assert one["description"] == "georeport 1"
    with serve_app(demo_engine, open311_public=True) as url:
        public = GeoReport(f"{url}/open311/v2")
        rows = {r["service_request_id"]: r for r in public.get_service_requests()}
        assert set(ids) <= set(rows)
        assert rows[ids[1]]["description"] == ""  # sanitation is not marked public
        assert rows[ids[1]]["status_notes"] is None
        assert public.get_service_request(ids[0])["service_request_id"] == ids[0]
