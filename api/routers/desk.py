"""The dispatch desk (``/desk``): dispatchers and supervisors work the incident queues.

A public HTML/JS page like ``/report``; the shared front-end shell (``/shell-static``, see
api/routers/login.py) logs it in through ``POST /auth/token`` and every data call carries the
bearer token, so what it shows and allows is what the API allows the account.
``GET /incident-actions`` tells any client which action leads where and who may take it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import PUBLIC, AnyAccount, ConnDep, Desk
from gridgeo.incidents.handlers import grid_handlers
from gridgeo.incidents.marks import MARKS
from gridgeo.incidents.policy import RULES, STATES
from gridgeo.incidents.queries import incident_grid

DESK_STATIC_DIR = Path(__file__).resolve().parent.parent / "desk_static"
DESK_STATIC_URL = "/desk-static"

router = APIRouter(tags=["desk"])


@router.get("/desk", dependencies=[PUBLIC], summary="The dispatch desk (HTML)",
            response_class=FileResponse)  # fmt: skip
def desk_page() -> FileResponse:
    """The desk page; it asks for a login before any data call."""
    return FileResponse(
        DESK_STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/incident-actions", summary="The closed loop: each action, where it leads, who")
def incident_actions(_: AnyAccount) -> dict[str, Any]:
    """The states in order, and each action: from which states, to which, who, needs a note.

    ``to`` is null for an action that leaves the state as it is (mark_major). ``pending``: the
    action needs an extension request waiting (true), none (false), or either (null).
    ``marks``: the marks a list row may carry and ``GET /incidents?flags=`` filters by, in
    badge order, with their words (gridgeo/incidents/marks.py).
    """
    return {
        "states": list(STATES),
        "marks": [{"key": k, "zh": zh, "en": en} for k, (_, zh, en) in MARKS.items()],
        "actions": {
            name: {
                "from": list(r.sources),
                "to": r.target,
                "roles": list(r.roles),
                "needs_note": r.needs_note,
                "pending": r.pending,
            }  # fmt: skip
            for name, r in RULES.items()
        },
    }


@router.get("/incidents/{incident_id}/handlers", summary="Whom an incident may be dispatched to")
def incident_handlers(incident_id: int, conn: ConnDep, account: Desk) -> dict[str, Any]:
    """The workers of the incident's grid: named workers, then the accounts covering it.

    The desk's dispatch list; a dispatch to anyone else is refused (400 ``not_a_grid_worker``).
    403 outside the caller's areas whether or not the incident exists.
    """
    grid, name = incident_grid(conn, incident_id, account=account)
    return {"grid": grid, "grid_name": name, "handlers": grid_handlers(conn, grid)}
