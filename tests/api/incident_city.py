"""A tiny city in Beijing for the incident tests: two grids side by side on lon 116.40."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from gridgeo.accounts import add_user
from gridgeo.tokens import issue
from tests.helpers import add_box

DISTRICT, STREET_A, STREET_B = "110101", "110101001", "110101002"
COMM_A, GRID_A = "110101001001", "110101001001001"
COMM_B, GRID_B = "110101002001", "110101002001001"
Y0, Y1 = 39.85, 39.95
INSIDE_A = (116.35, 39.90)


def _area(conn, code, level, x0, x1, parent=None):
    add_box(conn, code, level, x0, Y0, x1, Y1, parent, workers=1, name=f"区域{code}")


def build_city(conn):
    _area(conn, DISTRICT, "district", 116.30, 116.50)
    _area(conn, STREET_A, "street", 116.30, 116.40, DISTRICT)
    _area(conn, STREET_B, "street", 116.40, 116.50, DISTRICT)
    _area(conn, COMM_A, "community", 116.30, 116.40, STREET_A)
    _area(conn, COMM_B, "community", 116.40, 116.50, STREET_B)
    _area(conn, GRID_A, "grid", 116.30, 116.40, COMM_A)
    _area(conn, GRID_B, "grid", 116.40, 116.50, COMM_B)


PLAN = {
    "admin": [],
    "planner": [STREET_A],
    "dispatcher": [STREET_A],
    "patrol": [GRID_A],
    "viewer": [STREET_A],
    "patrol_b": [GRID_B],
    "dispatcher_comm": [COMM_A],
    "volunteer": [COMM_A],  # 志愿者/党员 (issue 21): no incident action of RULES is theirs
}


def make_users(conn):
    """Build the city; Authorization headers by role (scoped roles work in street A / grid A)."""
    build_city(conn)
    out = {}
    for key, areas in PLAN.items():
        role = key.split("_")[0]
        acc = add_user(conn, name=key, role=role, areas=areas, password="pw-12345678", actor="t")
        tok = issue(conn, acc.id, "session", timedelta(minutes=5))
        out[key] = {"Authorization": f"Bearer {tok.token}"}
    return out


def count(conn, table="incidents"):
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
