"""GET /evaluation (JSON, CSV, xlsx), the trend, the states, the workbook, the public page.

On the constructed history of tests/evaluation_history.py, whose figures are worked by hand in
tests/db/test_evaluation.py; here: the same answers over HTTP, who may see what, the files.
"""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.routers.evaluation import clock
from tests.api.conftest import app_in_transaction
from tests.api.incident_city import COMM_A, COMM_B, DISTRICT, STREET_A
from tests.evaluation_history import NOW, build_history

NOVEMBER = {"period": "2026-11"}


@pytest.fixture
def history(conn):
    return build_history(conn)


@pytest.fixture
def now(client):
    client.app.dependency_overrides[clock] = lambda: NOW


def test_communities_over_http_and_who_sees_what(client, history, now, login_as):
    leader = login_as("viewer", DISTRICT)
    r = client.get("/evaluation", params=NOVEMBER | {"level": "community"}, headers=leader)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parent"] == DISTRICT and body["level"] == "community"
    assert {x["key"]: (x["score"], x["grade"]) for x in body["rows"]} == {
        COMM_A: (75.0, "B"), COMM_B: (75.0, "B")}  # fmt: skip
    assert body["total"]["score"] == 74.9 and body["total"]["grade"] == "C"
    # aggregates only: no incident text, no names (张伟 is a worker, admin the actor)
    assert "incident " not in r.text and "张伟" not in r.text and "admin" not in r.text
    r = client.get("/evaluation", params=NOVEMBER | {"by": "worker"}, headers=leader)
    assert r.status_code == 403
    r = client.get("/evaluation", params=NOVEMBER | {"by": "worker"},
                   headers=login_as("dispatcher", DISTRICT))  # fmt: skip
    assert [x["key"] for x in r.json()["rows"]] == ["张伟"]
    # a street's viewer: its own street, not the district
    street = login_as("viewer", STREET_A)
    assert client.get("/evaluation", params={"parent": DISTRICT}, headers=street).status_code == 403
    r = client.get("/evaluation", params=NOVEMBER, headers=street)
    assert [x["key"] for x in r.json()["rows"]] == [COMM_A]
    assert client.get("/evaluation", params=NOVEMBER).status_code == 401


def test_period_forms_and_bad_input(client, history, now, login_as):
    admin = login_as("admin")
    days = client.get("/evaluation", params={"from": "2026-11-01", "to": "2026-11-30",
                                             "level": "district"}, headers=admin).json()  # fmt: skip
    assert days["period"] == {"label": "2026-11-01..2026-11-30", "from": "2026-11-01",
                              "to": "2026-11-30"}  # fmt: skip
    assert days["total"]["score"] == 74.9
    default = client.get("/evaluation", params={"level": "district"}, headers=admin).json()
    assert default["period"]["label"] == "2026-12"  # the month of now
    for bad in ({"period": "2026-13"}, {"period": "autumn"}, {"level": "planet"},
                {"from": "2026-11-30", "to": "2026-11-01"}, {"by": "colour"}):  # fmt: skip
        r = client.get("/evaluation", params=bad, headers=admin)
        assert r.status_code in (400, 422), (bad, r.text)


def test_csv_and_xlsx(client, history, now, login_as):
    leader = login_as("viewer", DISTRICT)
    r = client.get("/evaluation", params=NOVEMBER | {"level": "community", "format": "csv"},
                   headers=leader)  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    header, first, second, total = text.splitlines()
    assert header.startswith("编码 code,名称 name,排名 rank,等级 grade,综合得分 score")
    assert "结案率 closure rate" in header and "小事不出网格率 settled in the grid" in header
    assert total.startswith(f"{DISTRICT},合计 total,,C,74.9")
    r = client.get("/evaluation/workbook", params=NOVEMBER, headers=leader)
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["区 District", "街道 Street", "社区 Community", "网格 Grid",
                             "部门 departments", "类别 categories", "说明 definitions"]  # fmt: skip
    ws = wb["社区 Community"]
    assert [c.value for c in ws[1]][:5] == ["编码", "名称", "排名", "等级", "综合得分"]
    assert [c.value for c in ws[2]][:5] == ["code", "name", "rank", "grade", "score"]
    assert ws["D3"].value == "B" and ws["D3"].fill.start_color.rgb.endswith("A6D96A")
    assert ws["A5"].value == DISTRICT and ws["D5"].value == "C"  # the total
    rates = [c.value for c in ws[2]].index("closure rate") + 1
    assert ws.cell(3, rates).number_format == "0.0%"
    # a dispatcher's workbook has the workers too
    r = client.get("/evaluation/workbook", params=NOVEMBER,
                   headers=login_as("dispatcher", DISTRICT))  # fmt: skip
    assert "网格员 workers" in load_workbook(io.BytesIO(r.content)).sheetnames


def test_trend_and_states(client, history, now, login_as):
    leader = login_as("viewer", DISTRICT)
    r = client.get("/evaluation/trend", params={"period": "2026Q4"}, headers=leader)
    points = r.json()["points"]
    assert [p["period"]["label"] for p in points] == ["2026-10", "2026-11", "2026-12"]
    assert points[1]["score"] == 74.9
    default = client.get("/evaluation/trend", headers=leader).json()["points"]
    assert len(default) == 12 and default[-1]["period"]["label"] == "2026-12"
    weeks = client.get("/evaluation/trend", params={"period": "2026-11", "bucket": "week"},
                       headers=leader).json()["points"]  # fmt: skip
    assert sum(p["reported"] for p in weeks) == 11
    states = client.get("/evaluation/states", params=NOVEMBER, headers=leader).json()
    assert states == {"reported": 1, "accepted": 1, "dispatched": 0, "in_progress": 0,
                      "resolved": 0, "verified": 0, "closed": 9}  # fmt: skip


def test_trends_by_week_carry_the_rates_and_every_answer_its_server_time(
    client, history, now, login_as
):
    """A week's point has the rates (closure, on time, satisfaction, rework, …), not only counts;
    the weeks of November add up to its hand-worked figures. Each answer says its own time."""
    leader = login_as("viewer", DISTRICT)
    r = client.get("/evaluation/trend", params={"from": "2026-11-01", "to": "2026-11-30",
                   "bucket": "week"}, headers=leader)  # fmt: skip
    assert r.headers["server-timing"].startswith("evaluation;dur=")
    weeks = r.json()["points"]
    assert len(weeks) == 6 and weeks[0]["period"] == {"label": "2026-W44", "from": "2026-11-01",
                                                      "to": "2026-11-01"}  # fmt: skip
    rates = ("closure_rate", "on_time_rate", "satisfied_share", "rework_rate", "extension_rate",
             "in_grid_rate", "mean_rating", "score", "grade")  # fmt: skip
    assert all(k in w for w in weeks for k in rates)
    assert sum(w["due"] for w in weeks) == 11 and sum(w["resolved"] for w in weeks) == 11
    for w in weeks:  # each week's rates from its own sums, "—" (None) where nothing was due
        assert (w["closure_rate"] is None) == (w["due"] == 0)
        assert w["rework_rate"] is None or 0 <= w["rework_rate"] <= 1
    assert sum(w["reopened"] for w in weeks) == 1
    for path, params in (("/evaluation", NOVEMBER), ("/evaluation/states", NOVEMBER)):
        got = client.get(path, params=params, headers=leader)
        assert got.status_code == 200 and "evaluation;dur=" in got.headers["server-timing"]


def test_the_public_page(engine, conn, history):
    with TestClient(app_in_transaction(engine, conn)) as c:
        assert c.get("/evaluation/public").status_code == 404
    with TestClient(app_in_transaction(engine, conn, public_evaluation=True)) as c:
        c.app.dependency_overrides[clock] = lambda: NOW  # last month: November
        r = c.get("/evaluation/public")
        assert r.status_code == 200 and "2026-11-01" in r.text
        assert f"区域{COMM_A}" in r.text and f"区域{COMM_B}" in r.text
        assert "75.0" in r.text and "<script" not in r.text
        assert "incident " not in r.text and "张伟" not in r.text and "admin" not in r.text
        assert "Closure rate".lower() in c.get("/evaluation/public?lang=en").text.lower()
