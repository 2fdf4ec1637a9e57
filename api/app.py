"""The application factory; the lifespan owns the database (nothing connects at import)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import Connection

from api.errors import install_error_handlers
from api.limits import BodyLimit
from api.nul_guard import RejectNul
from api.routers import admin, auth, core, login, maps, plan_pages
from api.routers import balance as balance_routes
from api.routers import buildings as building_routes
from api.routers import community as community_routes
from api.routers import dashboard as dashboard_routes
from api.routers import desk as desk_routes
from api.routers import evaluation as evaluation_routes
from api.routers import history as history_routes
from api.routers import incident_admin as incident_admin_routes
from api.routers import incident_export as incident_export_routes
from api.routers import incidents as incident_routes
from api.routers import ogc as ogc_routes
from api.routers import open311 as open311_routes
from api.routers import plan_maps as plan_map_routes
from api.routers import plans as plan_routes
from api.routers import report as report_routes
from api.routers import residents as resident_routes
from api.routers import tiles as tile_routes
from api.routers import workload as workload_routes
from api.statements import PoolStatements, Statements
from gridgeo import __version__
from gridgeo.clock import utcnow
from gridgeo.db import Database, libpq_conninfo, open_database
from gridgeo.evaluation.cache import SettledCache
from gridgeo.evaluation.warm import start_warming
from gridgeo.settings import Settings, get_settings
from maps.assets import STATIC_DIR, STATIC_URL


def _telemetry() -> TelemetryConfig | None:
    """FastAPI's OpenTelemetry as configured, or off when the environment sets up none.

    Left on, FastAPI asks OpenTelemetry on every request whether a provider was configured
    (reading the environment each time): some 5 % of a report's time in Python. An ``OTEL_``
    variable (as ``opentelemetry-instrument`` and the exporters use) keeps it on.
    """
    if any(key.startswith(("OTEL_", "FASTAPI_OTEL_")) for key in os.environ):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings,
    database: Database | None = None,
    *,
    transaction: Callable[[], AbstractContextManager[Connection]] | None = None,
    statements: Statements | None = None,
) -> FastAPI:
    """Build the API.

    The app holds ``settings`` as ``app.state.settings`` and its clock as ``app.state.clock``
    (:func:`gridgeo.clock.utcnow`): routes read them through :mod:`api.deps` (the report route
    on the event loop directly), the escalation job reads the same clock, and a test moves
    time by setting ``app.state.clock``.

    Args:
        settings: configuration.
        database: an open database to use; when None the lifespan opens (and closes) one
            from ``settings`` (starting the embedded cluster if no URL is configured).
        transaction: where requests get a connection in a transaction (default: the
            database engine's ``begin``); a test rig passes its own.
        statements: where the hot path's statements run (default: an async psycopg pool on
            the same database, :class:`api.statements.PoolStatements`).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database if database is not None else open_database(settings.database)
        app.state.engine = db.engine
        pool = db.engine.pool  # a QueuePool: pool_size connections plus as many overflow
        slots = int(getattr(pool, "size", lambda: 5)()) + max(0, getattr(pool, "_max_overflow", 0))
        app.state.connection_slots = asyncio.Semaphore(max(1, slots))
        app.state.transaction = transaction or db.engine.begin
        # the hot path's own pool (api.statements), opened on first use
        app.state.statements = statements or PoolStatements(
            libpq_conninfo(db.engine.url), settings.database.pool_size
        )
        if settings.evaluation.evaluation_warm and transaction is None:
            # in the background, on its own connection (an app handed its transactions by its
            # caller, as a test rig's, leaves them to it): readiness does not wait
            start_warming(db.engine, clock=lambda: app.state.clock(),
                          timezone=settings.evaluation.evaluation_timezone,
                          cache=app.state.evaluation_cache)  # fmt: skip
        try:
            yield
        finally:
            await app.state.statements.close()
            if database is None:
                db.close()

    app = FastAPI(
        telemetry=_telemetry(),
        title="gridgeo",
        version=__version__,
        description="Grid management (网格化管理): boundaries, assignment, workload, incidents.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = utcnow
    app.state.evaluation_cache = SettledCache()  # sums of settled periods (gridgeo/evaluation)
    install_error_handlers(app)
    app.include_router(incident_routes.report_router)  # first: the hot path (POST /incidents)
    app.include_router(core.router)
    app.include_router(building_routes.router)
    app.include_router(auth.router)
    app.include_router(login.router)
    app.include_router(plan_pages.router)  # before the plans API: /plans/editor
    app.include_router(admin.router)
    app.include_router(maps.router)
    app.include_router(balance_routes.router)
    app.include_router(report_routes.router)
    app.include_router(desk_routes.router)
    app.include_router(resident_routes.router)
    app.include_router(community_routes.router)
    app.include_router(tile_routes.router)
    app.include_router(ogc_routes.router)
    app.include_router(history_routes.router)
    app.include_router(incident_export_routes.router)
    app.include_router(incident_routes.router)
    app.include_router(incident_admin_routes.router)
    app.include_router(open311_routes.router)
    app.include_router(workload_routes.router)
    app.include_router(evaluation_routes.router)
    app.include_router(dashboard_routes.router)
    app.include_router(plan_routes.router)
    app.include_router(plan_map_routes.router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(
        login.SHELL_STATIC_URL,
        StaticFiles(directory=login.SHELL_STATIC_DIR),
        name="shell-static",
    )
    app.mount(
        report_routes.REPORT_STATIC_URL,
        StaticFiles(directory=report_routes.REPORT_STATIC_DIR),
        name="report-static",
    )
    app.mount(
        resident_routes.RESIDENT_STATIC_URL,
        StaticFiles(directory=resident_routes.RESIDENT_STATIC_DIR),
        name="resident-static",
    )
    app.mount(
        desk_routes.DESK_STATIC_URL,
        StaticFiles(directory=desk_routes.DESK_STATIC_DIR),
        name="desk-static",
    )
    app.mount(
        dashboard_routes.DASHBOARD_STATIC_URL,
        StaticFiles(directory=dashboard_routes.DASHBOARD_STATIC_DIR),
        name="dashboard-static",
    )
    app.mount(
        plan_pages.EDITOR_STATIC_URL,
        StaticFiles(directory=plan_pages.EDITOR_STATIC_DIR),
        name="editor-static",
    )
    app.add_middleware(RejectNul)  # inside the body cap: it reads bodies already capped
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:app_from_env`` (settings from the environment)."""
    return create_app(get_settings())
