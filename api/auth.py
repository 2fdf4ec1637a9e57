"""Who is asking: bearer tokens and API keys, role and area checks as dependencies.

Every route declares its callers with one of :func:`require` or :data:`PUBLIC`; a test walks
the routes and fails on any route that declares neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param

from api.deps import ConnDep
from api.statements import statements
from gridgeo.accounts import ROLES, Account
from gridgeo.errors import Forbidden, Unauthorized
from gridgeo.tokens import RESOLVE_SQL, resolve, resolve_params, resolved

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
api_key = APIKeyHeader(name="X-API-Key", auto_error=False)

DENIED = "this account is not permitted to do this"
COOKIE = "gridgeo_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
AUTH_ATTR = "gridgeo_auth"


def _credential(request: Request, token: str | None, key: str | None) -> tuple[str | None, bool]:
    """The token or key sent, and whether it came from the login cookie.

    A browser that logged in through ``/login`` carries its token in an HttpOnly, SameSite=Strict
    cookie; the cookie is honoured for safe (read-only) methods only, so that no change can be
    forged from another site.
    """
    credential = token or key
    if credential is None and request.method in SAFE_METHODS:
        credential = request.cookies.get(COOKIE)
        return credential, credential is not None
    return credential, False


def _found(
    request: Request, found: tuple[Account, int] | None, from_cookie: bool
) -> Account | None:
    if found is None:
        if from_cookie:
            return None  # an expired browser session is simply logged out
        raise Unauthorized("the token or API key is invalid, expired or revoked")
    request.state.account = found[0]
    request.state.token_id = found[1]
    return found[0]


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
    credential, from_cookie = _credential(request, token, key)
    if credential is None:
        return None
    return _found(request, resolve(conn, credential), from_cookie)


def sent_credential(request: Request) -> str | None:
    """The bearer token or API key a request sends in its headers (never the cookie)."""
    scheme, value = get_authorization_scheme_param(request.headers.get("authorization"))
    if value and scheme.lower() == "bearer":
        return value
    return request.headers.get("x-api-key") or None


async def account_on_loop(request: Request, roles: tuple[str, ...]) -> Account:
    """The caller's account if of one of ``roles``, resolved on the event loop.

    For routes on the hot path (:mod:`api.statements`), which declare their roles on the
    endpoint (``AUTH_ATTR``) instead of through :func:`require`.

    Raises:
        Unauthorized: no credential, or one that is invalid. Forbidden: another role.
    """
    credential = sent_credential(request)
    if credential is None:
        return _check_role(None, roles)
    found = None
    if (params := resolve_params(credential)) is not None:
        found = resolved(await statements(request).one(RESOLVE_SQL, params))
    return admit(request, found, roles)


def admit(request: Request, found: tuple[Account, int] | None, roles: tuple[str, ...]) -> Account:
    """The account behind the credential a request sent, if it is of one of ``roles``.

    ``found`` is what resolving the credential gave: the account and the token's id, or None.

    Raises:
        Unauthorized: no such credential (invalid, expired or revoked). Forbidden: another role.
    """
    _found(request, found, from_cookie=False)
    return _check_role(found[0] if found else None, roles)


def _check_role(account: Account | None, allowed: tuple[str, ...]) -> Account:
    if account is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    if account.role not in allowed:
        raise Forbidden(DENIED)
    return account


def require(*roles: str) -> Callable[..., Awaitable[Account]]:
    """A dependency that admits only the given roles (all roles when none are given)."""
    allowed = _roles(roles)

    async def dependency(  # async: no I/O here, so no hop to a worker thread
        account: Annotated[Account | None, Depends(optional_account)],
    ) -> Account:
        return _check_role(account, allowed)

    setattr(dependency, AUTH_ATTR, allowed)
    return dependency


def _roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")
    return roles or tuple(ROLES)


def public_or(*roles: str, setting: str) -> Callable[..., Awaitable[Account | None]]:
    """Anonymous callers when the setting named ``setting`` is on, else the given roles."""
    allowed = _roles(roles)

    async def dependency(  # async: no I/O here, so no hop to a worker thread
        request: Request,
        account: Annotated[Account | None, Depends(optional_account)],
    ) -> Account | None:
        if account is None and getattr(request.app.state.settings, setting):
            return None
        return _check_role(account, allowed)

    setattr(dependency, AUTH_ATTR, ("anonymous-if-" + setting, *(roles or ROLES)))
    return dependency


async def _public() -> None:
    """Anyone, authenticated or not."""


setattr(_public, AUTH_ATTR, ("anonymous",))
PUBLIC = Depends(_public)


def check_area(account: Account | None, code: str) -> None:
    """Refuse a code outside the account's areas, without saying whether it exists."""
    if account is not None and not account.covers(code):
        raise Forbidden(DENIED)


def area_filter(account: Account | None) -> tuple[str, ...] | None:
    """Area codes to restrict a listing to; None for no restriction (admin, public)."""
    if account is None or account.role == "admin":
        return None
    return account.areas


def declared_roles(dependant: Any) -> tuple[str, ...] | None:
    """The roles a route's dependency tree declares (for the test that checks every route)."""
    call = getattr(dependant, "call", None)
    if call is not None and hasattr(call, AUTH_ATTR):
        return tuple(getattr(call, AUTH_ATTR))
    for sub in getattr(dependant, "dependencies", []):
        found = declared_roles(sub)
        if found is not None:
            return found
    return None


AnyAccount = Annotated[Account, Depends(require())]
Admin = Annotated[Account, Depends(require("admin"))]
HouseholdReader = Annotated[Account, Depends(require("planner", "patrol"))]
