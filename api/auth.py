"""Who is asking: bearer tokens and API keys, role and area checks.

Every route declares its callers with :func:`api.deps.require` (through a role group of
:mod:`api.deps`) or :data:`api.deps.PUBLIC`; a test walks the routes and fails on any route
that declares neither (:func:`declared_roles`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param

from api.statements import statements
from gridgeo.accounts import ROLES, STAFF, Account
from gridgeo.errors import Unauthorized, denied
from gridgeo.tokens import RESOLVE_SQL, resolve_params, resolved

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
api_key = APIKeyHeader(name="X-API-Key", auto_error=False)

COOKIE = "gridgeo_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
AUTH_ATTR = "gridgeo_auth"


def credential_of(request: Request, token: str | None, key: str | None) -> tuple[str | None, bool]:
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


def found_account(
    request: Request, found: tuple[Account, int] | None, from_cookie: bool
) -> Account | None:
    """The account a credential resolved to, kept on the request; None for a stale cookie.

    Raises:
        Unauthorized: a credential sent in a header that resolved to nothing.
    """
    if found is None:
        if from_cookie:
            return None  # an expired browser session is simply logged out
        raise Unauthorized("the token or API key is invalid, expired or revoked")
    request.state.account = found[0]
    request.state.token_id = found[1]
    return found[0]


def sent_credential(request: Request) -> str | None:
    """The bearer token or API key a request sends in its headers (never the cookie)."""
    scheme, value = get_authorization_scheme_param(request.headers.get("authorization"))
    if value and scheme.lower() == "bearer":
        return value
    return request.headers.get("x-api-key") or None


async def account_on_loop(
    request: Request, roles: tuple[str, ...], *, cookie: bool = False
) -> Account:
    """The caller's account if of one of ``roles``, resolved on the event loop.

    For routes on the hot path (:mod:`api.statements`), which declare their roles on the
    endpoint (``AUTH_ATTR``) instead of through :func:`api.deps.require`. With ``cookie``, a
    safe request may sign in with the login cookie, as through ``require()``
    (:func:`credential_of`).

    Raises:
        Unauthorized: no credential, or one that is invalid. Forbidden: another role.
    """
    if cookie:
        credential, from_cookie = credential_of(request, sent_credential(request), None)
    else:
        credential, from_cookie = sent_credential(request), False
    if credential is None:
        return check_role(None, roles)
    found = None
    if (params := resolve_params(credential)) is not None:
        found = resolved(await statements(request).one(RESOLVE_SQL, params))
    return check_role(found_account(request, found, from_cookie), roles)


def admit(request: Request, found: tuple[Account, int] | None, roles: tuple[str, ...]) -> Account:
    """The account behind the credential a request sent, if it is of one of ``roles``.

    ``found`` is what resolving the credential gave: the account and the token's id, or None.

    Raises:
        Unauthorized: no such credential (invalid, expired or revoked). Forbidden: another role.
    """
    found_account(request, found, from_cookie=False)
    return check_role(found[0] if found else None, roles)


def check_role(account: Account | None, allowed: tuple[str, ...]) -> Account:
    """The account if its role is one of ``allowed``.

    Raises:
        Unauthorized: no account. Forbidden: another role.
    """
    if account is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    if account.role not in allowed:
        raise denied()
    return account


def known_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    """The roles given (every staff role when none are: not volunteers), each checked."""
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")
    return roles or tuple(STAFF)


def check_area(account: Account | None, code: str) -> None:
    """Refuse a code outside the account's areas, without saying whether it exists."""
    if account is not None and not account.covers(code):
        raise denied()


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
