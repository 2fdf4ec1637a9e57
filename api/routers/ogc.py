"""OGC API – Features, Part 1 (Core): every level is a collection of (versioned) grids.

Read-only aggregates (no household records) for any account, scoped to its areas. GDAL's OAPIF
driver, QGIS and OWSLib read it as is; they pass the key as a header, e.g.
``ogrinfo --config GDAL_HTTP_HEADERS "X-API-Key: …" OAPIF:https://host/ogc/``.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.auth import area_filter, check_area
from api.deps import AnyAccount, ConnDep, HierarchyDep, Now
from api.openapi_limits import BBOX_PATTERN, stated
from gridgeo.bbox import parse_bbox
from gridgeo.errors import InvalidInput, NotFound
from gridgeo.levels import Hierarchy
from gridgeo.versions import grid_at, grids_at, level_extent, parse_period

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])

GEOJSON = "application/geo+json"
JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
LIMIT_DEFAULT, LIMIT_MAX = 100, 10_000
LIMIT_SCHEMA = {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT}
OFFSET_SCHEMA = {"type": "integer", "minimum": 0, "default": 0}


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


FormatParam = Annotated[
    str | None,
    Query(description="json (the default)", json_schema_extra=stated(enum=["json", "geojson"])),
]


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _check_format(f: str | None) -> None:
    if f is not None and f not in ("json", "geojson"):
        raise InvalidInput(f"f: only 'json' is served, got '{f}'", field="f")


def _int(value: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name}: '{value}' is not an integer", field=name) from None
    if number < low or (high is not None and number > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidInput(f"{name}: {number} is outside {bounds}", field=name)
    return number


def _json(body: dict[str, Any], media_type: str = JSON) -> JSONResponse:
    return JSONResponse(body, media_type=media_type)


@router.get("/", summary="OGC API landing page")
def landing(request: Request, _: AnyAccount, f: str | None = None) -> JSONResponse:
    """Links to the API definition, the conformance classes and the collections."""
    _check_format(f)
    return _json(
        {
            "title": "gridgeo grids",
            "description": "Management areas (网格) of every level, with their versions.",
            "links": [
                _link(_url(request, "/ogc/"), "self", JSON, "this document"),
                _link(
                    _url(request, "/openapi.json"),
                    "service-desc",
                    "application/vnd.oai.openapi+json;version=3.0",
                    "the API definition",
                ),
                _link(_url(request, "/docs"), "service-doc", "text/html", "the API documentation"),
                _link(_url(request, "/ogc/conformance"), "conformance", JSON, "conformance"),
                _link(_url(request, "/ogc/collections"), "data", JSON, "the collections"),
            ],
        }
    )


@router.get("/conformance", summary="OGC API conformance classes")
def conformance(request: Request, _: AnyAccount, f: str | None = None) -> JSONResponse:
    """The conformance classes implemented: Core, GeoJSON, OpenAPI 3.0."""
    _check_format(f)
    return _json({"conformsTo": CONFORMANCE})


def _collection(
    request: Request, conn: ConnDep, hierarchy: Hierarchy, key: str, areas: tuple[str, ...] | None
) -> dict[str, Any]:
    spec = hierarchy.get(key)
    box, first = level_extent(conn, hierarchy, key, areas)
    base = _url(request, f"/ogc/collections/{key}")
    extent: dict[str, Any] = {
        "spatial": {"bbox": [list(box) if box else [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84},
        "temporal": {
            "interval": [[first.astimezone(UTC).isoformat() if first else None, None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }
    return {
        "id": key,
        "title": f"{spec.label_zh} {spec.label_en}",
        "description": f"{spec.label_en} areas ({spec.code_length}-digit codes); "
        "datetime= selects the versions valid then.",
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            _link(base, "self", JSON, key),
            _link(base + "/items", "items", GEOJSON, f"{key} features"),
        ],
    }


@router.get("/collections", summary="The collections: one per level")
def collections(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    f: FormatParam = None,
) -> JSONResponse:
    """One collection per level key, with its extent (within the caller's areas) and CRS."""
    _check_format(f)
    areas = area_filter(account)
    return _json(
        {
            "links": [_link(_url(request, "/ogc/collections"), "self", JSON, "collections")],
            "collections": [
                _collection(request, conn, hierarchy, s.key, areas) for s in hierarchy.levels
            ],
        }
    )


@router.get("/collections/{level}", summary="One collection (level)")
def collection(
    level: str,
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    f: FormatParam = None,
) -> JSONResponse:
    """The collection's description, extent and links."""
    _check_format(f)
    _level(hierarchy, level)
    return _json(_collection(request, conn, hierarchy, level, area_filter(account)))


def _level(hierarchy: Hierarchy, level: str) -> None:
    """A 404 (not a 400) for an unknown collection."""
    if level not in {s.key for s in hierarchy.levels}:
        raise NotFound(f"no collection '{level}'", field="level")


@router.get("/collections/{level}/items", summary="Features of a level (paged)")
def items(
    level: str,
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    now: Now,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat (CRS84)",
            json_schema_extra=stated(pattern=BBOX_PATTERN),
        ),
    ] = None,
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="an instant (versions valid then) or an interval a/b, '..' open",
        ),
    ] = None,
    limit: Annotated[str | None, Query(json_schema_extra=LIMIT_SCHEMA)] = None,
    offset: Annotated[str | None, Query(json_schema_extra=OFFSET_SCHEMA)] = None,
    f: FormatParam = None,
) -> JSONResponse:
    """A GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links."""
    _check_format(f)
    _level(hierarchy, level)
    n = _int(limit, "limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    start = _int(offset, "offset", 0, 0, None)
    box = parse_bbox(bbox) if bbox is not None else None
    when = parse_period(datetime_) if datetime_ is not None else None
    fc = grids_at(
        conn,
        hierarchy,
        level,
        when,
        bbox=box,
        limit=n,
        offset=start,
        areas=area_filter(account),
    )
    matched, returned = fc["numberMatched"], len(fc["features"])
    page = request.url.include_query_params(limit=n)
    links = [
        _link(str(page.include_query_params(offset=start)), "self", GEOJSON, "this page"),
        _link(_url(request, f"/ogc/collections/{level}"), "collection", JSON, level),
    ]
    if start + returned < matched:
        links.append(_link(str(page.include_query_params(offset=start + n)), "next", GEOJSON))
    if start > 0:
        prev = page.include_query_params(offset=max(0, start - n))
        links.append(_link(str(prev), "prev", GEOJSON))
    fc["numberReturned"] = returned
    fc["timeStamp"] = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    fc["links"] = links
    return _json(fc, GEOJSON)


@router.get("/collections/{level}/items/{feature_id}", summary="One feature by code")
def item(
    level: str,
    feature_id: str,
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    datetime_: Annotated[
        str | None, Query(alias="datetime", description="the version valid at this instant")
    ] = None,
    f: FormatParam = None,
) -> JSONResponse:
    """A grid by code (current, or at ``datetime``); ``code@N`` names version N."""
    _check_format(f)
    _level(hierarchy, level)
    code, _, version = feature_id.partition("@")
    check_area(account, code)
    number = _int(version, "version", 0, 1, None) if version else None
    when = parse_period(datetime_) if datetime_ is not None else None
    if when is not None and not when.is_instant:
        raise InvalidInput("datetime: give an instant for one feature", field="datetime")
    at = when.start if when is not None else None
    feature = grid_at(conn, hierarchy, level, code, at=at, version=number)
    feature["links"] = [
        _link(str(request.url), "self", GEOJSON, feature_id),
        _link(_url(request, f"/ogc/collections/{level}"), "collection", JSON, level),
    ]
    return _json(feature, GEOJSON)
