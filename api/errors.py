"""One table maps the core's errors to HTTP status codes; a 500 never leaks internals."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridgeo.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    GridgeoError,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)

log = logging.getLogger("gridgeo.api")

STATUS: dict[type[GridgeoError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    TooManyAttempts: 429,
    Conflict: 409,
    DatabaseUnavailable: 503,
}


def _status(exc: GridgeoError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _body(error: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": error, "message": message, **extra}


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not a script asking for data)."""
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and "json" not in accept


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn errors into JSON with a clear message."""

    @app.exception_handler(GridgeoError)
    async def gridgeo_error(request: Request, exc: GridgeoError) -> Response:
        status = _status(exc)
        if status == 401 and _wants_page(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        name = type(exc).__name__
        if status == 500:
            log.exception("unexpected %s", name)
            return JSONResponse(_body("internal", "internal error"), status_code=500)
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if "retry_after" in exc.detail:
            headers["Retry-After"] = str(exc.detail["retry_after"])
        # the English message stays where clients read it; the code and every language beside it
        body = _body(name, exc.message, code=exc.code, messages=exc.messages(), **exc.detail)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(
                str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")
            )
            got = err.get("input")
            # echo query and path values only: bodies may carry passwords
            echo = err.get("loc", ("",))[0] in ("query", "path")
            shown = f" (got {got!r})" if echo and isinstance(got, str | int | float) else ""
            if isinstance(got, str) and len(got) > 80:
                shown = ""
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}{shown}")
        return JSONResponse(
            _body("InvalidInput", "; ".join(problems), problems=problems), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            _body("HTTPError", str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return JSONResponse(_body("internal", "internal error"), status_code=500)
