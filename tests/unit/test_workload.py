import csv
import io

import pytest
from openpyxl import load_workbook

from gridgeo.errors import InvalidInput
from gridgeo.workers import clean, parse_bool, read_table, role_key
from gridgeo.workload import WorkloadRow, classify, to_csv, to_xlsx


@pytest.mark.parametrize(
    ("households", "workers", "status", "needed"),
    [
        (600, 2, "within", 2),
        (660, 2, "within", 3),  # exactly +10 %: the band's edge is within
        (540, 2, "within", 2),  # exactly -10 %
        (661, 2, "over", 3),
        (539, 2, "under", 2),
        (301, 0, "unstaffed", 2),
        (0, 3, "empty", 0),
        (0, 0, "empty", 0),
    ],
)
def test_classify_status_and_needed(households, workers, status, needed):
    f = classify(households, workers, 300, 0.1)
    assert f.status == status
    assert f.workers_needed == needed


def test_classify_load_and_deviation():
    f = classify(900, 2, 300, 0.1)
    assert f.load == 450 and f.deviation == pytest.approx(0.5)
    assert classify(301, 0, 300, 0.1).load is None
    assert classify(301, 0, 300, 0.1).deviation is None
    assert classify(0, 2, 300, 0.1).load == 0.0
    # a wider band and another standard
    assert classify(700, 2, 300, 0.2).status == "within"
    assert classify(700, 2, 250, 0.1).status == "over"


def _row(code="370705001001001", status="over", load=450.0, households=900, workers=2):
    return WorkloadRow(
        code=code,
        name="东关街道网格",
        level="grid",
        level_zh="网格",
        parent_code=code[:12],
        households=households,
        workers=workers,
        load=load,
        deviation=None if load is None else load / 300 - 1,
        status=status,
        workers_needed=3,
        gap=3 - workers,
        standard=300,
        band=0.1,
        config_area=None,
    )


def test_csv_has_bom_and_rows():
    data = to_csv([_row(), _row("370705001001002", "unstaffed", None, 301, 0)])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "编码 code" and len(rows) == 3
    assert rows[1][0] == "370705001001001" and rows[1][1] == "东关街道网格"
    assert rows[2][6] == ""  # no load without workers
    assert "无人员" in rows[2][8]


def test_xlsx_opens_with_rows_formats_and_colour():
    data = to_xlsx([_row(), _row("370705001001002", "within", 300.0, 600, 2)])
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "编码" and ws["A2"].value == "code"
    assert ws.freeze_panes == "C3"
    assert ws["A3"].value == "370705001001001" and ws["E3"].value == 900
    assert ws["G3"].number_format == "0.0" and ws["G3"].value == 450.0
    assert ws["A3"].fill.start_color.rgb.endswith("FFC7CE")  # over: red
    assert ws["A4"].fill.fill_type is None  # within: no fill
    assert ws.max_row == 4


def test_worker_fields():
    assert role_key("网格长") == "grid_head" and role_key("Mediator") == "mediator"
    with pytest.raises(InvalidInput, match="unknown role"):
        role_key("boss")
    assert parse_bool("是") is True and parse_bool("兼职") is False
    with pytest.raises(InvalidInput):
        parse_bool("")
    assert clean({"name": " 王芳 ", "role": "grid_admin"}) == {
        "name": "王芳",
        "role": "grid_admin",
        "full_time": True,
        "phone": None,
        "external_id": None,
    }
    with pytest.raises(InvalidInput, match="phone"):
        clean({"name": "a", "role": "other", "phone": "call me"})
    assert clean({"full_time": "0"}, partial=True) == {"full_time": False}


def test_read_table_csv_gb18030_and_missing_columns():
    data = "grid_code,name,role,full_time\n370705001001001,王芳,网格长,是\n".encode("gb18030")
    assert read_table(data, "w.csv") == [
        {"grid_code": "370705001001001", "name": "王芳", "role": "网格长", "full_time": "是"}
    ]
    with pytest.raises(InvalidInput, match="missing columns role"):
        read_table(b"grid_code,name,full_time\n", "w.csv")
    with pytest.raises(InvalidInput, match="unknown format"):
        read_table(b"", "w.txt")
