"""End to end (HTTP): a planner imports buildings and addresses for one community, sees them on
the grid page, splits a tower by unit with a plan, and a report at the tower lands in the grid
that holds its unit. Also: who sees what, locate with a unit, OGC items and exports by the rule.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from boundaries.buildings import import_addresses, import_buildings
from tests.plan_city import A, B, C, E, add_plan_city, box


def _panels(page: str) -> str:
    """The HTML of the page's panels (embedded as JSON strings in the script)."""
    key, out, at = "div.innerHTML = ", [], 0
    decoder = json.JSONDecoder()
    while (at := page.find(key, at)) >= 0:
        html, at = decoder.raw_decode(page, at + len(key))
        out.append(html)
    return "".join(out)


def _tower_file(tmp_path: Path) -> Path:
    x0, y0, x1, y1 = box(A)
    cx, cy, d = x0 + 0.7 * (x1 - x0), (y0 + y1) / 2, 0.0001
    ring = [
        [cx - d, cy - d],
        [cx + d, cy - d],
        [cx + d, cy + d],
        [cx - d, cy + d],
        [cx - d, cy - d],
    ]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
         "properties": {"code": "XF-3", "number": "3", "compound": "幸福小区", "floors": 30,
                        "units": 4, "households": 240}},
    ]}  # fmt: skip
    p = tmp_path / "tower.geojson"
    p.write_text(json.dumps(fc), "utf-8")
    return p


def test_planner_splits_a_tower_by_unit_and_a_report_follows(
    client, conn, login_as, tmp_path: Path
) -> None:
    add_plan_city(conn)
    # 1. import the community's buildings and an address list (dry run, then commit)
    path = _tower_file(tmp_path)
    assert import_buildings(conn, path, community=C).ok
    import_buildings(conn, path, community=C, commit=True, actor="planner")
    csv = tmp_path / "addresses.csv"
    csv.write_text("地址\n幸福小区3号楼4单元1501室\n3-4-1502\n幸福小区3号楼4单元\n", "utf-8")
    report = import_addresses(conn, csv, compound="幸福小区", community=C)
    assert [p.kind for p in report.problems] == []
    import_addresses(conn, csv, compound="幸福小区", community=C, commit=True, actor="planner")
    planner, patrol_b = login_as("planner", C), login_as("patrol", B)
    viewer = login_as("viewer", C)
    # 2. the grid's buildings and units, in the API and on the grid page
    got = client.get(f"/grids/{A}/buildings", headers=planner)
    assert got.status_code == 200, got.text
    (tower,) = got.json()["buildings"]
    assert tower["households"] == 180 + 3 and not tower["split"]
    assert [(u["number"], u["households"], u["grid"]) for u in tower["units"]] == [
        ("1", 60, A), ("2", 60, A), ("3", 60, A), ("4", 3, A)
    ]  # fmt: skip
    seen = client.get(f"/grids/{A}/buildings", headers=viewer).json()["buildings"][0]
    assert "units" not in seen and "heads" not in seen and seen["households"] == 183
    assert client.get(f"/grids/{A}/buildings", headers=patrol_b).status_code == 403
    page = client.get(f"/maps/grids/{A}", headers=planner)
    assert page.status_code == 200
    panels = _panels(page.text)
    assert 'data-building="XF-3"' in panels
    assert "4单元" in panels and "楼栋与单元" in panels
    en = _panels(client.get(f"/maps/grids/{A}?lang=en", headers=planner).text)
    assert "Buildings and units" in en and "unit 4" in en
    counts = _panels(client.get(f"/maps/grids/{A}", headers=viewer).text)
    assert 'data-building="XF-3"' in counts and "data-unit" not in counts
    # 3. a plan moves units 3 and 4 of the tower to grid B: edit, preview, commit
    pid = client.post("/plans", json={"area": C, "title": "split 3号楼"}, headers=planner).json()[
        "id"
    ]
    move = {"op": "move_units", "building": "XF-3", "units": ["3", "4"], "grid": B}
    r = client.post(f"/plans/{pid}/edits", json=move, headers=planner)
    assert r.status_code in (200, 201), r.text
    bad = client.post(f"/plans/{pid}/edits", json=move | {"units": ["9"]}, headers=planner)
    assert bad.status_code == 400 and "has no unit 9" in bad.text
    pre = client.get(f"/plans/{pid}/preview", headers=planner).json()
    assert pre["ok"] and [
        (m["from"], m["to"], m["households"]) for m in pre["impact"]["moves"]
    ] == [(A, B, 63)]
    r = client.post(
        f"/plans/{pid}/commit", json={"message": "3号楼3–4单元划入B网格"}, headers=planner
    )
    assert r.status_code == 200, r.text
    after = client.get(f"/grids/{A}/buildings", headers=planner).json()["buildings"][0]
    assert after["split"] and after["households"] == 120
    assert [u["grid"] for u in after["units"]] == [A, A, B, B]
    in_b = client.get(f"/grids/{B}/buildings", headers=planner).json()["buildings"]
    assert [b["code"] for b in in_b] == ["XF-3"] and in_b[0]["households"] == 63
    # 4. a report at the tower with the unit given lands in the grid holding the unit
    at = {"lon": box(E)[0] + 0.0005, "lat": box(E)[1] + 0.0005, "category": "sanitation"}
    r = client.post("/incidents", json=at | {"building": "XF-3", "unit": "4"}, headers=patrol_b)
    assert r.status_code == 201, r.text
    assert r.json()["grid"] == B
    stored = conn.execute(
        text("SELECT b.code, u.number FROM incidents i JOIN buildings b ON b.id = i.building_id "
             "JOIN building_units u ON u.id = i.unit_id WHERE i.id = :i"), {"i": r.json()["id"]},
    ).one()  # fmt: skip
    assert tuple(stored) == ("XF-3", "4")
    r = client.post("/incidents", json=at | {"building": "XF-3", "unit": "1"}, headers=patrol_b)
    assert r.status_code == 403  # unit 1 is in grid A, outside the patrol's area
    r = client.post("/incidents", json=at | {"unit": "1"}, headers=patrol_b)
    assert r.status_code == 400 and "unit needs its building" in r.text
    # locate with the unit, and the workload, follow the rule
    loc = client.get(
        f"/locate?lon={at['lon']}&lat={at['lat']}&building=XF-3&unit=4", headers=planner
    )
    assert loc.status_code == 200 and loc.json()["grid"]["code"] == B
    plain = client.get(f"/locate?lon={at['lon']}&lat={at['lat']}", headers=planner).json()
    assert plain["grid"]["code"] == E
    wl = client.get(f"/workload?parent={C}", headers=planner)
    assert wl.status_code == 200, wl.text
    rows = {r["code"]: r["households"] for r in wl.json()}
    assert rows[A] == 100 + 120 and rows[B] == 100 + 63
    # the grids' own figures (GET /grids, the source of the map and exports) agree
    feats = client.get(f"/grids?parent={C}", headers=planner).json()["features"]
    by_code = {f["properties"]["code"]: f["properties"]["households"] for f in feats}
    assert by_code[A] == 220 and by_code[B] == 163
