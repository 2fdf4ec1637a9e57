"""The community's own work on matters: deliberation and volunteers.

Deliberation is 网格议事 · 会议定事 · 联动办事; volunteers claiming requests is 党员领单.
``POST /incidents/{id}/deliberation/{step}`` takes one step of a matter's deliberation (mark,
discuss, decide, link a task; :data:`gridgeo.incidents.policy.DELIBERATION_RULES`) and
``GET /incidents/{id}/deliberation`` reads them back. ``GET /volunteer/requests`` lists the
requests open to the volunteers of the caller's community; ``POST
/volunteer/requests/{id}/{action}`` opens one to volunteers (desk), claims it or reports it
done (volunteer; :data:`gridgeo.incidents.policy.VOLUNTEER_RULES`). ``GET /volunteer``: the
volunteers' phone page (a list and a map).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from api.deps import PUBLIC, AnyAccount, ConnDep, Now, Volunteer, require
from gridgeo.accounts import Account
from gridgeo.incidents.policy import ROLES_ON_SITE, sees_names
from gridgeo.residents import deliberation as delib
from gridgeo.residents.volunteers import act, requests

VOLUNTEER_STATIC_DIR = Path(__file__).resolve().parent.parent / "resident_static"
router = APIRouter(tags=["community"])
OnSite = Annotated[Account, Depends(require(*ROLES_ON_SITE))]
MAX_PEOPLE = 1_000_000  # a meeting's counts (the column is an integer)


class StepIn(BaseModel):
    """One step of a deliberation; the fields its step needs."""

    note: str = Field("", description="deliberate: why")
    participants: list[str] = Field(
        default_factory=list, max_length=200, description="discuss: who took part"
    )
    notes: str = Field("", description="discuss: what was said")
    held_on: date | None = Field(None, description="decide: the meeting's date")
    attendance: int = Field(0, ge=0, le=MAX_PEOPLE, description="decide: people present")
    votes_for: int = Field(0, ge=0, le=MAX_PEOPLE)
    votes_against: int = Field(0, ge=0, le=MAX_PEOPLE)
    abstain: int = Field(0, ge=0, le=MAX_PEOPLE)
    decision: str = Field("", description="decide: the decision")
    category: str = Field("", description="link_task: the task's category")
    description: str = Field("", description="link_task: what to do")


class VolunteerIn(BaseModel):
    """A volunteer's note (done: what was done)."""

    note: str = ""


@router.post("/incidents/{incident_id}/deliberation/{step}",
             summary="A step of a matter's deliberation (议事 · 定事 · 联动办事)")  # fmt: skip
def post_step(
    request: Request,
    incident_id: int,
    step: Literal["deliberate", "discuss", "decide", "link_task"],
    body: StepIn,
    conn: ConnDep,
    account: OnSite,
    now: Now,
) -> dict[str, Any]:
    """The deliberation after the step (a linked task's id as ``task``)."""
    task = None
    if step == "deliberate":
        delib.mark(conn, incident_id, account=account, now=now, note=body.note)
    elif step == "discuss":
        delib.discuss(conn, incident_id, account=account, now=now,
                      participants=body.participants, notes=body.notes)  # fmt: skip
    elif step == "decide":
        if body.held_on is None:
            from gridgeo.errors import InvalidInput

            raise InvalidInput("the meeting's date (held_on) is needed", field="held_on")
        decision = delib.Decision(body.held_on, body.attendance, body.votes_for,
                                  body.votes_against, body.abstain, body.decision)  # fmt: skip
        delib.decide(conn, incident_id, account=account, now=now, decision=decision)
    else:
        task = delib.link_task(
            conn, incident_id, account=account, now=now, category=body.category,
            description=body.description,
            snap_m=request.app.state.settings.incidents.incident_snap_m,
        )  # fmt: skip
    return delib.summary(conn, incident_id, account=account) | {"task": task}


@router.get("/incidents/{incident_id}/deliberation", summary="A matter's deliberation")
def get_deliberation(incident_id: int, conn: ConnDep, account: AnyAccount) -> dict[str, Any]:
    """Its discussions, meeting decisions and linked tasks (names hidden from viewers)."""
    out = delib.summary(conn, incident_id, account=account)
    if not sees_names(account.role):
        for s in out["steps"]:
            s["actor"] = None
        for d in out["decisions"]:
            d["recorded_by"] = None
    return out


@router.get("/volunteer/requests", summary="Requests open to volunteers (党员领单)")
def get_requests(conn: ConnDep, account: Volunteer) -> dict[str, Any]:
    """The open requests of the caller's areas not claimed by another, the caller's first."""
    return {"requests": requests(conn, account)}


@router.post("/volunteer/requests/{incident_id}/{action}",
             summary="Open a request to volunteers, claim it, or report it done")  # fmt: skip
def post_volunteer(
    incident_id: int,
    action: Literal["open_to_volunteers", "claim", "volunteer_done"],
    body: VolunteerIn,
    conn: ConnDep,
    account: Volunteer,
    now: Now,
) -> dict[str, Any]:
    """The state after the action."""
    state = act(conn, incident_id, account=account, action=action, now=now, note=body.note)
    return {"incident": incident_id, "action": action, "state": state}


@router.get("/volunteer", dependencies=[PUBLIC], summary="The volunteers' page (HTML)",
            response_class=FileResponse)  # fmt: skip
def volunteer_page() -> FileResponse:
    """A list and a map of the requests open to the volunteer's community; claim, done."""
    return FileResponse(VOLUNTEER_STATIC_DIR / "volunteer.html",
                        media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip
