"""Standard classification codes: categories carry them, a table imports them, Open311 uses them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import main
from gridgeo.errors import InvalidInput
from gridgeo.incidents.codes import import_classification
from gridgeo.tokens import create_api_key
from tests.api.incident_city import INSIDE_A, make_users

TABLE = (
    "代码,名称,label_en,key,受理时限\n"
    "1101010101,市容环境-暴露垃圾,exposed rubbish,sanitation,\n"
    "11010102003,街面秩序-占道经营,street vending,,30\n"
)


@pytest.fixture
def users(conn):
    return make_users(conn)


def _categories(conn):
    from gridgeo.incidents.queries import list_categories

    return {c["key"]: c for c in list_categories(conn)}


def test_import_is_a_dry_run_then_commits(conn, users):
    dry = import_classification(conn, TABLE, actor="test")
    assert (dry.insert, dry.update, dry.errors) == (["std_11010102003"], ["sanitation"], [])
    assert "std_11010102003" not in _categories(conn)
    done = import_classification(conn, TABLE, commit=True, actor="test")
    assert done.committed
    cats = _categories(conn)
    assert cats["sanitation"]["code"] == "1101010101"
    assert cats["sanitation"]["label_zh"] == "市容环境-暴露垃圾"
    new = cats["std_11010102003"]
    assert (new["code"], new["accept_minutes"], new["resolve_minutes"]) == ("11010102003", 30, 1440)
    again = import_classification(conn, TABLE, actor="test")
    assert again.unchanged == ["sanitation", "std_11010102003"] and not again.insert


def test_a_table_with_errors_writes_nothing(conn, users):
    bad = "code,name\n1101010101,甲\n12345,乙\n1101010101,丙\n1101010102,\n"
    report = import_classification(conn, bad, actor="test")
    assert len(report.errors) == 3 and report.insert == ["std_1101010101"]
    assert any("line 3: code '12345'" in e for e in report.errors)
    with pytest.raises(InvalidInput, match="3 errors; nothing was written"):
        import_classification(conn, bad, commit=True, actor="test")
    with pytest.raises(InvalidInput, match="code and a name column"):
        import_classification(conn, "a,b\n1,2\n", actor="test")


def test_admin_sets_a_code_checked_and_unique(client, users):
    h = users["admin"]
    url = "/admin/incident-categories"
    r = client.patch(f"{url}/sanitation", json={"code": "12"}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "code"
    r = client.patch(f"{url}/sanitation", json={"code": "1101010101"}, headers=h)
    assert r.status_code == 200 and r.json()["code"] == "1101010101"
    r = client.patch(f"{url}/dispute", json={"code": "1101010101"}, headers=h)
    assert r.status_code == 409 and r.json()["field"] == "code"


def test_open311_speaks_the_codes(client, conn, users):
    import_classification(conn, TABLE, commit=True, actor="test")
    key = create_api_key(conn, "dispatcher", "12345 hotline", "test").token
    services = {s["service_code"]: s for s in client.get("/open311/v2/services.json").json()}
    assert "1101010101" in services and "sanitation" not in services
    assert "dispute" in services  # no code: the key
    form = {"api_key": key, "service_code": "1101010101", "lat": str(INSIDE_A[1]),
            "long": str(INSIDE_A[0])}  # fmt: skip
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    inc = client.get(f"/incidents/{rid}", headers=users["admin"]).json()
    assert inc["category"] == "sanitation"
    listed = client.get(
        "/open311/v2/requests.json", params={"api_key": key, "service_code": "1101010101"}
    ).json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert listed[0]["service_code"] == "1101010101"


def test_the_command_line_import(tmp_path, engine, monkeypatch):
    path = tmp_path / "codes.csv"
    path.write_text("code,name\n3707050101,测试类\n", encoding="utf-8")
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", engine.url.render_as_string(False))
    dry = CliRunner().invoke(main, ["incidents", "classification", str(path)])
    assert dry.exit_code == 0, dry.output
    assert "1 new categories" in dry.output and "dry run" in dry.output
