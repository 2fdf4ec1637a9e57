"""What a route declares it needs, in one place: a connection, the settings, the clock, a caller.

Routes import the ``Annotated`` aliases below (``ConnDep``, ``SettingsDep``, ``Now``, the role
groups) and never read the app's state themselves; each role group is defined here once. The
settings and the clock are the app's (``app.state.settings``, ``app.state.clock``, set by
:func:`api.app.create_app`): a test moves the clock by setting ``app.state.clock``.

The connection is committed *before* the response is sent (``scope="function"``): an answer
of 201 means the row is stored, so a phone may safely drop the report from its outbox. And a
request first waits in the event loop for a free connection slot, only then takes a worker
thread: with more requests in flight than connections, threads would otherwise block on the
pool while the requests holding connections wait for a thread, and the server would wedge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from api.auth import (
    AUTH_ATTR,
    api_key,
    bearer,
    check_role,
    credential_of,
    found_account,
    known_roles,
)
from gridgeo.accounts import ROLES, STAFF, Account
from gridgeo.incidents.policy import DESK, REPORTERS
from gridgeo.levels import Hierarchy, load_hierarchy
from gridgeo.settings import Settings
from gridgeo.tokens import resolve
from maps.basemaps import BaseMap
from maps.basemaps import resolve as resolve_bases


async def connection_slot(request: Request) -> AsyncIterator[None]:
    """Hold one of the app's connection slots (as many as the pool has connections)."""
    async with request.app.state.connection_slots:
        yield


def get_conn(
    request: Request, _slot: Annotated[None, Depends(connection_slot, scope="function")]
) -> Iterator[Connection]:
    """A connection in a transaction: committed when the handler succeeds, else rolled back.

    The transaction is the app's (``create_app(transaction=…)``; the engine's by default).
    """
    with request.app.state.transaction() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]


def get_hierarchy(request: Request, conn: ConnDep) -> Hierarchy:
    """The level chain (cached on the app after the first read)."""
    cached: Hierarchy | None = getattr(request.app.state, "hierarchy", None)
    if cached is None:
        cached = load_hierarchy(conn)
        request.app.state.hierarchy = cached
    return cached


async def app_settings(request: Request) -> Settings:  # async: no hop to a worker thread
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def now(request: Request) -> datetime:
    """The current time by the app's clock."""
    when: datetime = request.app.state.clock()
    return when


HierarchyDep = Annotated[Hierarchy, Depends(get_hierarchy)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
Now = Annotated[datetime, Depends(now)]


async def base_maps(settings: SettingsDep) -> list[BaseMap]:
    """The configured base maps (GRIDGEO_MAP_TILES, GRIDGEO_TIANDITU_KEY), first shown first."""
    return resolve_bases(settings.maps.map_tiles, settings.maps.tianditu_key)


Bases = Annotated[list[BaseMap], Depends(base_maps)]


def optional_account(
    request: Request,
    conn: ConnDep,
    token: Annotated[str | None, Depends(bearer)],
    key: Annotated[str | None, Depends(api_key)],
) -> Account | None:
    """The caller's account, None for an anonymous caller.

    Raises:
        Unauthorized: a token or key was sent but is unknown, expired, revoked or belongs
            to a disabled account.
    """
    credential, from_cookie = credential_of(request, token, key)
    if credential is None:
        return None
    return found_account(request, resolve(conn, credential), from_cookie)


OptionalAccount = Annotated[Account | None, Depends(optional_account)]


def require(*roles: str) -> Callable[..., Awaitable[Account]]:
    """A dependency that admits only the given roles (all roles when none are given)."""
    allowed = known_roles(roles)

    async def dependency(account: OptionalAccount) -> Account:  # async: no I/O here
        return check_role(account, allowed)

    setattr(dependency, AUTH_ATTR, allowed)
    return dependency


def public_maps_or(*roles: str) -> Callable[..., Awaitable[Account | None]]:
    """Anonymous callers when ``GRIDGEO_PUBLIC_MAPS`` is on, else the given roles (or all)."""
    allowed = known_roles(roles)

    async def dependency(  # async: no I/O here
        settings: SettingsDep, account: OptionalAccount
    ) -> Account | None:
        if account is None and settings.api.public_maps:
            return None
        return check_role(account, allowed)

    setattr(dependency, AUTH_ATTR, ("anonymous-if-public_maps", *(roles or STAFF)))
    return dependency


async def _public() -> None:
    """Anyone, authenticated or not."""


setattr(_public, AUTH_ATTR, ("anonymous",))
PUBLIC = Depends(_public)

# The role groups: who may call a route (a test walks the routes: each declares its callers).
PLANNERS = ("planner", "admin")  # plans, balancing, staff and the standard, exports
AnyAccount = Annotated[Account, Depends(require())]  # staff: every role but volunteers
AnyRole = Annotated[Account, Depends(require(*ROLES))]  # volunteers too (/auth/me)
Volunteer = Annotated[Account, Depends(require("volunteer", "dispatcher", "admin"))]
Admin = Annotated[Account, Depends(require("admin"))]
Planner = Annotated[Account, Depends(require(*PLANNERS))]
HouseholdReader = Annotated[Account, Depends(require("planner", "patrol"))]
WorkloadReader = Annotated[Account, Depends(require("viewer", "planner", "dispatcher", "admin"))]
PlanViewer = Annotated[Account, Depends(require("viewer", "planner", "admin"))]
Reporter = Annotated[Account, Depends(require(*REPORTERS))]
Desk = Annotated[Account, Depends(require(*DESK))]
MapViewer = Annotated[Account | None, Depends(public_maps_or())]
