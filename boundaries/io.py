"""Read boundary and point files into a GeoDataFrame in EPSG:4326.

GeoJSON, GeoPackage and Shapefile (also zipped) go through pyogrio; GeoParquet through
geopandas (pyarrow); CSV goes through pandas,
with points from longitude/latitude columns or geometry from a WKT column. Every CRS is
reprojected to EPSG:4326 (official Chinese data comes in CGCS2000, EPSG:4490, or in its
Gauss-Krüger zones such as EPSG:4547). A file without a CRS is taken as EPSG:4326 only when its
coordinates are plausible longitudes and latitudes.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError

from gridgeo.errors import InvalidInput

WGS84 = "EPSG:4326"
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # UTF-8 (with or without BOM), then Chinese Excel


def read_features(
    path: str | Path,
    layer: str | None = None,
    *,
    lon_field: str | None = None,
    lat_field: str | None = None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped), GeoParquet or CSV file whole.

    Files too big for memory are read chunk by chunk by :func:`boundaries.chunks.open_chunks`.

    Args:
        path: the file.
        layer: the layer of a multi-layer GeoPackage or zip; needed only when there are several.
        lon_field: CSV column of longitudes (default: lon, lng, long, longitude or x).
        lat_field: CSV column of latitudes (default: lat, latitude or y).
        crs: CRS of a file that declares none, and of CSV coordinates (e.g. ``"EPSG:4547"``).

    Returns:
        The features, 2D geometry in EPSG:4326, index 0..n-1 in file order.

    Raises:
        InvalidInput: the file is missing or unreadable, its format unknown, it has no
            geometry, a named column or layer is missing, or it has no CRS and its
            coordinates are not longitude/latitude.
    """
    p = checked_path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        gdf = frame_from_csv(p, read_csv_text(p), lon_field, lat_field, crs)
    elif suffix in PARQUET_SUFFIXES:
        gdf = _read_parquet(p)
    else:
        gdf = _read_vector(p, layer)
    return to_wgs84(p, gdf, crs)


