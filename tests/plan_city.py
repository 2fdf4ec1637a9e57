"""A small real-scale city for plan tests: one community of four grids with households.

The community C spans 120.000–120.004 E × 36.000–36.002 N (about 360 m × 220 m) and is split
2 × 2 into grids A (south-west), B (south-east), E (north-west) and F (north-east), each
0.002° × 0.001°. Households sit at the centre of each quarter of every grid (4 points a grid,
25 households a point), so any straight split through a grid's middle moves whole points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, text

from gridgeo.bulk_assign import assign_households
from tests.helpers import add_box

D, S, C = "370705", "370705001", "370705001001"
A, B, E, F = (C + n for n in ("001", "002", "003", "004"))
X0, Y0 = 120.0, 36.0
W, H = 0.002, 0.001
BOXES = {A: (0, 0), B: (1, 0), E: (0, 1), F: (1, 1)}


def box(code: str) -> tuple[float, float, float, float]:
    """The bounds of a grid of the city."""
    i, j = BOXES[code]
    return X0 + i * W, Y0 + j * H, X0 + (i + 1) * W, Y0 + (j + 1) * H


def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A counter-clockwise closed ring of a box."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def polygon(x0: float, y0: float, x1: float, y1: float) -> dict[str, object]:
    """A GeoJSON Polygon of a box (RFC 7946 winding)."""
    return {"type": "Polygon", "coordinates": [ring(x0, y0, x1, y1)]}


def add_plan_city(conn: Connection, workers: int = 1) -> None:
    """Insert the district, street, community, four grids and their households; assign them."""
    add_box(conn, D, "district", X0, Y0, X0 + 2 * W, Y0 + 2 * H)
    add_box(conn, S, "street", X0, Y0, X0 + 2 * W, Y0 + 2 * H, D)
    add_box(conn, C, "community", X0, Y0, X0 + 2 * W, Y0 + 2 * H, S)
    for code in BOXES:
        add_box(conn, code, "grid", *box(code), C, workers=workers)
        x0, y0, x1, y1 = box(code)
        for fx in (0.25, 0.75):
            for fy in (0.25, 0.75):
                conn.execute(
                    text(
                        "INSERT INTO households (location, household_count, address) VALUES "
                        "(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 25, :a)"
                    ),
                    {"x": x0 + fx * (x1 - x0), "y": y0 + fy * (y1 - y0), "a": f"{code}-{fx}-{fy}"},
                )
    assign_households(conn)


def households_of(conn: Connection, code: str) -> int:
    """Households assigned to the current grid with ``code``."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(h.household_count), 0) FROM household_grid a "
                "JOIN households h ON h.id = a.household_id JOIN grids g ON g.id = a.grid_id "
                "WHERE g.code = :c AND g.valid_to IS NULL"
            ),
            {"c": code},
        ).scalar_one()
    )


def plan_city_database(pg_server: str, name: str) -> Iterator[Engine]:
    """A committed database of its own holding the plan city (for commands run end to end)."""
    from tests.conftest import _database

    eng = _database(pg_server, name)
    with eng.begin() as conn:
        add_plan_city(conn)
    yield eng
    eng.dispose()


def cli_runner(engine: Engine, monkeypatch: Any) -> Callable[..., str]:
    """``run(*args, ok=True)``: the ``gridgeo`` command on ``engine``, its output; asserts the exit."""
    from click.testing import CliRunner

    from cli.main import main

    monkeypatch.setenv("GRIDGEO_DATABASE_URL", engine.url.render_as_string(False))
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(main, list(args))
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return run
