import os

from sqlalchemy import text

from api.app import _telemetry
from tests.helpers import add_box


def test_health_levels_and_locate(client, conn, login_as):
    add_box(conn, "110101", "district", 0, 0, 2, 1)
    add_box(conn, "110101001", "street", 0, 0, 1, 1, "110101")
    add_box(conn, "110101002", "street", 1, 0, 2, 1, "110101")
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    client.headers.update(login_as("viewer", "110101"))
    assert [lv["key"] for lv in client.get("/levels").json()] == [
        "district",
        "street",
        "community",
        "grid",
    ]
    r = client.get("/locate", params={"lon": 0.5, "lat": 0.5})
    assert r.status_code == 200
    assert [c["code"] for c in r.json()["chain"]] == ["110101", "110101001"]
    # on the shared edge x=1: deepest level, then the smallest code
    r = client.get("/locate", params={"lon": 1.0, "lat": 0.5})
    assert r.json()["grid"]["code"] == "110101001"
    r = client.get("/locate", params={"lon": 3.0, "lat": 0.5})
    assert r.status_code == 404
    assert r.json()["nearest"]["code"] in {"110101", "110101002"}
    assert 100_000 < r.json()["nearest"]["distance_m"] < 120_000


def test_bad_input_is_4xx_with_message(client, login_as):
    client.headers.update(login_as("admin"))
    r = client.get("/locate", params={"lon": "abc", "lat": 1})
    assert r.status_code == 422 and "lon" in r.json()["message"]
    r = client.get("/locate", params={"lon": 200, "lat": 1})
    assert r.status_code == 400 and "out of range" in r.json()["message"]
    r = client.get("/locate", params={"lon": "nan", "lat": 1})
    assert r.status_code in (400, 422) and "lon" in r.json()["message"]
    r = client.get("/grids", params={"bbox": "1,2,3"})
    assert r.status_code == 400 and "4 numbers" in r.json()["message"]
    r = client.get("/grids", params={"level": "province"})
    assert r.status_code == 400 and "unknown level" in r.json()["message"]
    r = client.get("/grids/999999")
    assert r.status_code == 404 and "999999" in r.json()["message"]


def test_grids_geojson_rollup(client, conn, login_as):
    add_box(conn, "110101", "district", 0, 0, 2, 1)
    add_box(conn, "110101001", "street", 0, 0, 1, 1, "110101", workers=2)
    add_box(conn, "110101002", "street", 1, 0, 2, 1, "110101", workers=1)
    conn.execute(
        text(
            "INSERT INTO households (location, household_count) VALUES "
            "(ST_Point(0.5, 0.5, 4326), 400), (ST_Point(1.5, 0.5, 4326), 290)"
        )
    )
    from gridgeo.bulk_assign import assign_households

    assign_households(conn)
    client.headers.update(login_as("planner", "110101"))
    fc = client.get("/grids", params={"level": "street"}).json()
    props = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert props["110101001"]["households"] == 400 and props["110101001"]["load"] == 200.0
    assert props["110101002"]["load"] == 290.0
    top = client.get("/grids/110101").json()["properties"]
    assert top["households"] == 690 and top["workers"] == 3
    assert top["children"] == ["110101001", "110101002"] and top["ancestors"] == []
    assert client.get("/grids/110101002").json()["properties"]["ancestors"] == ["110101"]
    page = client.get("/households", params={"grid": "110101", "limit": 1}).json()
    assert len(page["features"]) == 1 and page["next_after"] is not None
    page2 = client.get(
        "/households", params={"grid": "110101", "limit": 1, "after": page["next_after"]}
    ).json()
    assert page2["features"][0]["id"] != page["features"][0]["id"]
    html = client.get("/map").text
    assert "110101001" in html and "leaflet" in html.lower()


def test_fastapi_telemetry_is_off_unless_the_environment_configures_opentelemetry(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("OTEL_", "FASTAPI_OTEL_"))]:
        monkeypatch.delenv(key)
    assert _telemetry() == {"tracing": False, "metrics": False, "logs": False}
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert _telemetry() is None  # FastAPI's defaults: on, with the global providers
