"""The grids a batch joins against: from a gridgeo store or from a file (GeoParquet, GeoJSON…).

A batch needs, per grid, its ``code``, its ``depth`` (0 for the top level) and its boundary in
EPSG:4326. A store gives all three (the current grids of every level, as ``gridgeo_leaf``
sees them); a file gives ``code`` and ``geometry`` and either ``depth`` or ``level`` (a key of
the default chain: district, street, community, grid).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput

#: depth of each level of the default chain (migration 0001), for files that name the level
DEFAULT_DEPTHS = {"district": 0, "street": 1, "community": 2, "grid": 3}

STORE_SQL = text(
    """
    SELECT g.code, l.depth, ST_AsBinary(g.geom) AS wkb
    FROM current_grids g JOIN levels l ON l.id = g.level_id
    ORDER BY g.code
    """
)


def is_database_url(source: str) -> bool:
    """True when ``source`` names a PostgreSQL database rather than a file."""
    return source.startswith(("postgresql:", "postgresql+", "postgres:"))


def read_grids(source: str) -> gpd.GeoDataFrame:
    """``code``, ``depth`` and ``geometry`` (EPSG:4326) of every grid of a store or a file.

    Raises:
        InvalidInput: an unreadable file, a missing column, an unknown level, or no grid.
    """
    if is_database_url(source):
        from gridgeo.db import make_engine

        engine = make_engine(source, pool_size=1)
        try:
            with engine.connect() as conn:
                gdf = stored_grids(conn)
        finally:
            engine.dispose()
    else:
        gdf = _read_file(Path(source))
    if gdf.empty:
        raise InvalidInput(f"{source}: no grids", field="grids")
    return gdf


def stored_grids(conn: Connection) -> gpd.GeoDataFrame:
    """The current grids of every level of the store ``conn`` reads."""
    rows = conn.execute(STORE_SQL).all()
    return gpd.GeoDataFrame(
        {"code": [r.code for r in rows], "depth": [int(r.depth) for r in rows]},
        geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]),
        crs=4326,
    )


def _read_file(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise InvalidInput(f"{path}: no such file", field="grids")
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path)
    except Exception as exc:  # any reader's failure names the file
        raise InvalidInput(f"{path}: not a readable grid file ({exc})", field="grids") from exc
    if "code" not in gdf.columns:
        raise InvalidInput(f"{path}: no column 'code'", field="grids")
    if "depth" not in gdf.columns:
        if "level" not in gdf.columns:
            raise InvalidInput(f"{path}: no column 'depth' nor 'level'", field="grids")
        unknown = sorted(set(gdf["level"].astype(str)) - set(DEFAULT_DEPTHS))
        if unknown:
            raise InvalidInput(
                f"{path}: unknown level(s) {', '.join(unknown[:5])}; give a 'depth' column",
                field="grids",
            )
        gdf["depth"] = gdf["level"].astype(str).map(DEFAULT_DEPTHS)
    if gdf.crs is None:
        raise InvalidInput(f"{path}: the file has no coordinate system", field="grids")
    gdf = gdf.to_crs(4326)
    kind = shapely.get_type_id(gdf.geometry.to_numpy())
    bad = np.flatnonzero(~np.isin(kind, (3, 6)))
    if len(bad):
        raise InvalidInput(
            f"{path}: row {int(bad[0])} (code {gdf['code'].iloc[bad[0]]}) is not a polygon",
            field="grids",
        )
    out = gpd.GeoDataFrame(
        {"code": gdf["code"].astype(str).to_numpy(), "depth": gdf["depth"].astype(int).to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        crs=4326,
    )
    return out
