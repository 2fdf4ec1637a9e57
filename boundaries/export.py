"""Export grids, buildings and households to files that the imports read back.

Grids of a level (current, or as they stood) go to GeoJSON, GeoPackage, Shapefile or
GeoParquet with the fields :func:`boundaries.importer.import_grids` reads back (code, name,
parent, workers) plus level, version and validity, so export → import → export is lossless.
Shapefile field names have at most 10 characters: ``parent_code`` is written as ``parent``
there. Buildings (with their units and households) and household points go to GeoParquet (the
format GDAL, QGIS, DuckDB and Dask read) or GeoPackage/GeoJSON; households are written chunk
by chunk from a server-side cursor, so 10,000,000 of them take the memory of one chunk.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS
from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy
from gridgeo.versions import version_rows

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile",
           ".parquet": "GeoParquet"}  # fmt: skip
FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".shp", "parquet": ".parquet"}
CRSS = (4326, 4490)  # WGS84 and CGCS2000, the official Chinese datum
SHP_NAMES = {"parent_code": "parent", "valid_from": "valid_from", "valid_to": "valid_to"}
FIELDS = ("code", "name", "level", "parent_code", "workers", "version", "valid_from", "valid_to")


def parent_field(path: str | Path) -> str:
    """The name of the parent-code field in an exported file of this format."""
    return "parent" if Path(path).suffix.lower() in (".shp", ".zip") else "parent_code"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def export_grids(
    conn: Connection,
    hierarchy: Hierarchy,
    level: str,
    path: str | Path,
    *,
    crs: int = 4326,
    at: datetime | None = None,
    areas: tuple[str, ...] | None = None,
) -> int:
    """Write the grids of ``level`` to ``path``; the format follows the suffix.

    Args:
        conn: database connection.
        hierarchy: the level chain (validates ``level``).
        level: level key.
        path: ``.geojson``/``.json``, ``.gpkg``, ``.shp`` (the layer is named after the level)
            or ``.parquet`` (GeoParquet).
        crs: 4326 (WGS84) or 4490 (CGCS2000).
        at: the grids as they stood at this time; None for the current ones.
        areas: only grids at or below these codes (None: all).

    Returns:
        Features written.

    Raises:
        InvalidInput: unknown level, suffix or CRS.
    """
    p = Path(path)
    driver = DRIVERS.get(p.suffix.lower())
    if driver is None:
        known = ", ".join(sorted(DRIVERS))
        raise InvalidInput(f"{p}: unknown export format '{p.suffix}'; known: {known}", field="path")
    if crs not in CRSS:
        raise InvalidInput(f"crs must be one of {CRSS}, got {crs}", field="crs")
    rows = version_rows(conn, hierarchy, level, at, areas=areas)
    data = {name: [r[name] for r in rows] for name in FIELDS}
    data["valid_from"] = [_iso(v) for v in data["valid_from"]]
    data["valid_to"] = [_iso(v) for v in data["valid_to"]]
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows]) if rows else []
    gdf = gpd.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:4326")
    if crs != 4326:
        gdf = gdf.to_crs(epsg=crs)
    if driver == "ESRI Shapefile":
        gdf = gdf.rename(columns=SHP_NAMES)
    p.parent.mkdir(parents=True, exist_ok=True)
    if driver == "GeoParquet":
        gdf.geometry = shapely.force_2d(np.asarray(gdf.geometry.values))
        gdf.to_parquet(p, index=False)
        return len(gdf)
    options = {"ENCODING": "UTF-8"} if driver == "ESRI Shapefile" else {}
    if driver == "GeoJSON":
        options = {"RFC7946": "NO", "WRITE_NAME": "NO"}
    pyogrio.write_dataframe(
        gdf,
        p,
        layer=level,
        driver=driver,
        promote_to_multi=True,
        geometry_type="MultiPolygon",
        layer_options=options,
    )
    return len(gdf)


def zip_shapefile(shp: Path, out: Path) -> Path:
    """Zip a Shapefile's parts (``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg``) into ``out``."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp.parent.glob(shp.stem + ".*")):
            zf.write(part, part.name)
    return out


