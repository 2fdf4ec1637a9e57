import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from gridgeo.bulk_assign import assign_households
from tests.helpers import C1, C2, G1, G2, G3, S1, S2, D, add_strip_city


@pytest.fixture
def city(conn):
    add_strip_city(conn)
    conn.execute(
        text(
            "INSERT INTO households (location, household_count) VALUES "
            "(ST_Point(0.5, 0.5, 4326), 600), (ST_Point(1.5, 0.5, 4326), 400), "
            "(ST_Point(2.5, 0.5, 4326), 200)"
        )
    )
    assign_households(conn)


def test_workload_json_csv_xlsx(client, city, login_as):
    client.headers.update(login_as("viewer", D))
    r = client.get("/workload", params={"level": "grid"})
    assert r.status_code == 200
    body = {row["code"]: row for row in r.json()}
    assert body[G2]["status"] == "over" and body[G2]["load"] == 400.0
    assert body[G3]["status"] == "under" and body[G3]["workers_needed"] == 1
    r = client.get("/workload", params={"parent": D, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="workload-110101.csv"' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [S1, S2]
    r = client.get("/workload", params={"level": "community", "format": "xlsx"})
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    assert [ws.cell(i, 1).value for i in (3, 4)] == [C1, C2]


def test_workload_bad_input(client, city, login_as):
    client.headers.update(login_as("admin"))
    r = client.get("/workload", params={"level": "province"})
    assert r.status_code == 400 and "unknown level" in r.json()["message"]
    r = client.get("/workload", params={"parent": "999999"})
    assert r.status_code == 404 and "999999" in r.json()["message"]
    r = client.get("/workload", params={"format": "pdf"})
    assert r.status_code == 422 and "format" in r.json()["message"]


@pytest.mark.parametrize(
    ("role", "status"),
    [("viewer", 200), ("planner", 200), ("dispatcher", 200), ("admin", 200), ("patrol", 403)],
)
def test_workload_roles(client, city, login_as, role, status):
    areas = () if role == "admin" else (S1,)
    r = client.get("/workload", headers=login_as(role, *areas))
    assert r.status_code == status
    if status == 200 and role != "admin":
        assert {row["code"] for row in r.json()} == {S1, C1, G1, G2}


def test_workload_area_scope(client, city, login_as):
    h = login_as("planner", S1)
    assert client.get("/workload", params={"parent": S2}, headers=h).status_code == 403
    assert client.get("/workload", params={"parent": D}, headers=h).status_code == 403
    assert client.get("/workload").status_code == 401


def test_config_update_audited_and_scoped(client, conn, city, login_as):
    planner = login_as("planner", S1)
    r = client.put(
        f"/workload/config/{S1}", json={"households_per_worker": 400, "band": 0.05}, headers=planner
    )
    assert r.status_code == 200, r.text
    rows = {x["code"]: x for x in client.get("/workload", headers=planner).json()}
    assert rows[G2]["standard"] == 400 and rows[G2]["status"] == "within"
    actor = conn.execute(
        text("SELECT actor FROM audit_log WHERE action = 'workload.config' AND entity_id = :c"),
        {"c": S1},
    ).scalar()
    assert actor.endswith("_planner")
    # outside the area, bad values, unknown area, wrong role: refused, nothing stored
    ok = {"households_per_worker": 300, "band": 0.1}
    assert client.put(f"/workload/config/{S2}", json=ok, headers=planner).status_code == 403
    bad = client.put(
        f"/workload/config/{S1}", json={"households_per_worker": 0, "band": 0.1}, headers=planner
    )
    assert bad.status_code == 422 and "households_per_worker" in bad.json()["message"]
    bad = client.put(
        f"/workload/config/{S1}", json={"households_per_worker": 300, "band": 2}, headers=planner
    )
    assert bad.status_code == 422 and "band" in bad.json()["message"]
    admin = login_as("admin")
    r = client.put("/workload/config/110101009", json=ok, headers=admin)
    assert r.status_code == 404 and "110101009" in r.json()["message"]
    viewer = login_as("viewer", D)
    assert client.put(f"/workload/config/{S1}", json=ok, headers=viewer).status_code == 403
    stored = conn.execute(text("SELECT area_code, households_per_worker FROM workload_config"))
    assert stored.all() == [(S1, 400)]


def test_workers_crud_and_phone_privacy(client, conn, city, login_as):
    planner = login_as("planner", S1)
    r = client.post(
        f"/grids/{G2}/workers",
        json={"name": "王芳", "role": "网格长", "phone": "13800000000"},
        headers=planner,
    )
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    assert r.json()["role"] == "grid_head" and r.json()["role_zh"] == "网格长"
    viewer = login_as("viewer", S1)
    staff = client.get(f"/grids/{G2}/workers", headers=viewer).json()
    assert staff["effective"] == 1 and "phone" not in staff["workers"][0]
    staff = client.get(f"/grids/{G2}/workers", headers=planner).json()
    assert staff["workers"][0]["phone"] == "13800000000"
    patrol = login_as("patrol", G1)
    assert client.get(f"/grids/{G2}/workers", headers=patrol).status_code == 403
    assert client.get(f"/grids/{G1}/workers", headers=patrol).status_code == 200
    # viewers cannot write; planners only in their area
    new = {"name": "李四", "role": "mediator"}
    assert client.post(f"/grids/{G2}/workers", json=new, headers=viewer).status_code == 403
    assert client.post(f"/grids/{G3}/workers", json=new, headers=planner).status_code == 403
    r = client.post(f"/grids/{G2}/workers", json={"name": "x", "role": "boss"}, headers=planner)
    assert r.status_code == 400 and "unknown role" in r.json()["message"]
    r = client.patch(f"/workers/{wid}", json={"full_time": False}, headers=planner)
    assert r.status_code == 200 and r.json()["full_time"] is False
    other = login_as("planner", S2)
    assert client.patch(f"/workers/{wid}", json={"name": "y"}, headers=other).status_code == 403
    assert client.delete(f"/workers/{wid}", headers=other).status_code == 403
    assert client.delete("/workers/999999", headers=other).status_code == 403
    assert client.delete("/workers/999999", headers=login_as("admin")).status_code == 404
    assert client.delete(f"/workers/{wid}", headers=planner).status_code == 204
    actions = conn.execute(
        text("SELECT action FROM audit_log WHERE entity = 'workers' ORDER BY id")
    ).scalars()
    assert list(actions) == ["worker.add", "worker.update", "worker.delete"]


def test_worker_import_dry_run_and_commit(client, conn, city, login_as):
    planner = login_as("planner", S1)
    roster = f"grid_code,name,role,full_time\n{G2},张三,网格长,是\n{G2},李四,网格管理员,是\n"
    files = {"file": ("roster.csv", roster.encode("utf-8-sig"), "text/csv")}
    r = client.post("/workers/import", files=files, headers=planner)
    assert r.status_code == 200 and r.json()["insert"] == 2 and not r.json()["committed"]
    assert client.get(f"/grids/{G2}/workers", headers=planner).json()["named"] == 0
    r = client.post("/workers/import", params={"commit": True}, files=files, headers=planner)
    assert r.status_code == 200 and r.json()["committed"]
    rows = {x["code"]: x for x in client.get("/workload", headers=planner).json()}
    assert rows[G2]["workers"] == 2 and rows[G2]["status"] == "under"
    # a row outside the planner's area: rejected, nothing written
    bad = roster + f"{G3},王五,网格长,是\n"
    files = {"file": ("roster.csv", bad.encode(), "text/csv")}
    r = client.post("/workers/import", params={"commit": True}, files=files, headers=planner)
    assert r.status_code == 400 and "outside your areas" in r.json()["message"]
    assert r.json()["report"]["errors"][0]["row"] == 4
    assert client.get(f"/grids/{G2}/workers", headers=planner).json()["named"] == 2
    files = {"file": ("roster.txt", b"x", "text/plain")}
    r = client.post("/workers/import", files=files, headers=planner)
    assert r.status_code == 400 and "unknown format" in r.json()["message"]
