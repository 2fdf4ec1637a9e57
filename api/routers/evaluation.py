"""The evaluation (综合评价): tables, trend and states as JSON, CSV or a workbook; the public page.

Every signed-in role reads the figures of its own areas (aggregates); workers are named, so
only roles that see names may list them. With ``GRIDGEO_PUBLIC_EVALUATION=true`` anyone sees
each community's grade and rates at ``/evaluation/public`` (评价结果公开): aggregates only.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.auth import area_filter, check_area
from api.deps import PUBLIC, AnyAccount, ConnDep, HierarchyDep
from api.evaluation_page import public_page
from gridgeo.accounts import Account
from gridgeo.errors import NotFound
from gridgeo.evaluation import evaluate, state_counts, trend
from gridgeo.evaluation.cache import SettledCache
from gridgeo.evaluation.export import to_csv, workbook
from gridgeo.evaluation.figures import FIGURES, parse_weights
from gridgeo.evaluation.periods import (
    Period,
    buckets,
    days,
    last_months,
    month_of,
    parse_period,
    zone,
)
from gridgeo.incidents.policy import sees_names

router = APIRouter(tags=["evaluation"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def clock() -> datetime:
    """The current time (tests override this dependency)."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(clock)]
By = Literal["area", "department", "worker", "category"]
PeriodQ = Annotated[
    str | None, Query(description="a month 2026-11, quarter 2026Q4, week 2026-W47 or day")
]
FromQ = Annotated[date | None, Query(alias="from", description="first day (with 'to')")]
ToQ = Annotated[date | None, Query(alias="to", description="last day, inclusive")]
ParentQ = Annotated[str | None, Query(description="an area code (default: the caller's area)")]


def _tz(request: Request) -> Any:
    return zone(request.app.state.settings.evaluation.evaluation_timezone)


def _weights(request: Request) -> dict[str, float]:
    return parse_weights(request.app.state.settings.evaluation.evaluation_weights)


def _cache(request: Request) -> SettledCache | None:
    cache: SettledCache = request.app.state.evaluation_cache
    return cache


def _period(request: Request, now: datetime, period: str | None, start: date | None,
            end: date | None) -> Period:  # fmt: skip
    tz = _tz(request)
    if start is not None or end is not None:
        return days(start or end or now.date(), end or start or now.date(), tz)
    return parse_period(period, tz) if period else month_of(now, tz)


def _scope(account: Account, parent: str | None) -> tuple[str | None, tuple[str, ...] | None]:
    if parent:
        check_area(account, parent)
    return parent, area_filter(account)


def _timing(start: float) -> dict[str, str]:
    """A ``Server-Timing`` header: the evaluation's own time, beside what the browser waited.

    Chromium's waterfall shows both (bench/evaluation.py): the rest is the request's queue
    (threads, connections) and the network.
    """
    return {"Server-Timing": f"evaluation;dur={1000 * (time.perf_counter() - start):.1f}"}


