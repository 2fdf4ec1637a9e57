"""Login (OAuth2 password flow), the current account, logout, API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import COOKIE
from api.deps import PUBLIC, AnyAccount, AnyRole, ConnDep, SettingsDep
from gridgeo.tokens import RateLimit, login, revoke

router = APIRouter(prefix="/auth", tags=["auth"])


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/token", dependencies=[PUBLIC], summary="Log in: a short-lived bearer token")
def token(
    request: Request,
    settings: SettingsDep,
    conn: ConnDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: Annotated[bool, Query(description="also set a browser session cookie")] = False,
) -> JSONResponse:
    """OAuth2 password flow: form fields ``username`` and ``password``.

    With ``?session=true`` (the /login page) the token is also set as an HttpOnly cookie that
    read-only pages (maps, tiles) accept.

    Failed logins are rate-limited per account and per client address (429).
    """
    api = settings.api
    limit = RateLimit(
        api.login_failures_per_account, api.login_failures_per_address, api.login_window_s
    )
    ttl = timedelta(minutes=api.token_ttl_minutes)
    issued = login(conn, form.username, form.password, _client_address(request), ttl, limit)
    if issued is None:
        # returned, not raised: the transaction commits, so the failure is counted
        return JSONResponse(
            {"error": "Unauthorized", "message": "wrong account name or password"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    response = JSONResponse(
        {
            "access_token": issued.token,
            "token_type": "bearer",
            "expires_in": int(ttl.total_seconds()),
        }
    )
    if session:
        response.set_cookie(
            COOKIE,
            issued.token,
            max_age=int(ttl.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


@router.get("/me", summary="The calling account")
def me(account: AnyRole) -> dict[str, Any]:
    """Name, role and areas of the caller."""
    return {"name": account.name, "role": account.role, "areas": list(account.areas)}


@router.post("/logout", summary="Revoke the token used for this request")
def logout(request: Request, conn: ConnDep, account: AnyRole) -> JSONResponse:
    """The token (or key) that authenticated this request stops working at once."""
    revoke(conn, request.state.token_id, account)
    response = JSONResponse({"status": "revoked"})
    response.delete_cookie(COOKIE, path="/")
    return response


@router.delete("/keys/{key_id}", summary="Revoke one of your tokens or API keys")
def revoke_key(key_id: int, conn: ConnDep, account: AnyAccount) -> dict[str, str]:
    """Revoke a token or key of the caller (any account's, for an admin)."""
    revoke(conn, key_id, account)
    return {"status": "revoked"}
