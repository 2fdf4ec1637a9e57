"""Import a line layer (roads, rivers, railways) from GeoJSON, GeoPackage or Shapefile.

A dry run unless ``commit``: the file is read and checked, and the report says what would be
stored. Refused with :class:`~gridgeo.errors.InvalidInput` (nothing stored): an unreadable or
empty file, features that are not lines (polygons, points), an unknown kind, and lines that
cross no stored area.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from boundaries.io import read_features, require_fields
from gridgeo.errors import InvalidInput
from gridgeo.lines import (
    KINDS,
    count_touching_areas,
    delete_source,
    normalise_kind,
    store_lines,
)

LINE_TYPES = ("LineString", "MultiLineString")


@dataclass
class LineImport:
    """What an import of lines found and did."""

    file: str
    features: int
    kinds: dict[str, int]
    skipped_empty: int
    outside_areas: int
    committed: bool
    inserted: int = 0
    replaced: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping."""
        return dict(self.__dict__)

    def to_text(self) -> str:
        """A few lines for the command line."""
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(self.kinds.items()))
        out = [f"{self.file}: {self.features:,} line features ({kinds})"]
        out += [f"warning: {w}" for w in self.warnings]
        if self.committed:
            out.append(f"stored {self.inserted:,} lines (replaced {self.replaced:,})")
        return "\n".join(out)


def import_lines(
    conn: Connection,
    path: str | Path,
    *,
    kind: str | None = None,
    kind_field: str | None = None,
    name_field: str | None = None,
    layer: str | None = None,
    commit: bool = False,
    replace: bool = False,
) -> LineImport:
    """Read, check and (with ``commit``) store the lines of a file.

    Args:
        conn: a connection in the caller's transaction.
        path: GeoJSON, GeoPackage or Shapefile (any CRS; reprojected to EPSG:4326).
        kind: the kind of every feature (road, river, rail; Chinese names accepted).
        kind_field: a field holding each feature's kind (instead of ``kind``).
        name_field: a field holding each feature's name.
        layer: the layer of a multi-layer file.
        commit: store the lines; otherwise a dry run.
        replace: first delete the lines imported earlier from a file of the same name.

    Raises:
        InvalidInput: see the module docstring.
    """
    p = Path(path)
    if (kind is None) == (kind_field is None):
        raise InvalidInput("give the kind of the lines (road, river, rail) or a kind field")
    gdf = read_features(p, layer)
    require_fields(
        p, [str(c) for c in gdf.columns], {"kind_field": kind_field, "name_field": name_field}
    )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        raise InvalidInput(f"{p}: the file holds no line features", field="path")
    types = Counter(str(t) for t in shapely.get_type_id(geoms[present]).tolist())
    other = {_TYPE_NAMES.get(int(t), t): n for t, n in types.items() if int(t) not in (1, 5)}
    if other:
        found = ", ".join(f"{n:,} {t}" for t, n in sorted(other.items()))
        raise InvalidInput(
            f"{p}: a line layer holds LineStrings only; the file also holds {found}",
            field="path",
        )
    if kind is not None:
        k = normalise_kind(kind)
        if k is None:
            raise InvalidInput(
                f"unknown kind '{kind}': use one of {', '.join(KINDS)}", field="kind"
            )
        kinds = [k] * len(gdf)
    else:
        raw = gdf[kind_field].tolist()
        found_kinds = [normalise_kind(v) for v in raw]
        bad = sorted({str(v) for v, k in zip(raw, found_kinds, strict=True) if k is None})
        if bad:
            raise InvalidInput(
                f"{p}: field '{kind_field}' holds unknown kinds ({', '.join(bad[:5])}); "
                f"use {', '.join(KINDS)}",
                field="kind_field",
            )
        kinds = [str(k) for k in found_kinds]
    names = (
        [str(v) if v is not None else "" for v in gdf[name_field]]
        if name_field
        else [""] * len(gdf)
    )
    keep = np.flatnonzero(present)
    geoms = geoms[keep]
    kinds = [kinds[i] for i in keep]
    names = [names[i] for i in keep]
    touching = count_touching_areas(conn, geoms)
    if touching == 0:
        raise InvalidInput(
            f"{p}: none of the {len(geoms):,} lines crosses a stored area "
            "(wrong file, or wrong coordinates?)",
            field="path",
        )
    report = LineImport(
        file=p.name,
        features=len(geoms),
        kinds=dict(Counter(kinds)),
        skipped_empty=int((~present).sum()),
        outside_areas=len(geoms) - touching,
        committed=commit,
    )
    if report.skipped_empty:
        report.warnings.append(f"{report.skipped_empty} features without geometry skipped")
    if report.outside_areas:
        report.warnings.append(f"{report.outside_areas:,} lines lie outside every stored area")
    if commit:
        if replace:
            report.replaced = delete_source(conn, p.name)
        report.inserted = store_lines(conn, geoms, kinds, names, source=p.name)
    return report


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
