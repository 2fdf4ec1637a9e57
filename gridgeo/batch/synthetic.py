"""Synthetic cities and households for the batch tests and ``bench/batch.py`` (pure).

A city is one district of streets, communities and grids on a lattice whose step is a power of
two of a degree, so that every vertex, every point on an axis-parallel edge and every point on a
diagonal edge is a double exactly: a point generated "on a shared edge" is on it for PostGIS and
GEOS alike, and both must then apply the tie rule (deepest level, smallest code). Every other
community has its grids cut in two triangles along a diagonal, so edges are not all parallel to
the axes. Codes follow the default levels (6 + 3 + 3 + 3 digits).

Households come in blocks (one per call of :func:`households`): uniform points over the city
and a margin around it (some outside every grid), points on grid edges and on vertices, and
points on the diagonals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

STEP = 2.0**-10  # degrees (~100 m of latitude); exact in binary


@dataclass(frozen=True)
class City:
    """A district laid out on a lattice.

    Attributes:
        district: its 6-digit code.
        lon0, lat0: south-west corner (a multiple of ``STEP``).
        streets, communities, grids: per side: streets in the district, communities in a
            street, grid cells in a community (the district is (s*c*g)² cells).
        cell: lattice cells per grid side.
    """

    district: str
    lon0: float
    lat0: float
    streets: int = 2
    communities: int = 2
    grids: int = 4
    cell: int = 2

    @property
    def side(self) -> float:
        """The district's width and height in degrees."""
        return self.streets * self.communities * self.grids * self.cell * STEP

    def areas(self) -> pd.DataFrame:
        """Every area: ``code``, ``parent_code``, ``level``, ``depth``, ``geometry``."""
        rows: list[tuple[str, str | None, str, int, shapely.Geometry]] = []
        s, c, g, cell = self.streets, self.communities, self.grids, self.cell
        w = cell * STEP
        rows.append(
            (self.district, None, "district", 0, _box(self.lon0, self.lat0, self.side, self.side))
        )
        for si in range(s * s):
            sx, sy = divmod(si, s)
            scode = f"{self.district}{si + 1:03d}"
            sw = c * g * w
            x0, y0 = self.lon0 + sx * sw, self.lat0 + sy * sw
            rows.append((scode, self.district, "street", 1, _box(x0, y0, sw, sw)))
            for ci in range(c * c):
                cx, cy = divmod(ci, c)
                ccode = f"{scode}{ci + 1:03d}"
                cw = g * w
                x1, y1 = x0 + cx * cw, y0 + cy * cw
                rows.append((ccode, scode, "community", 2, _box(x1, y1, cw, cw)))
                diagonal = (si + ci) % 2 == 1
                n = 0
                for gi in range(g * g):
                    gx, gy = divmod(gi, g)
                    x2, y2 = x1 + gx * w, y1 + gy * w
                    if diagonal:
                        lower = shapely.Polygon([(x2, y2), (x2 + w, y2), (x2 + w, y2 + w)])
                        upper = shapely.Polygon([(x2, y2), (x2 + w, y2 + w), (x2, y2 + w)])
                        for part in (lower, upper):
                            n += 1
                            rows.append((f"{ccode}{n:03d}", ccode, "grid", 3, part))
                    else:
                        n += 1
                        rows.append((f"{ccode}{n:03d}", ccode, "grid", 3, _box(x2, y2, w, w)))
        out = pd.DataFrame(rows, columns=["code", "parent_code", "level", "depth", "geometry"])
        out["parent_code"] = (
            out["parent_code"].astype(object).where(out["parent_code"].notna(), None)
        )
        return out


def _box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.Polygon([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])


def households(
    city: City, n: int, seed: int, *, prefix: str = "", margin: float = 0.15
) -> pd.DataFrame:
    """``n`` household points of ``city``: ``external_id``, ``household_count``, lon, lat.

    About 70 % uniform over the city and a margin of ``margin`` times its side (those beyond
    it are outside every grid), 15 % on lattice lines (shared edges), 5 % on lattice vertices,
    10 % on the cells' diagonals (edges of the triangle grids, interiors of the squares).
    """
    rng = np.random.default_rng(seed)
    cells = int(round(city.side / STEP))
    k_edge, k_vertex, k_diag = int(n * 0.15), int(n * 0.05), int(n * 0.10)
    k_uniform = n - k_edge - k_vertex - k_diag
    lo, hi = -margin * city.side, (1 + margin) * city.side
    ux = rng.uniform(lo, hi, k_uniform)
    uy = rng.uniform(lo, hi, k_uniform)
    fine = 2**20  # positions along an edge: multiples of STEP / 2**20, exact
    # on a lattice line: one coordinate a lattice value, the other anywhere along it
    line = rng.integers(0, cells + 1, k_edge) * STEP
    along = rng.integers(0, cells * fine, k_edge) * (STEP / fine)
    vertical = rng.random(k_edge) < 0.5
    ex = np.where(vertical, line, along)
    ey = np.where(vertical, along, line)
    vx = rng.integers(0, cells + 1, k_vertex) * STEP
    vy = rng.integers(0, cells + 1, k_vertex) * STEP
    # on the diagonal of a cell (x0 + t, y0 + t), t exact
    cell = city.cell
    gx = rng.integers(0, cells // cell, k_diag) * cell * STEP
    gy = rng.integers(0, cells // cell, k_diag) * cell * STEP
    t = rng.integers(0, cell * fine, k_diag) * (STEP / fine)
    dx, dy = gx + t, gy + t
    x = np.concatenate([ux, ex, vx, dx]) + city.lon0
    y = np.concatenate([uy, ey, vy, dy]) + city.lat0
    order = rng.permutation(n)
    ids = np.char.add(f"{prefix}{seed}-", np.arange(n).astype(str))
    return pd.DataFrame(
        {
            "external_id": ids,
            "household_count": rng.integers(1, 4, n).astype("int32")[order],
            "lon": x[order],
            "lat": y[order],
        }
    )


def province(cities: int, *, seed: int = 0, **layout: int) -> list[City]:
    """``cities`` districts side by side (a synthetic province), codes 3707xx."""
    out = []
    for i in range(cities):
        row, col = divmod(i, 4)
        out.append(
            City(
                f"37{7 + i // 100:02d}{i % 100:02d}",
                118.0 + col * 0.25,
                36.0 + row * 0.25,
                **layout,
            )
        )
    return out