def _download(body: bytes, media: str, name: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/evaluation", summary="The evaluation of a period, per area, department, worker …")
def get_evaluation(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    now: Now,
    level: Annotated[str | None, Query(description="the level of the areas")] = None,
    parent: ParentQ = None,
    by: By = "area",
    period: PeriodQ = None,
    start: FromQ = None,
    end: ToQ = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    """The figures of each group and their total, ranked by score (docs/evaluation.md).

    ``by=area``: the areas of ``level`` under ``parent``; otherwise the departments, workers
    or categories of the incidents under ``parent``. The period: ``from``/``to`` (days,
    inclusive), or ``period``, else the current month. 403 for a parent outside the caller's
    areas, and for workers to a role that does not see names.
    """
    started = time.perf_counter()
    parent, areas = _scope(account, parent)
    p = _period(request, now, period, start, end)
    table = evaluate(conn, hierarchy, period=p, now=now, by=by, level=level, parent=parent,
                     areas=areas, names=sees_names(account.role), weights=_weights(request),
                     cache=_cache(request))  # fmt: skip
    name = f"evaluation-{p.label}-{by}-{table['level'] or ''}{table['parent'] or ''}"
    if format == "csv":
        return _download(to_csv(table), "text/csv; charset=utf-8", name + ".csv")
    if format == "xlsx":
        from gridgeo.evaluation.export import to_xlsx

        return _download(
            to_xlsx([(p.label, table)], weights=table["weights"]), XLSX, name + ".xlsx"
        )
    return JSONResponse(table, headers=_timing(started))


@router.get("/evaluation/trend", summary="The figures of an area week by week or month by month")
def get_trend(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    now: Now,
    parent: ParentQ = None,
    bucket: Literal["day", "week", "month"] = "month",
    period: PeriodQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> JSONResponse:
    """``{"bucket", "parent", "points": [{"period", <figures>}]}``; default: the last 12 months."""
    started = time.perf_counter()
    parent, areas = _scope(account, parent)
    if period is None and start is None and end is None:
        whole = last_months(now, _tz(request))
    else:
        whole = _period(request, now, period, start, end)
    points = trend(conn, hierarchy, buckets=buckets(whole, bucket), now=now, parent=parent,
                   areas=areas, weights=_weights(request), cache=_cache(request))  # fmt: skip
    return JSONResponse(
        {"bucket": bucket, "parent": parent, "points": points}, headers=_timing(started)
    )


@router.get("/evaluation/states", summary="The period's incidents by the state they are in now")
def get_states(
    request: Request,
    response: Response,
    conn: ConnDep,
    account: AnyAccount,
    now: Now,
    parent: ParentQ = None,
    period: PeriodQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> dict[str, int]:
    """Counts of the incidents reported in the period under ``parent``, by state."""
    started = time.perf_counter()
    parent, areas = _scope(account, parent)
    p = _period(request, now, period, start, end)
    if parent is None and areas is not None and len(areas) == 1:
        parent = areas[0]
    counts = state_counts(conn, period=p, parent=parent, areas=areas)
    response.headers.update(_timing(started))
    return counts


@router.get("/evaluation/workbook", summary="The month's evaluation workbook (.xlsx)")
def get_workbook(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    account: AnyAccount,
    now: Now,
    parent: ParentQ = None,
    level: Annotated[str | None, Query(description="the last level with a sheet")] = None,
    period: PeriodQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> Response:
    """The month's workbook: a sheet per level, departments, categories, definitions.

    Sheets from ``parent``'s level down to ``level``; workers too for roles that see names.
    """
    parent, areas = _scope(account, parent)
    p = _period(request, now, period, start, end)
    names = sees_names(account.role)
    body = workbook(conn, hierarchy, period=p, now=now, parent=parent, level=level, areas=areas,
                    names=names, workers=names, weights=_weights(request),
                    cache=_cache(request))  # fmt: skip
    return _download(body, XLSX, f"evaluation-{p.label}.xlsx")


@router.get("/evaluation/figures", dependencies=[PUBLIC], summary="The figures and formulas")
def get_figures(request: Request) -> dict[str, Any]:
    """Every figure with its names, kind and formula, and the score's weights."""
    return {"figures": [f.__dict__ for f in FIGURES], "weights": _weights(request)}


@router.get("/evaluation/public", response_class=HTMLResponse, dependencies=[PUBLIC],
            summary="Published results (评价结果公开), when GRIDGEO_PUBLIC_EVALUATION is on")  # fmt: skip
def get_public(
    request: Request,
    conn: ConnDep,
    hierarchy: HierarchyDep,
    now: Now,
    period: PeriodQ = None,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> HTMLResponse:
    """Each community's grade and rates for a month (default: the last full month).

    Aggregates only: no incident, no text, no name. 404 unless the setting is on.
    """
    if not request.app.state.settings.evaluation.public_evaluation:
        raise NotFound("the evaluation is not published here (GRIDGEO_PUBLIC_EVALUATION)")
    tz = _tz(request)
    p = parse_period(period, tz) if period else month_of(now, tz).previous()
    level = "community" if "community" in [s.key for s in hierarchy.levels] else None
    table = evaluate(conn, hierarchy, period=p, now=now, level=level, parent="", names=False,
                     weights=_weights(request), cache=_cache(request))  # fmt: skip
    return HTMLResponse(public_page(table, lang))
