"""/tiles/{layer}/{z}/{x}/{y}.pbf: MVT from PostGIS, area-scoped, validated, cached."""

from __future__ import annotations

import gzip
import struct
from typing import Any

import pytest
from sqlalchemy import text

from gridgeo.bulk_assign import assign_households
from gridgeo.levels import load_hierarchy
from gridgeo.tiles import (
    STORED_ZOOM,
    TileCache,
    extent,
    overview_tiles,
    prerender,
    render_tile,
    store_key,
    tolerance,
)
from gridgeo.workload import workload_report
from tests.helpers import C2, G1, G2, G3, S1, S2, D, add_strip, add_strip_city

TILE = "6/32/31"  # lon 0–5.6, lat 0–5.6: the whole strip city


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _fields(buf: bytes) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        out.append((number, value))
    return out


def _value(buf: bytes) -> Any:
    number, raw = _fields(buf)[0]
    if number == 1:
        return raw.decode()
    if number == 2:
        return struct.unpack("<f", raw)[0]
    if number == 3:
        return struct.unpack("<d", raw)[0]
    if number == 7:
        return bool(raw)
    return raw


def decode(tile: bytes) -> dict[str, list[dict[str, Any]]]:
    """A minimal MVT reader: ``{layer: [properties of each feature]}``."""
    layers: dict[str, list[dict[str, Any]]] = {}
    for number, layer in _fields(tile):
        if number != 3:
            continue
        fields = _fields(layer)
        name = next(v.decode() for n, v in fields if n == 1)
        keys = [v.decode() for n, v in fields if n == 3]
        values = [_value(v) for n, v in fields if n == 4]
        feats = []
        for feature in (v for n, v in fields if n == 2):
            tags_raw = next(v for n, v in _fields(feature) if n == 2)
            tags, i = [], 0
            while i < len(tags_raw):
                t, i = _varint(tags_raw, i)
                tags.append(t)
            feats.append({keys[k]: values[v] for k, v in zip(tags[::2], tags[1::2], strict=True)})
        layers[name] = feats
    return layers


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


