"""Account administration (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Admin, ConnDep
from gridgeo.accounts import (
    Account,
    add_user,
    get_account,
    list_accounts,
    set_areas,
    set_disabled,
    set_password,
)
from gridgeo.audit import record
from gridgeo.tokens import create_api_key, list_keys

router = APIRouter(prefix="/admin", tags=["admin"])


class NewUser(BaseModel):
    """An account to create."""

    name: str = Field(max_length=64)
    role: str
    areas: list[str] = Field(default_factory=list, max_length=100)
    password: str = Field(min_length=8, max_length=256)


class UserChange(BaseModel):
    """Changes to an account; absent fields stay as they are."""

    disabled: bool | None = None
    areas: list[str] | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=256)


class NewKey(BaseModel):
    """An API key to issue."""

    label: str | None = Field(default=None, max_length=200)


def _out(acc: Account) -> dict[str, Any]:
    return {"name": acc.name, "role": acc.role, "areas": list(acc.areas), "disabled": acc.disabled}


@router.get("/users", summary="All accounts")
def users(conn: ConnDep, _: Admin) -> list[dict[str, Any]]:
    """Every account with its role, areas and state."""
    return [_out(a) for a in list_accounts(conn)]


@router.post("/users", status_code=201, summary="Create an account")
def create_user(body: NewUser, conn: ConnDep, admin: Admin) -> dict[str, Any]:
    """Create an account scoped to existing area codes."""
    acc = add_user(
        conn,
        name=body.name,
        role=body.role,
        areas=body.areas,
        password=body.password,
        actor=admin.name,
    )
    return _out(acc)


@router.patch("/users/{name}", summary="Disable, re-scope or reset an account")
def change_user(name: str, body: UserChange, conn: ConnDep, admin: Admin) -> dict[str, Any]:
    """Apply the given changes in one transaction."""
    acc = get_account(conn, name)
    if body.disabled is not None:
        acc = set_disabled(conn, name, body.disabled, admin.name)
    if body.areas is not None:
        set_areas(conn, acc.id, body.areas)
        record(conn, admin.name, "user.areas", "users", name, areas=body.areas)
    if body.password is not None:
        set_password(conn, name, body.password, admin.name)
    return _out(get_account(conn, name))


@router.post("/users/{name}/keys", status_code=201, summary="Issue an API key (shown once)")
def new_key(name: str, body: NewKey, conn: ConnDep, admin: Admin) -> dict[str, Any]:
    """A long-lived key for a machine client; only its hash is kept."""
    issued = create_api_key(conn, name, body.label, admin.name)
    return {"id": issued.id, "api_key": issued.token, "label": body.label}


@router.get("/users/{name}/keys", summary="The API keys of an account")
def keys(name: str, conn: ConnDep, _: Admin) -> list[dict[str, Any]]:
    """Ids, labels and dates; never the keys."""
    get_account(conn, name)
    return list_keys(conn, name)
