"""Read a file of features chunk by chunk, in bounded memory, in EPSG:4326.

The streaming twin of :func:`boundaries.io.read_features` (same formats, CRS rules and
column detection, which live there): GeoParquet through ``pyarrow.parquet`` row batches,
GeoPackage, GeoJSON and Shapefile through pyogrio's Arrow stream (one pass over the file,
unlike ``skip_features`` which reads from the start again for every chunk), CSV through pandas
``chunksize``. Memory is that of one chunk, whatever the size of the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from boundaries.io import (
    PARQUET_SUFFIXES,
    checked_path,
    choose_layer,
    csv_encoding,
    frame_from_csv,
    to_wgs84,
)
from gridgeo.bulk_load import CHUNK_ROWS
from gridgeo.errors import InvalidInput

CRS84 = "OGC:CRS84"  # GeoParquet: a column without "crs" is longitude/latitude
#: ``frame.attrs[XY]``: the chunk's points as (x, y) arrays, its geometry column left empty.
XY = "gridgeo_xy"


@dataclass
class FeatureChunks:
    """The chunks of one file: iterate for ``(offset, features)`` pairs.

    Attributes:
        path: the file.
        columns: its fields (without the geometry), as :func:`read_features` names them.
        estimated_rows: rows in the file (exact for GeoParquet and most vector files,
            estimated from the first bytes for CSV; None when unknown).
        crs: the CRS given for a file that declares none (and for CSV coordinates).
    """

    path: Path
    columns: list[str]
    estimated_rows: int | None
    crs: str | None
    _frames: Callable[[], Iterator[gpd.GeoDataFrame]]

    def __iter__(self) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
        """Yield ``(offset, chunk)``: the file's row number of the chunk's first feature.

        The chunk's features are in EPSG:4326, 2D, index 0..k-1.
        """
        offset = 0
        for frame in self._frames():
            # points read as coordinates are longitude/latitude already (see _points)
            chunk = frame if XY in frame.attrs else to_wgs84(self.path, frame, self.crs)
            yield offset, chunk
            offset += len(chunk)


def open_chunks(
    path: str | Path,
    layer: str | None = None,
    *,
    lon_field: str | None = None,
    lat_field: str | None = None,
    crs: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> FeatureChunks:
    """Open a GeoParquet, GeoPackage, GeoJSON, Shapefile or CSV file for reading in chunks.

    Args:
        path: the file.
        layer: the layer of a multi-layer file.
        lon_field: CSV column of longitudes (default: detected as by ``read_features``).
        lat_field: CSV column of latitudes.
        crs: CRS of a file that declares none, and of CSV coordinates.
        chunk_rows: features per chunk.

    Raises:
        InvalidInput: the file is missing, of an unknown format, unreadable, or not GeoParquet.
    """
    p = checked_path(path)
    suffix = p.suffix.lower()
    if chunk_rows < 1:
        raise InvalidInput(f"chunk_rows must be at least 1, got {chunk_rows}", field="chunk_rows")
    if suffix == ".csv":
        return _csv(p, lon_field, lat_field, crs, chunk_rows)
    if suffix in PARQUET_SUFFIXES:
        return _parquet(p, crs, chunk_rows)
    return _vector(p, layer, crs, chunk_rows)


def _parquet(p: Path, crs: str | None, chunk_rows: int) -> FeatureChunks:
    try:
        pf = pq.ParquetFile(p)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InvalidInput(f"{p}: cannot read the Parquet file: {exc}", field="path") from exc
    raw = (pf.schema_arrow.metadata or {}).get(b"geo")
    if raw is None:
        raise InvalidInput(
            f"{p}: not a GeoParquet file (no 'geo' metadata); write it with geopandas, GDAL or "
            "DuckDB, or give a CSV with lon/lat columns",
            field="path",
        )
    geo = json.loads(raw)
    name = geo.get("primary_column", "geometry")
    column = geo.get("columns", {}).get(name, {})
    if str(column.get("encoding", "WKB")).upper() != "WKB":
        raise InvalidInput(
            f"{p}: geometry column '{name}' is encoded as {column.get('encoding')}; "
            "gridgeo reads WKB GeoParquet (write it with geometry_encoding='WKB')",
            field="path",
        )
    if "crs" not in column:
        file_crs: CRS | None = CRS.from_user_input(CRS84)
    elif column["crs"] is None:
        file_crs = None
    else:
        file_crs = CRS.from_user_input(column["crs"])
    fields = [f for f in pf.schema_arrow.names if f != name]
    lonlat = file_crs is not None and any(
        file_crs.equals(CRS.from_user_input(c)) for c in (CRS84, "EPSG:4326")
    )

    def frames() -> Iterator[gpd.GeoDataFrame]:
        for batch in pf.iter_batches(batch_size=chunk_rows):
            xy = _points(batch.column(name)) if lonlat else None
            if xy is None:
                yield _frame(batch, name, file_crs)
                continue
            data = batch.drop_columns([name]).to_pandas()
            frame = gpd.GeoDataFrame(data, geometry=np.full(len(data), None), crs="EPSG:4326")
            frame.attrs[XY] = xy
            yield frame

    return FeatureChunks(p, fields, pf.metadata.num_rows, crs, frames)


def _vector(p: Path, layer: str | None, crs: str | None, chunk_rows: int) -> FeatureChunks:
    chosen = choose_layer(p, layer)
    try:
        info = pyogrio.read_info(p, layer=chosen)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput(f"{p}: cannot read the file: {exc}", field="path") from exc
    if info.get("geometry_type") is None:
        raise InvalidInput(f"{p}: no geometry column (columns: {', '.join(info['fields'])})")
    count = int(info.get("features", -1))

    def frames() -> Iterator[gpd.GeoDataFrame]:
        try:
            with pyogrio.open_arrow(p, layer=chosen, batch_size=chunk_rows, use_pyarrow=True) as (
                meta,
                reader,
            ):
                name = meta.get("geometry_name") or "wkb_geometry"
                file_crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
                for batch in reader:
                    yield _frame(batch, name, file_crs)
        except (DataSourceError, DataLayerError) as exc:
            raise InvalidInput(f"{p}: cannot read the file: {exc}", field="path") from exc

    return FeatureChunks(
        p, [str(f) for f in info["fields"]], count if count >= 0 else None, crs, frames
    )


def _points(column: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """The x and y of a WKB column whose values are all 2D little-endian points, else None.

    Read from the bytes with numpy: 0.11 s a million points against ~2 s (load 13) for
    ``shapely.from_wkb``, which makes an object per point that the import does not need.
    """
    if column.null_count or not pa.types.is_binary(column.type) or len(column) == 0:
        return None
    bufs = column.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[
        column.offset : column.offset + len(column) + 1
    ]
    if not bool((np.diff(offsets) == 21).all()):
        return None
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 21)
    if not bool((data[:, :5] == np.array([1, 1, 0, 0, 0], dtype=np.uint8)).all()):
        return None
    x = np.ascontiguousarray(data[:, 5:13]).view("<f8").ravel().astype(float)
    y = np.ascontiguousarray(data[:, 13:21]).view("<f8").ravel().astype(float)
    return x, y


def _frame(batch: pa.RecordBatch, name: str, crs: CRS | None) -> gpd.GeoDataFrame:
    """One Arrow batch as features: the WKB column decoded, the other fields as pandas."""
    wkb = batch.column(name).to_numpy(zero_copy_only=False)
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object), on_invalid="ignore")
    df = batch.drop_columns([name]).to_pandas() if batch.num_columns > 1 else None
    data = df if df is not None else pd.DataFrame(index=range(batch.num_rows))
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def _csv(
    p: Path, lon_field: str | None, lat_field: str | None, crs: str | None, chunk_rows: int
) -> FeatureChunks:
    encoding = csv_encoding(p)
    try:
        head = pd.read_csv(p, dtype=str, keep_default_na=False, encoding=encoding, nrows=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise InvalidInput(f"{p}: cannot read the CSV: {exc}", field="path") from exc
    # the geometry columns (lon/lat or WKT) are not fields
    probe = frame_from_csv(p, head, lon_field, lat_field, crs)
    fields = [str(c) for c in probe.columns.drop(probe.geometry.name)]
    with p.open("rb") as f:
        sample = f.read(1 << 16)
    size = p.stat().st_size
    lines = max(sample.count(b"\n"), 1)
    estimate = max(lines - 1, 0) if len(sample) >= size else int(size * lines / len(sample))

    def frames() -> Iterator[gpd.GeoDataFrame]:
        try:
            reader = pd.read_csv(
                p, dtype=str, keep_default_na=False, encoding=encoding, chunksize=chunk_rows
            )
            with reader:
                for df in reader:
                    yield frame_from_csv(p, df.reset_index(drop=True), lon_field, lat_field, crs)
        except pd.errors.ParserError as exc:
            raise InvalidInput(f"{p}: cannot read the CSV: {exc}", field="path") from exc

    return FeatureChunks(p, fields, estimate, crs, frames)
