"""The vectorised encodings of gridgeo.bulk_load agree with shapely and with COPY's rules."""

from __future__ import annotations

import numpy as np
import shapely

from gridgeo.bulk_load import HouseholdChunk, copy_text, point_hex


def test_point_hex_is_shapely_ewkb_with_srid():
    x = np.array([116.3, -0.0, 1e-300, -179.999999, 180.0])
    y = np.array([39.9, 0.0, -1e300, -90.0, 90.0])
    want = shapely.to_wkb(shapely.set_srid(shapely.points(x, y), 4326), hex=True, include_srid=True)
    assert point_hex(x, y).astype("U50").tolist() == list(want)


def test_copy_text_quotes_text_and_leaves_null_unquoted():
    chunk = HouseholdChunk(
        np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5, 6]),
        np.array(['a "b"\tc', None], dtype=object), None,
    )  # fmt: skip
    lines = copy_text(chunk).decode().splitlines()
    hexes = point_hex(chunk.x, chunk.y).astype("U50")
    assert lines == [f'"{hexes[0]}"\t5\t"a ""b""\tc"\t', f'"{hexes[1]}"\t6\t\t']
    assert copy_text(HouseholdChunk(*(np.zeros(0),) * 3)) == b""
