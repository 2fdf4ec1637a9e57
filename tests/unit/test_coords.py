"""WGS84 ↔ GCJ-02 ↔ BD-09: published vectors, round trips, passthrough outside China."""

from __future__ import annotations

import math
import random

import pytest

from gridgeo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridgeo.errors import InvalidInput

TIANANMEN_WGS = (116.397428, 39.90923)
TIANANMEN_GCJ = (116.403672, 39.910634)  # the published test vector, to 6 decimals
TIANANMEN_BD = (116.410044, 39.916973)


def test_published_vector_wgs_to_gcj():
    lon, lat = wgs84_to_gcj02(*TIANANMEN_WGS)
    assert lon == pytest.approx(TIANANMEN_GCJ[0], abs=1e-6)
    assert lat == pytest.approx(TIANANMEN_GCJ[1], abs=1e-6)


def test_gcj_to_bd_vector():
    lon, lat = gcj02_to_bd09(*wgs84_to_gcj02(*TIANANMEN_WGS))
    assert (lon, lat) == pytest.approx(TIANANMEN_BD, abs=1e-6)


def test_offset_is_hundreds_of_metres():
    lon, lat = wgs84_to_gcj02(*TIANANMEN_WGS)
    dx = (lon - TIANANMEN_WGS[0]) * 111_320 * math.cos(math.radians(39.9))
    dy = (lat - TIANANMEN_WGS[1]) * 110_574
    assert 300 < math.hypot(dx, dy) < 700


def _points(n=200, seed=7):
    rnd = random.Random(seed)
    return [(rnd.uniform(73.5, 135.0), rnd.uniform(18.0, 53.5)) for _ in range(n)]


@pytest.mark.parametrize(
    "forward,inverse",
    [
        (wgs84_to_gcj02, gcj02_to_wgs84),
        (gcj02_to_bd09, bd09_to_gcj02),
        (wgs84_to_bd09, bd09_to_wgs84),
    ],
)
def test_round_trips_within_1e6_degrees(forward, inverse):
    for lon, lat in _points():
        back = inverse(*forward(lon, lat))
        assert abs(back[0] - lon) < 1e-6 and abs(back[1] - lat) < 1e-6, (lon, lat, back)
        # and the other way round
        there = forward(*inverse(lon, lat))
        assert abs(there[0] - lon) < 1e-6 and abs(there[1] - lat) < 1e-6


@pytest.mark.parametrize("point", [(-0.1276, 51.5072), (2.3522, 48.8566), (151.2, -33.87)])
def test_outside_china_passthrough(point):
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_to_wgs84_dispatch_and_unknown_system():
    gcj = wgs84_to_gcj02(*TIANANMEN_WGS)
    assert to_wgs84(*gcj, "gcj02") == pytest.approx(TIANANMEN_WGS, abs=1e-7)
    assert to_wgs84(*wgs84_to_bd09(*TIANANMEN_WGS), "bd09") == pytest.approx(
        TIANANMEN_WGS, abs=1e-7
    )
    assert to_wgs84(1.0, 2.0, "wgs84") == (1.0, 2.0)
    with pytest.raises(InvalidInput, match="coord_system"):
        to_wgs84(1.0, 2.0, "cgcs2000x")