def test_grid_tile_carries_the_workload_figures(client, city, login_as, conn):
    client.headers.update(login_as("viewer", D))
    r = client.get(f"/tiles/grid/{TILE}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age" in r.headers["cache-control"]
    feats = {f["code"]: f for f in decode(r.content)["grid"]}
    assert set(feats) == {G1, G2, G3}
    report = {
        row.code: row
        for row in workload_report(conn, load_hierarchy(conn), level="grid", default_standard=300)
    }
    for code, f in feats.items():
        row = report[code]
        assert (f["households"], f["workers"], f["status"]) == (
            row.households,
            row.workers,
            row.status,
        )
        assert f["load"] == pytest.approx(row.load, abs=0.05)
        assert f["deviation"] == pytest.approx(row.deviation, abs=5e-5)
        assert f["open_incidents"] == 0 and f["level"] == "grid"
    assert feats[G2]["status"] == "over" and feats[G2]["load"] == 400.0
    assert feats[G3]["status"] == "under"
    r = client.get(f"/tiles/district/{TILE}.pbf")
    assert [f["code"] for f in decode(r.content)["district"]] == [D]


def test_area_filter_hides_other_areas(client, city, login_as):
    client.headers.update(login_as("viewer", S1))
    feats = decode(client.get(f"/tiles/grid/{TILE}.pbf").content)["grid"]
    assert sorted(f["code"] for f in feats) == [G1, G2]
    r = client.get(f"/tiles/street/{TILE}.pbf")
    assert [f["code"] for f in decode(r.content)["street"]] == [S1]


def test_empty_tile_and_bad_input(client, city, login_as):
    client.headers.update(login_as("viewer", D))
    r = client.get("/tiles/grid/6/0/0.pbf")
    assert r.status_code == 200 and r.content == b""
    assert client.get("/tiles/grid/6/64/0.pbf").status_code == 400  # outside zoom 6's pyramid
    # typed path parameters: 422 naming the field (a superscript digit passes str.isdigit())
    for path in ("23/0/0", "6/-1/0", "6/x/0", "6/0/99999999999", "6/0/\u00b2", "\u00b2/0/0"):
        for prefix in ("/tiles/grid/", "/tiles/"):
            r = client.get(f"{prefix}{path}.pbf")
            assert r.status_code == 422, (prefix, path)
            assert r.json()["error"] == "InvalidInput"
    assert client.get(f"/tiles/nolevel/{TILE}.pbf").status_code == 400


def test_anonymous_needs_public_maps(client, city):
    assert client.get(f"/tiles/grid/{TILE}.pbf").status_code == 401
    client.app.state.settings = client.app.state.settings.replace(public_maps=True)
    r = client.get(f"/tiles/grid/{TILE}.pbf")
    assert r.status_code == 200 and len(decode(r.content)["grid"]) == 3


def test_cache_hits_and_notices_changes(conn, city):
    hierarchy = load_hierarchy(conn)
    cache = TileCache(300, max_entries=2)
    first = cache.get(conn, hierarchy, layer="grid", z=6, x=32, y=31)
    assert cache.get(conn, hierarchy, layer="grid", z=6, x=32, y=31) == first
    assert (cache.hits, cache.misses) == (1, 1)
    add_strip(conn, "110101002001002", "grid", 3, 4, C2, workers=1)
    again = cache.get(conn, hierarchy, layer="grid", z=6, x=32, y=31)
    assert cache.misses == 2 and again != first
    assert render_tile(conn, hierarchy, layer="grid", z=6, x=32, y=31, standard=300) == again
    assert tolerance(14) < tolerance(10)


def test_map_search(client, city, login_as):
    client.headers.update(login_as("viewer", S1))
    r = client.get("/maps/search", params={"q": "1101010"})
    assert r.status_code == 200
    codes = [a["code"] for a in r.json()]
    assert codes[0] == S1 and S2 not in codes and G3 not in codes
    assert r.json()[0]["bbox"] == [0.0, 0.0, 2.0, 1.0]


def test_overview_tiles_are_kept_for_their_version_and_made_again_after_a_change(conn, city):
    """Issue 19: an all-levels tile at z ≤ STORED_ZOOM outlives the process's cache (map_tiles)."""
    hierarchy = load_hierarchy(conn)
    made = prerender(conn, hierarchy, TileCache(300), min_zoom=8, max_zoom=9)
    box = extent(conn)
    assert box is not None and made == len(overview_tiles(box, min_zoom=8, max_zoom=9)) > 0
    kept = conn.execute(text("SELECT count(*) FROM map_tiles")).scalar()
    assert kept == made
    # a new process (an empty cache) reads the kept tile instead of rendering it
    fresh = TileCache(300)
    first = fresh.get_levels(conn, hierarchy, z=9, x=260, y=255, compress=True)
    assert fresh.stored_hits == 1 and fresh.misses == 0
    assert gzip.decompress(first) == TileCache(300).get_levels(conn, hierarchy, z=9, x=260, y=255)
    assert G3 in {f["code"] for f in decode(gzip.decompress(first))["grid"]}  # lon 2.8–3.5
    # the uncompressed tile is kept beside the gzipped one; deeper zooms are not kept
    kept = conn.execute(text("SELECT count(*) FROM map_tiles")).scalar()
    assert kept == made + 1
    fresh.get_levels(conn, hierarchy, z=STORED_ZOOM + 1, x=0, y=0, compress=True)
    assert conn.execute(text("SELECT count(*) FROM map_tiles")).scalar() == kept
    # after a change the kept tile is stale: made again (with the new grid) and replaced
    add_strip(conn, "110101002001002", "grid", 3, 4, C2, workers=1)
    again = TileCache(300)
    changed = again.get_levels(conn, hierarchy, z=9, x=260, y=255, compress=True)
    assert again.stored_hits == 0 and changed != first
    codes = {f["code"] for f in decode(gzip.decompress(changed))["grid"]}
    assert "110101002001002" in codes
    key = store_key(9, 260, 255, None, True)
    body = conn.execute(text("SELECT body FROM map_tiles WHERE key = :k"), {"k": key}).scalar()
    assert bytes(body) == changed
