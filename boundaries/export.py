"""Export the grids of a level (current, or as they stood) to GeoJSON, GeoPackage or Shapefile.

The fields are those :func:`boundaries.importer.import_grids` reads back (code, name, parent,
workers) plus level, version and validity, so export → import → export is lossless. Shapefile
field names have at most 10 characters: ``parent_code`` is written as ``parent`` there.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from sqlalchemy import Connection

from gridgeo.errors import InvalidInput
from gridgeo.levels import Hierarchy
from gridgeo.versions import version_rows

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}
FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".shp"}
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
        path: ``.geojson``/``.json``, ``.gpkg`` or ``.shp`` (the layer is named after the level).
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
