"""``gridgeo evaluation``: the table and the monthly workbook, on the constructed history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine

from cli.main import main
from tests.api.incident_city import COMM_A, DISTRICT
from tests.conftest import _database
from tests.evaluation_history import build_history


@pytest.fixture(scope="module")
def history_engine(pg_server: str) -> Iterator[Engine]:
    eng = _database(pg_server, "gridgeo_evaluation_cli")
    with eng.begin() as conn:
        build_history(conn)
    yield eng
    eng.dispose()


def test_table_and_workbook(history_engine: Engine, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", history_engine.url.render_as_string(False))
    runner = CliRunner()
    out = runner.invoke(main, ["evaluation", "--month", "2026-11", "--level", "community"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "evaluation 2026-11 (2026-11-01 – 2026-11-30), by area"
    assert any(COMM_A in line and " B " in line and "75.0" in line for line in lines)
    assert "C      74.9" in lines[-1] and "total" in lines[-1]
    report = tmp_path / "report.xlsx"
    args = ["evaluation", "--month", "2026-11", "--level", "community", "--out", str(report)]
    out = runner.invoke(main, args)
    assert out.exit_code == 0, out.output
    wb = load_workbook(report)
    assert wb.sheetnames == ["区 District", "街道 Street", "社区 Community", "部门 departments",
                             "类别 categories", "说明 definitions"]  # fmt: skip
    assert wb["区 District"]["A3"].value == DISTRICT and wb["区 District"]["D3"].value == "C"
    bad = runner.invoke(main, ["evaluation", "--month", "November"])
    assert bad.exit_code != 0 and "is not a period" in bad.output
