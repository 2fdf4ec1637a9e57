"""The browser login page: sets a session cookie that read-only pages (maps, tiles) accept."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import PUBLIC

router = APIRouter()
PAGE = Path(__file__).resolve().parents[1] / "login_static" / "login.html"


@router.get("/login", response_class=HTMLResponse, dependencies=[PUBLIC], include_in_schema=False)
def login_page() -> HTMLResponse:
    """A form that logs in with ``POST /auth/token?session=true`` and goes to ``?next=``."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))