def checked_path(path: str | Path) -> Path:
    """The path of an existing file of a readable format (by its suffix)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{p}: file not found", field="path")
    if p.suffix.lower() not in VECTOR_SUFFIXES | PARQUET_SUFFIXES | {".csv"}:
        known = ", ".join(sorted(VECTOR_SUFFIXES | PARQUET_SUFFIXES | {".csv"}))
        raise InvalidInput(f"{p}: unknown format '{p.suffix}'; readable: {known}", field="path")
    return p


def to_wgs84(p: Path, gdf: gpd.GeoDataFrame, crs: str | None) -> gpd.GeoDataFrame:
    """Features in EPSG:4326 with 2D geometry, index 0..n-1 (a whole file or one chunk)."""
    if gdf.crs is None:
        gdf = gdf.set_crs(_assumed_crs(p, gdf, crs))
    if not gdf.crs.equals(CRS.from_user_input(WGS84)):
        try:
            gdf = gdf.to_crs(WGS84)
        except CRSError as exc:
            raise InvalidInput(f"{p}: cannot reproject from {gdf.crs} to {WGS84}: {exc}") from exc
    gdf = gdf.reset_index(drop=True)
    geoms = np.asarray(gdf.geometry.values)
    if shapely.has_z(geoms).any():  # force_2d copies every geometry: ~1 s a million points
        gdf[gdf.geometry.name] = shapely.force_2d(geoms)
    return gdf


def _read_parquet(p: Path) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(p)
    except ValueError as exc:  # geopandas: "Missing geo metadata in Parquet/Feather file"
        raise InvalidInput(f"{p}: not a GeoParquet file: {exc}", field="path") from exc
    except OSError as exc:
        raise InvalidInput(f"{p}: cannot read the Parquet file: {exc}", field="path") from exc


def choose_layer(p: Path, layer: str | None) -> str | None:
    """The layer to read: the one named, else the only spatial one (a zip is checked first)."""
    if p.suffix.lower() == ".zip":
        _check_zip(p)
    try:
        layers = pyogrio.list_layers(p)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput(f"{p}: cannot read the file: {exc}", field="path") from exc
    spatial = [str(name) for name, gtype in layers if gtype is not None]
    if layer is None and len(spatial) > 1:
        raise InvalidInput(
            f"{p}: has {len(spatial)} layers, name one with layer=: " + ", ".join(spatial),
            field="layer",
        )
    if layer is not None and layer not in {str(name) for name, _ in layers}:
        names = ", ".join(str(name) for name, _ in layers)
        raise InvalidInput(f"{p}: no layer '{layer}'; the layers are: {names}", field="layer")
    return layer if layer is not None else (spatial[0] if spatial else None)


def _read_vector(p: Path, layer: str | None) -> gpd.GeoDataFrame:
    chosen = choose_layer(p, layer)
    try:
        df = pyogrio.read_dataframe(p, layer=chosen)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput(f"{p}: cannot read the file: {exc}", field="path") from exc
    if not isinstance(df, gpd.GeoDataFrame):
        cols = ", ".join(map(str, df.columns)) or "none"
        raise InvalidInput(f"{p}: no geometry column (columns: {cols})", field="path")
    return df


def _check_zip(p: Path) -> None:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{p}: not a readable zip file: {exc}", field="path") from exc
    if not any(n.lower().endswith((".shp", ".gpkg", ".geojson")) for n in names):
        listed = ", ".join(names[:10]) or "nothing"
        raise InvalidInput(f"{p}: the zip holds no Shapefile (it holds {listed})", field="path")


def frame_from_csv(
    p: Path, df: pd.DataFrame, lon_field: str | None, lat_field: str | None, crs: str | None
) -> gpd.GeoDataFrame:
    """Features of CSV text (all columns strings): points from lon/lat columns, or WKT."""
    cols = {str(c).strip().lower(): str(c) for c in df.columns}
    wkt = next((cols[n] for n in WKT_NAMES if n in cols), None)
    if wkt is not None and lon_field is None and lat_field is None:
        text = np.array(df[wkt].str.strip(), dtype=object)
        text[text == ""] = None
        geoms = shapely.from_wkt(text, on_invalid="ignore")
        return gpd.GeoDataFrame(df.drop(columns=[wkt]), geometry=geoms, crs=crs)
    lon = _pick_column(p, df, cols, lon_field, LON_NAMES, "longitude")
    lat = _pick_column(p, df, cols, lat_field, LAT_NAMES, "latitude")
    x = pd.to_numeric(df[lon].str.strip(), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(df[lat].str.strip(), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(df), None, dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    out = gpd.GeoDataFrame(df, geometry=geoms, crs=crs)
    # Columns named lon/lat are degrees by their names; x/y may be metres of a projected CRS.
    if crs is None and lon.strip().lower() == "x" and not _within_lonlat(out):
        raise InvalidInput(
            f"{p}: columns '{lon}'/'{lat}' do not hold longitude/latitude "
            f"(bounds {_bounds_text(out)}); give the CRS of the coordinates (crs=)",
            field="crs",
        )
    if crs is None:
        out = out.set_crs(WGS84)
    return out


def read_csv_text(p: Path) -> pd.DataFrame:
    """The whole CSV as strings, in its encoding (:func:`csv_encoding`)."""
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, encoding=csv_encoding(p))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise InvalidInput(f"{p}: cannot read the CSV: {exc}", field="path") from exc


def csv_encoding(p: Path, block: int = 1 << 24) -> str:
    """UTF-8 (BOM or not) when the whole file decodes as UTF-8, else GB18030 (Chinese Excel).

    Decoded block by block (16 MB; ~0.5 s a GB), so a file of millions of rows is checked
    before its first row is written rather than failing half way.
    """
    for encoding in CSV_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with p.open("rb") as f:
                while chunk := f.read(block):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{p}: the CSV is neither UTF-8 nor GB18030 text", field="path")


def _pick_column(
    p: Path,
    df: pd.DataFrame,
    cols: dict[str, str],
    given: str | None,
    names: tuple[str, ...],
    what: str,
) -> str:
    if given is not None:
        if given in df.columns:
            return given
        if given.lower() in cols:
            return cols[given.lower()]
        raise InvalidInput(
            f"{p}: no column '{given}' for the {what}; the columns are: {', '.join(df.columns)}",
            field=f"{what[:3]}_field",
        )
    for name in names:
        if name in cols:
            return cols[name]
    raise InvalidInput(
        f"{p}: no {what} column (looked for {', '.join(names)}); the columns are: "
        f"{', '.join(df.columns)}; name it with {what[:3]}_field=",
        field=f"{what[:3]}_field",
    )


def _within_lonlat(gdf: gpd.GeoDataFrame) -> bool:
    present = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    if not bool(present.any()):
        return True
    minx, miny, maxx, maxy = gdf.total_bounds
    return bool(-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90)


def _bounds_text(gdf: gpd.GeoDataFrame) -> str:
    minx, miny, maxx, maxy = gdf.total_bounds
    return f"x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}"


def _assumed_crs(p: Path, gdf: gpd.GeoDataFrame, crs: str | None) -> str:
    if crs is not None:
        return crs
    if _within_lonlat(gdf):
        return WGS84
    raise InvalidInput(
        f"{p}: declares no CRS and its coordinates are not longitude/latitude "
        f"({_bounds_text(gdf)}); add a .prj or give the CRS (crs=, e.g. EPSG:4547)",
        field="crs",
    )


def require_fields(path: str | Path, available: list[str], fields: dict[str, str | None]) -> None:
    """Raise a clear error naming mapped fields that the file does not have."""
    missing = [f"{opt}='{name}'" for opt, name in fields.items() if name and name not in available]
    if missing:
        raise InvalidInput(
            f"{path}: no field {', '.join(missing)}; the fields are: {', '.join(available)}",
            field="fields",
            available=available,
        )
