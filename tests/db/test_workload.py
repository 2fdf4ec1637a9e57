import time

import pytest
from sqlalchemy import text

from gridgeo.bulk_assign import assign_households
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import load_hierarchy
from gridgeo.workers import add_worker, import_workers, list_workers
from gridgeo.workload import set_config, workload_report
from tests.helpers import C1, C2, G1, G2, G3, S1, S2, D, add_strip_city


@pytest.fixture
def city(conn):
    """District of 2 streets, 2 communities, 3 grids; G1 600 households/2 workers (within),
    G2 400/1 (over), G3 200/1 (under)."""
    add_strip_city(conn)
    conn.execute(
        text(
            "INSERT INTO households (location, household_count) VALUES "
            "(ST_Point(0.5, 0.5, 4326), 600), (ST_Point(1.5, 0.5, 4326), 400), "
            "(ST_Point(2.5, 0.5, 4326), 200)"
        )
    )
    assign_households(conn)
    return load_hierarchy(conn)


def _by_code(rows):
    return {r.code: r for r in rows}


def test_grid_rows_and_rollup(conn, city):
    rows = _by_code(workload_report(conn, city, level="grid", default_standard=300))
    assert [rows[g].status for g in (G1, G2, G3)] == ["within", "over", "under"]
    assert rows[G2].load == 400 and rows[G2].workers_needed == 2 and rows[G2].gap == 1
    assert rows[G3].deviation == pytest.approx(200 / 300 - 1)
    every = _by_code(workload_report(conn, city, default_standard=300))
    assert len(every) == 8
    assert (every[C1].households, every[C1].workers) == (1000, 3)
    assert (every[D].households, every[D].workers, every[D].workers_needed) == (1200, 4, 4)
    assert every[D].status == "within" and every[S2].status == "under"
    # parent alone: its direct children; level + parent: that level below the parent
    assert [r.code for r in workload_report(conn, city, parent=D, default_standard=300)] == [S1, S2]
    assert [
        r.code for r in workload_report(conn, city, level="grid", parent=S1, default_standard=300)
    ] == [G1, G2]
    assert [r.code for r in workload_report(conn, city, areas=(S2,), default_standard=300)] == [
        S2,
        C2,
        G3,
    ]


def test_bad_level_and_parent(conn, city):
    with pytest.raises(InvalidInput, match="unknown level"):
        workload_report(conn, city, level="province", default_standard=300)
    with pytest.raises(NotFound, match="999"):
        workload_report(conn, city, parent="999", default_standard=300)


def test_config_nearest_ancestor_wins(conn, city):
    set_config(conn, D, 200, 0.2, "test")
    set_config(conn, S1, 400, 0.05, "test")
    rows = _by_code(workload_report(conn, city, default_standard=300))
    assert (rows[G2].standard, rows[G2].band, rows[G2].config_area) == (400, 0.05, S1)
    assert rows[G2].status == "within"  # 400 households/worker at 400
    assert rows[G1].status == "under"  # 300 at 400 ± 5 %
    assert (rows[G3].standard, rows[G3].config_area) == (200, D)
    assert rows[G3].status == "within"
    assert rows[D].standard == 200 and rows[D].workers_needed == 6
    # changing it again replaces it, and both changes are in the audit log
    set_config(conn, S1, 300, 0.1, "test")
    assert _by_code(workload_report(conn, city, default_standard=300))[G2].standard == 300
    n = conn.execute(
        text("SELECT count(*) FROM audit_log WHERE action = 'workload.config'")
    ).scalar()
    assert n == 3
    with pytest.raises(InvalidInput):
        set_config(conn, S1, 0, 0.1, "test")
    with pytest.raises(InvalidInput):
        set_config(conn, S1, 300, 1.5, "test")
    with pytest.raises(NotFound):
        set_config(conn, "110101009", 300, 0.1, "test")


def test_named_full_time_workers_replace_the_count(conn, city):
    # part-time helpers do not count: the stored count (1) stays
    add_worker(conn, G2, {"name": "楼长甲", "role": "building_head", "full_time": False}, "t")
    assert (
        _by_code(workload_report(conn, city, level="grid", default_standard=300))[G2].workers == 1
    )
    # once the grid has full-time named workers, their number is the count
    add_worker(conn, G2, {"name": "网格长乙", "role": "网格长"}, "t")
    add_worker(
        conn, G2, {"name": "巡访员丙", "role": "patrol_visitor", "phone": "13800000000"}, "t"
    )
    rows = _by_code(workload_report(conn, city, default_standard=300))
    assert rows[G2].workers == 2 and rows[G2].status == "under"
    assert rows[C1].workers == 4
    staff = list_workers(conn, G2)
    assert (staff["stored"], staff["effective"], staff["named"], staff["named_full_time"]) == (
        1,
        2,
        3,
        2,
    )
    assert "phone" not in staff["workers"][0]
    assert list_workers(conn, G2, personal=True)["workers"][2]["phone"] == "13800000000"


def test_import_dry_run_commit_and_all_or_nothing(conn, city):
    good = (
        "grid_code,name,role,full_time,phone,external_id\n"
        f"{G3},张三,网格长,是,13900000001,W1\n"
        f"{G3},李四,grid_admin,true,,W2\n"
        f"{G3},王五,楼长,否,,\n"
    ).encode()
    report = import_workers(conn, good, "roster.csv", actor="t")
    assert report["errors"] == [] and report["insert"] == 3 and not report["committed"]
    assert list_workers(conn, G3)["named"] == 0
    report = import_workers(conn, good, "roster.csv", actor="t", commit=True)
    assert report["committed"]
    assert (
        _by_code(workload_report(conn, city, level="grid", default_standard=300))[G3].workers == 2
    )
    # importing again replaces the roster instead of adding to it
    import_workers(conn, good, "roster.csv", actor="t", commit=True)
    assert list_workers(conn, G3)["named"] == 3
    bad = (
        f"grid_code,name,role,full_time\n{G1},赵六,网格长,是\n999,钱七,网格长,是\n"
        f"{G1},,网格长,是\n{G1},孙八,boss,是\n{G1},周九,other,maybe\n"
    ).encode()
    report = import_workers(conn, bad, "bad.csv", actor="t")
    assert [e["row"] for e in report["errors"]] == [3, 4, 5, 6]
    with pytest.raises(InvalidInput, match="4 errors, nothing written"):
        import_workers(conn, bad, "bad.csv", actor="t", commit=True)
    assert list_workers(conn, G1)["named"] == 0
    outside = f"grid_code,name,role,full_time\n{G1},赵六,网格长,是\n".encode()
    report = import_workers(conn, outside, "o.csv", actor="t", areas=(S2,))
    assert "outside your areas" in report["errors"][0]["message"]


def test_demo_city_has_over_and_under_loaded_grids(demo_conn):
    hierarchy = load_hierarchy(demo_conn)
    start = time.perf_counter()
    rows = workload_report(demo_conn, hierarchy, level="grid", default_standard=300)
    elapsed = time.perf_counter() - start
    print(f"\nworkload_report, demo city, {len(rows)} grid rows: {elapsed * 1000:.0f} ms")
    assert len(rows) == 386
    statuses = {r.status for r in rows}
    assert {"over", "under", "within"} <= statuses
    assert sum(r.workers for r in rows) == 784
    district = workload_report(demo_conn, hierarchy, level="district", default_standard=300)
    assert len(district) == 1 and district[0].households == sum(r.households for r in rows)
    assert elapsed < 2.0


def test_cli_workload_table_and_xlsx(demo_engine, monkeypatch, tmp_path):
    from click.testing import CliRunner
    from openpyxl import load_workbook

    from cli.main import main

    monkeypatch.setenv("GRIDGEO_DATABASE_URL", demo_engine.url.render_as_string(False))
    runner = CliRunner()
    result = runner.invoke(main, ["workload", "--level", "street"])
    assert result.exit_code == 0, result.output
    assert "8 areas:" in result.output and "370705001" in result.output
    out = tmp_path / "w.xlsx"
    result = runner.invoke(main, ["workload", "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).active.max_row == 2 + 386
    result = runner.invoke(main, ["workload", "--level", "province"])
    assert result.exit_code != 0 and "unknown level" in result.output


def test_cli_import_workers_dry_run(demo_engine, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from cli.main import main

    monkeypatch.setenv("GRIDGEO_DATABASE_URL", demo_engine.url.render_as_string(False))
    f = tmp_path / "roster.csv"
    f.write_text("grid_code,name,role,full_time\n370705001001001,王芳,网格长,是\n9,x,网格长,是\n")
    result = CliRunner().invoke(main, ["import", "workers", str(f)])
    assert result.exit_code == 0, result.output
    assert "row 3 grid_code: no grid has the code '9'" in result.output
    assert "dry run: no workers written" in result.output
    result = CliRunner().invoke(main, ["import", "workers", str(f), "--commit"])
    assert result.exit_code != 0 and "nothing written" in result.output
    with demo_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM workers")).scalar() == 0
