"""The phone reporting page (``/report``): a public HTML/JS shell; its data calls need a token.

The shared front-end shell (``/shell-static``) logs the page in through ``POST /auth/token``
and keeps the bearer token on the phone; reports made offline are queued there and sent with an
``Idempotency-Key`` when the connection returns. The page's own scripts and styles are served
from ``/report-static`` (``api/report_static``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import PUBLIC

REPORT_STATIC_DIR = Path(__file__).resolve().parent.parent / "report_static"
REPORT_STATIC_URL = "/report-static"

router = APIRouter(tags=["report"])


@router.get(
    "/report",
    dependencies=[PUBLIC],
    summary="The phone reporting page (HTML)",
    response_class=FileResponse,
)
def report_page() -> FileResponse:
    """The mobile page; it asks for a login before any data call."""
    return FileResponse(
        REPORT_STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )
