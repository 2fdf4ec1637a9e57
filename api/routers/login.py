"""The browser login page, and the shared front-end shell that every browser page loads.

The shell (``api/shell_static``, served from ``/shell-static``) is the one login form, token
store, fetch wrapper, i18n and header of /desk, /report, the planners' pages and /login; its
header comment says what each page must provide. /login is where a read-only map sends a
browser without its session cookie: the shell's form logs in with
``POST /auth/token?session=true`` (which sets the cookie) and the page goes on to ``?next=``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import PUBLIC

SHELL_STATIC_DIR = Path(__file__).resolve().parents[1] / "shell_static"
SHELL_STATIC_URL = "/shell-static"
PAGE = Path(__file__).resolve().parents[1] / "login_static" / "login.html"

router = APIRouter()


@router.get("/login", response_class=HTMLResponse, dependencies=[PUBLIC], include_in_schema=False)
def login_page() -> HTMLResponse:
    """The shell's login form; after logging in the page goes to ``?next=`` (a local path)."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})