BUILDINGS_SQL = """
SELECT b.code, b.number, b.name, b.compound, b.community_code, b.floors,
       count(u.id) AS units, coalesce(sum(u.households), 0)::bigint AS households,
       ST_AsBinary(b.geom) AS wkb
FROM buildings b LEFT JOIN building_units u ON u.building_id = b.id
WHERE CAST(:area AS text) IS NULL OR b.community_code LIKE :area || '%'
GROUP BY b.id ORDER BY b.code
"""
HOUSEHOLDS_SQL = """
SELECT h.id, h.household_count, h.address, h.external_id, g.code AS grid,
       b.code AS building, h.floor, h.room, ST_AsBinary(h.location) AS wkb
FROM households h LEFT JOIN household_grid a ON a.household_id = h.id
LEFT JOIN grids g ON g.id = a.grid_id LEFT JOIN buildings b ON b.id = h.building_id
WHERE CAST(:area AS text) IS NULL OR g.code LIKE :area || '%'
ORDER BY h.id
"""
HOUSEHOLD_SCHEMA = pa.schema(
    [("id", pa.int64()), ("household_count", pa.int32()), ("address", pa.string()),
     ("external_id", pa.string()), ("grid", pa.string()), ("building", pa.string()),
     ("floor", pa.int32()), ("room", pa.string()), ("geometry", pa.binary())]
)  # fmt: skip


def _suffix(path: str | Path, allowed: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in allowed:
        raise InvalidInput(
            f"{p}: unknown export format '{p.suffix}'; known: {', '.join(allowed)}", field="path"
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def export_buildings(conn: Connection, path: str | Path, *, area: str | None = None) -> int:
    """Write buildings with their unit and household counts, as ``import_buildings`` reads them.

    Args:
        conn: database connection.
        path: ``.parquet`` (GeoParquet), ``.gpkg`` or ``.geojson``.
        area: only buildings of communities whose code starts with this (None: all).

    Returns:
        Buildings written.
    """
    p = _suffix(path, (".parquet", ".gpkg", ".geojson"))
    rows = conn.execute(text(BUILDINGS_SQL), {"area": area}).mappings().all()
    fields = ("code", "number", "name", "compound", "community_code", "floors", "units",
              "households")  # fmt: skip
    data = {f: [r[f] for r in rows] for f in fields}
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows]) if rows else []
    gdf = gpd.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:4326")
    gdf["floors"] = gdf["floors"].astype("Int32")
    if p.suffix.lower() == ".parquet":
        gdf.to_parquet(p, index=False)
    else:
        pyogrio.write_dataframe(gdf, p, layer="buildings")
    return len(gdf)


def export_households(
    conn: Connection, path: str | Path, *, area: str | None = None, chunk_rows: int = 100_000
) -> int:
    """Write household points to GeoParquet, chunk by chunk (bounded memory).

    The fields are those :func:`boundaries.households.import_households` reads back
    (``household_count`` is detected; name ``address`` and ``external_id`` with its options),
    plus the id, the assigned grid, the building's code, floor and room. Personal data:
    callers check who may have it.

    Args:
        conn: database connection (a server-side cursor streams the rows).
        path: a ``.parquet`` file.
        area: only households assigned to grids whose code starts with this (None: all,
            unassigned ones too).
        chunk_rows: rows per row group.

    Returns:
        Households written.
    """
    p = _suffix(path, (".parquet",))
    crs = CRS.from_epsg(4326).to_json_dict()
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"],
                                    "crs": crs}}}  # fmt: skip
    schema = HOUSEHOLD_SCHEMA.with_metadata({b"geo": json.dumps(geo).encode()})
    # per statement: Connection.execution_options would change the caller's connection
    result = conn.execute(
        text(HOUSEHOLDS_SQL),
        {"area": area},
        execution_options={"stream_results": True, "yield_per": chunk_rows},
    )
    n = 0
    with pq.ParquetWriter(p, schema) as writer:
        for part in result.partitions(chunk_rows):
            cols = list(zip(*part, strict=True))
            arrays = [pa.array(c, type=f.type) for c, f in zip(cols[:-1], schema, strict=False)]
            arrays.append(pa.array([bytes(w) for w in cols[-1]], type=pa.binary()))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(part)
        if n == 0:
            writer.write_table(schema.empty_table())
    return n
