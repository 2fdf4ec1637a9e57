"""Workload report and exports, the per-area standard, and the named workers of grids."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import area_filter, check_area
from api.deps import AnyAccount, ConnDep, HierarchyDep, Planner, SettingsDep, WorkloadReader
from gridgeo.accounts import Account
from gridgeo.errors import NotFound, denied
from gridgeo.workers import (
    add_worker,
    delete_worker,
    import_workers,
    list_workers,
    update_worker,
    worker_grid_code,
)
from gridgeo.workload import set_config, to_csv, to_xlsx, workload_report

router = APIRouter(tags=["workload"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ConfigIn(BaseModel):
    """The staffing standard of an area."""

    model_config = ConfigDict(extra="forbid")
    households_per_worker: int = Field(gt=0, le=100_000, description="households per worker")
    band: float = Field(gt=0, lt=1, description="tolerance as a fraction: 0.1 = ±10 %")


class WorkerIn(BaseModel):
    """A named worker (role: a key such as ``grid_head`` or a Chinese label such as 网格长)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    role: str
    full_time: bool = True
    phone: str | None = None
    external_id: str | None = None


class WorkerPatch(BaseModel):
    """Fields of a worker to change."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    role: str | None = None
    full_time: bool | None = None
    phone: str | None = None
    external_id: str | None = None


def _personal(account: Account) -> bool:
    return account.role in ("planner", "admin")


def _worker_area(conn: ConnDep, account: Account, worker_id: int) -> None:
    """Refuse a worker outside the caller's areas; 403 whether or not it exists."""
    code = worker_grid_code(conn, worker_id)
    if code is None:
        if account.role != "admin":
            raise denied()
        raise NotFound(f"no worker has the id {worker_id}", field="id")
    check_area(account, code)


@router.get("/workload", summary="Households per worker against the standard, per area")
def workload(
    settings: SettingsDep,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: WorkloadReader,
    level: Annotated[str | None, Query(description="level key: grid, community …")] = None,
    parent: Annotated[str | None, Query(description="code of an area")] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    """Rows of households, workers, load, deviation, status and workers needed.

    ``level`` → every area of it; ``parent`` → its children; both → that level below the
    parent; neither → every area. Only areas within the caller's areas are listed.
    ``format=csv|xlsx`` answers a download.
    """
    if parent is not None:
        check_area(account, parent)
    rows = workload_report(
        conn,
        hierarchy,
        level=level,
        parent=parent,
        areas=area_filter(account),
        default_standard=settings.workload.households_per_worker,
    )
    if format == "json":
        return JSONResponse([r.to_dict() for r in rows])
    stem = (
        "workload-" + "-".join(x for x in (parent, level) if x) if (parent or level) else "workload"
    )
    body, media = (
        (to_csv(rows), "text/csv; charset=utf-8") if format == "csv" else (to_xlsx(rows), XLSX)
    )
    headers = {"Content-Disposition": f'attachment; filename="{stem}.{format}"'}
    return Response(body, media_type=media, headers=headers)


@router.put("/workload/config/{area_code}", summary="Set the staffing standard of an area")
def put_config(area_code: str, body: ConfigIn, conn: ConnDep, account: Planner) -> dict[str, Any]:
    """The area and everything below it (unless configured nearer) use this standard."""
    check_area(account, area_code)
    return set_config(conn, area_code, body.households_per_worker, body.band, account.name)


@router.get("/grids/{code}/workers", summary="Worker counts and named workers of a grid")
def get_workers(code: str, conn: ConnDep, account: AnyAccount) -> dict[str, Any]:
    """Stored and effective counts and the named team; phone numbers for planners and admins."""
    check_area(account, code)
    return list_workers(conn, code, personal=_personal(account))


@router.post("/grids/{code}/workers", summary="Add a named worker", status_code=201)
def post_worker(code: str, body: WorkerIn, conn: ConnDep, account: Planner) -> dict[str, Any]:
    """Add a worker to the grid; full-time workers count toward the standard."""
    check_area(account, code)
    return add_worker(conn, code, body.model_dump(), account.name)


@router.patch("/workers/{worker_id}", summary="Change a named worker")
def patch_worker(
    worker_id: int, body: WorkerPatch, conn: ConnDep, account: Planner
) -> dict[str, Any]:
    """Change the fields sent."""
    _worker_area(conn, account, worker_id)
    return update_worker(conn, worker_id, body.model_dump(exclude_unset=True), account.name)


@router.delete("/workers/{worker_id}", summary="Remove a named worker", status_code=204)
def remove_worker(worker_id: int, conn: ConnDep, account: Planner) -> Response:
    """Remove the worker."""
    _worker_area(conn, account, worker_id)
    delete_worker(conn, worker_id, account.name)
    return Response(status_code=204)


@router.post("/workers/import", summary="Import worker rosters (dry run unless commit)")
def post_import(
    conn: ConnDep,
    account: Planner,
    file: Annotated[UploadFile, File(description="CSV or XLSX: grid_code,name,role,full_time")],
    commit: bool = False,
) -> dict[str, Any]:
    """The file is the named roster of each grid it names; all or nothing on commit."""
    data = file.file.read()  # the body limit middleware caps the size
    return import_workers(
        conn,
        data,
        file.filename or "upload.csv",
        actor=account.name,
        commit=commit,
        areas=area_filter(account),
    )
