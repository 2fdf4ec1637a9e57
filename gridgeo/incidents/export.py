"""Incidents to a file (CSV, GeoJSON, GeoPackage, GeoParquet), with their classification code.

Digital urban management and the 12345 hotline exchange events by the national codes of their
categories (CJ/T 214, GB/T 30428.2, GB/T 47678.5; gridgeo/incidents/codes.py): each row carries
its category's ``category_code`` beside gridgeo's own key. The rows are those of
:func:`gridgeo.incidents.queries.list_incidents` — the caller's areas and whether it sees names
are decided there, once — read in pages of :data:`PAGE` by id: CSV and GeoJSON are written page by page
(a year of a large district never sits in memory), GeoPackage and GeoParquet from one frame. Times are written in the zone given (China time by default) with
their offset (``2026-12-05T20:30:00+08:00``), so a spreadsheet and a program read the same
instant; the state is written as its key and in Chinese and English words.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from gridgeo.errors import InvalidInput
from gridgeo.incidents.policy import STATE_WORDS
from gridgeo.incidents.queries import list_categories, list_incidents

PAGE = 5000
FORMATS = {".csv": "CSV", ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
           ".parquet": "GeoParquet"}  # fmt: skip
MEDIA = {".csv": "text/csv; charset=utf-8", ".geojson": "application/geo+json",
         ".json": "application/geo+json", ".gpkg": "application/geopackage+sqlite3",
         ".parquet": "application/vnd.apache.parquet"}  # fmt: skip
FIELDS = (
    "id", "category", "category_code", "category_zh", "category_en", "state", "state_zh",
    "state_en", "description", "grid", "grid_name", "queue_area", "department", "reporter",
    "assignee", "major", "escalation_level", "rating", "reported_at", "accept_due",
    "resolve_due", "resolved_at", "updated_at", "lon", "lat",
)  # fmt: skip
TIMES = ("reported_at", "accept_due", "resolve_due", "resolved_at", "updated_at")


def _categories(conn: Connection) -> dict[str, tuple[str | None, str, str]]:
    """Code and labels of every category, retired ones too (old incidents carry them)."""
    return {
        c["key"]: (c["code"], c["label_zh"], c["label_en"])
        for c in list_categories(conn, inactive=True)
    }


def _local(value: datetime | None, tz: tzinfo) -> str | None:
    return None if value is None else value.astimezone(tz).isoformat()


def incident_rows(
    conn: Connection,
    *,
    areas: tuple[str, ...] | None,
    names: bool,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    state: str | None = None,
    category: str | None = None,
    area: str | None = None,
    tz: tzinfo | None = None,
) -> Iterator[dict[str, Any]]:
    """The export's rows (:data:`FIELDS`), by id, in pages of :data:`PAGE`."""
    tz = tz or ZoneInfo("Asia/Shanghai")
    cats = _categories(conn)
    after = 0
    while True:
        page = list_incidents(
            conn, areas=areas, now=now, state=state, category=category, area=area,
            since=since, until=until, limit=PAGE, after=after, names=names,
        )  # fmt: skip
        for r in page:
            code, zh, en = cats.get(r["category"], (None, r["category"], r["category"]))
            words = STATE_WORDS.get(r["state"], (r["state"], r["state"]))
            row = {k: r.get(k) for k in FIELDS}
            row.update(category_code=code, category_zh=zh, category_en=en,
                       state_zh=words[0], state_en=words[1])  # fmt: skip
            for k in TIMES:
                row[k] = _local(r.get(k), tz)
            yield row
        if len(page) < PAGE:
            return
        after = page[-1]["id"]


def export_incidents(conn: Connection, path: str | Path, **filters: Any) -> int:
    """Write the incidents :func:`incident_rows` reads to ``path``; the format follows the suffix.

    CSV is written with a byte-order mark, so that Excel opens its Chinese as UTF-8.

    Returns:
        Incidents written.

    Raises:
        InvalidInput: an unknown suffix (or a filter :func:`list_incidents` refuses).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise InvalidInput(f"{p}: unknown export format '{p.suffix}'; known: {known}", field="path")
    rows = incident_rows(conn, **filters)
    if suffix == ".csv":
        n = 0
        with p.open("w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
                n += 1
        return n
    if suffix in (".geojson", ".json"):
        n = 0
        with p.open("w", encoding="utf-8") as fh:
            fh.write('{"type": "FeatureCollection", "features": [\n')
            for row in rows:
                geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
                props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
                feature = {"type": "Feature", "id": row["id"], "geometry": geometry,
                           "properties": props}  # fmt: skip
                fh.write(("," if n else "") + json.dumps(feature, ensure_ascii=False) + "\n")
                n += 1
            fh.write("]}\n")
        return n
    import geopandas as gpd

    data = list(rows)
    frame = gpd.GeoDataFrame(
        data or {k: [] for k in FIELDS},
        geometry=gpd.points_from_xy([r["lon"] for r in data], [r["lat"] for r in data]),
        crs="EPSG:4326",
    )
    if suffix == ".gpkg":
        frame.to_file(p, driver="GPKG", layer="incidents")
    else:
        frame.to_parquet(p)
    return len(data)
