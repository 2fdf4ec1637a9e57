"""``GET /export/incidents``: the incidents in the caller's areas as a file, with their codes.

The rows and what they show are those of the incident list (gridgeo/incidents/export.py reads
them through :func:`gridgeo.incidents.queries.list_incidents`): the caller's areas, and names
only for the roles that see them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import area_filter, check_area
from api.deps import AnyAccount, ConnDep, Now
from gridgeo.incidents.export import MEDIA, export_incidents
from gridgeo.incidents.policy import sees_names
from gridgeo.versions import parse_instant, parse_until

router = APIRouter(tags=["incidents"])
WHEN = "a date or time (China time unless it has an offset)"


@router.get("/export/incidents", summary="Download incidents as CSV, GeoJSON, GPKG or GeoParquet")
def export(
    conn: ConnDep,
    account: AnyAccount,
    now: Now,
    format: Literal["csv", "geojson", "gpkg", "parquet"] = "csv",
    start: Annotated[
        str | None, Query(alias="from", description="reported at or after: " + WHEN)
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="reported at or before: " + WHEN)
    ] = None,
    state: str | None = None,
    category: str | None = None,
    area: Annotated[str | None, Query(description="an area code (and everything below)")] = None,
) -> Response:
    """Every incident matching the filters, by id, with its category's classification code.

    Fields: id, category, category_code, category_zh/en, state, state_zh/en, description,
    grid, grid_name, queue_area, department, reporter and assignee (for roles that see names),
    major, escalation_level, rating, the times in China time with their offset, lon, lat.
    """
    if area is not None:
        check_area(account, area)
    since = parse_instant(start, "from") if start else None
    until = parse_until(end, "to") if end else None
    name = f"incidents{'-' + area if area else ''}.{format}"
    with tempfile.TemporaryDirectory(prefix="gridgeo-export-") as tmp:
        path = Path(tmp) / name
        export_incidents(conn, path, areas=area_filter(account), names=sees_names(account.role),
                         now=now, since=since, until=until, state=state, category=category,
                         area=area)  # fmt: skip
        body = path.read_bytes()
    return Response(body, media_type=MEDIA[path.suffix],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
