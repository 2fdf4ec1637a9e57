"""Issue 4's "done means" through the API on the demo city: split the most overloaded grid, see
the impact, commit, see the history, revert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from tests.api.conftest import app_in_transaction


@pytest.fixture
def demo_client(demo_engine: Any, demo_conn: Connection) -> Iterator[TestClient]:
    with TestClient(app_in_transaction(demo_engine, demo_conn)) as c:
        yield c


def login(client: TestClient, name: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": name, "password": f"{name}-demo-2026"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def most_overloaded(conn: Connection, area: str) -> tuple[str, str, Any]:
    row = conn.execute(
        text(
            """
            SELECT g.code, p.code, ST_AsBinary(g.geom), sum(h.household_count)::float
                   / greatest(s.workers, 1) AS load
            FROM grids g JOIN grids p ON p.id = g.parent_id
            JOIN grid_staff s ON s.grid_id = g.id
            JOIN household_grid a ON a.grid_id = g.id JOIN households h ON h.id = a.household_id
            WHERE g.code LIKE :area AND g.valid_to IS NULL AND length(g.code) = 15
            GROUP BY g.code, p.code, g.geom, s.workers ORDER BY load DESC LIMIT 1
            """
        ),
        {"area": area + "%"},
    ).one()
    return row[0], row[1], shapely.from_wkb(bytes(row[2]))


def test_planner_splits_an_overloaded_demo_grid_commits_and_reverts(
    demo_client: TestClient, demo_conn: Connection
) -> None:
    planner = login(demo_client, "planner")  # area 370705001
    code, community, geom = most_overloaded(demo_conn, "370705001")
    # a north-south line through the middle of the grid, beyond its edges
    c = geom.centroid
    x0, y0, x1, y1 = geom.bounds
    line = {"type": "LineString", "coordinates": [[c.x, y0 - 1e-3], [c.x, y1 + 1e-3]]}

    r = demo_client.post("/plans", json={"area": community, "title": "减负"}, headers=planner)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = demo_client.post(f"/plans/{pid}/edits", json={"op": "split", "code": code, "line": line},
                         headers=planner)  # fmt: skip
    assert r.status_code == 200, r.text
    new_codes = [c for c in r.json()["changed"] if c != code]
    assert new_codes

    p = demo_client.get(f"/plans/{pid}/preview", headers=planner).json()
    assert p["ok"], p["problems"]
    rows = {g["code"]: g for g in p["impact"]["grids"]}
    assert p["impact"]["households_moved"] > 0
    assert rows[code]["households_after"] < rows[code]["households_before"]
    assert rows[code]["status_before"] == "over"

    r = demo_client.post(
        f"/plans/{pid}/commit", json={"message": "拆分超负荷网格"}, headers=planner
    )
    assert r.status_code == 200, r.text
    change_id = r.json()["change_id"]
    hist = demo_client.get(f"/grids/{code}/history", headers=planner).json()["features"]
    assert hist[-1]["properties"]["message"] == "拆分超负荷网格"
    assert len(hist) == 2

    viewer = login(demo_client, "viewer")
    page = demo_client.get(f"/maps/plans/{pid}", headers=viewer)
    assert page.status_code == 200 and "已提交（变更 #" in page.text
    assert "https://" not in page.text.split("<body>")[0]  # no outside scripts
    assert (
        demo_client.get(f"/maps/plans/{pid}", headers=login(demo_client, "patrol")).status_code
        == 403
    )
    r = demo_client.post(f"/changes/{change_id}/revert", json={"message": "撤销"}, headers=planner)
    assert r.status_code == 200, r.text
    back = demo_client.get(f"/grids/{code}", headers=planner).json()
    assert shapely.geometry.shape(back["geometry"]).hausdorff_distance(geom) < 1e-6  # 7 decimals
    assert demo_client.get(f"/grids/{new_codes[0]}", headers=planner).status_code == 404


def test_balancing_an_overloaded_community_gives_a_plan_that_commits(
    demo_client: TestClient, demo_conn: Connection
) -> None:
    """Issue 5's done-means: within the band, contiguous, along roads, previewed, committed."""
    planner = login(demo_client, "planner")
    rows = demo_client.get(
        "/workload", params={"level": "community", "parent": "370705001"}, headers=planner
    ).json()
    over = [
        r["code"] for r in sorted(rows, key=lambda r: -(r["load"] or 0)) if r["status"] == "over"
    ]
    assert over
    body = None
    for code in over:  # the most overloaded community whose buildings allow the band
        r = demo_client.post("/balance?plan=true", json={"area": code, "target": 600},
                             headers=planner)  # fmt: skip
        assert r.status_code == 200, r.text
        s = r.json()["summary"]
        if s["max_abs_deviation"] <= s["band"]:
            body = r.json()
            break
        demo_client.post(f"/plans/{r.json()['plan']['id']}/discard", headers=planner)
    assert body is not None, "no overloaded community of street 370705001 balances within the band"
    s = body["summary"]
    assert s["line_share"] >= 0.8  # boundaries follow roads and rivers
    for f in body["features"]:
        assert shapely.geometry.shape(f["geometry"]).geom_type == "Polygon"  # contiguous
    assert body["preview"]["ok"], body["preview"]["problems"]
    pid = body["plan"]["id"]
    r = demo_client.post(
        f"/plans/{pid}/commit", json={"message": "按600户重新划分"}, headers=planner
    )
    assert r.status_code == 200, r.text
    live = demo_client.get(
        "/grids", params={"level": "grid", "parent": s["area"]}, headers=planner
    ).json()["features"]
    assert len(live) == len(body["features"])
    assert sum(f["properties"]["households"] for f in live) == sum(
        f["properties"]["households"] for f in body["features"]
    )
