"""Administration of incident categories and linked departments (admin only).

Nothing is deleted: ``"active": false`` retires a category (no new reports) or a department
(no new dispatches); existing incidents keep theirs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Admin, ConnDep
from gridgeo.incidents.catalog import (
    create_category,
    create_department,
    update_category,
    update_department,
)
from gridgeo.incidents.codes import CODE_PATTERN
from gridgeo.incidents.queries import list_categories, list_departments

router = APIRouter(prefix="/admin", tags=["admin"])


class NewCategory(BaseModel):
    """A category and its time limits."""

    key: str = Field(description="a–z, 0–9 and _, e.g. 'noise'", max_length=40)
    label_zh: str = Field(max_length=100)
    label_en: str = Field(max_length=100)
    accept_minutes: int = Field(description="time to accept before escalation")
    resolve_minutes: int = Field(description="time to resolve before escalation")


class CategoryChange(BaseModel):
    """Changes to a category; absent fields stay as they are."""

    label_zh: str | None = Field(None, max_length=100)
    label_en: str | None = Field(None, max_length=100)
    accept_minutes: int | None = None
    resolve_minutes: int | None = None
    active: bool | None = Field(None, description="false: no new reports in this category")
    public: bool | None = Field(
        None, description="true: Open311's public readers see the descriptions (no names)"
    )
    code: str | None = Field(
        None,
        description="national event code (6 + 2 + 2 or 6 + 2 + 3 digits): Open311's service_code",
        json_schema_extra={"pattern": CODE_PATTERN},
    )


class NewDepartment(BaseModel):
    """A linked department (联动处置单位) and the categories it handles."""

    name: str = Field(max_length=100)
    categories: list[str] = Field(default_factory=list, max_length=100)


class DepartmentChange(BaseModel):
    """Changes to a department; absent fields stay as they are."""

    name: str | None = Field(None, max_length=100)
    categories: list[str] | None = Field(None, max_length=100)
    active: bool | None = Field(None, description="false: no new dispatches to it")


@router.get("/incident-categories", summary="All incident categories, retired ones too")
def categories(conn: ConnDep, _: Admin) -> list[dict[str, Any]]:
    """Key, labels, limits and whether it is active."""
    return list_categories(conn, inactive=True)


@router.post("/incident-categories", status_code=201, summary="Add an incident category")
def add_category(body: NewCategory, conn: ConnDep, admin: Admin) -> dict[str, Any]:
    """201 with the category; 409 when the key is taken."""
    return create_category(conn, **body.model_dump(), actor=admin.name)


@router.patch("/incident-categories/{key}", summary="Change or (de)activate a category")
def change_category(key: str, body: CategoryChange, conn: ConnDep, admin: Admin) -> dict[str, Any]:
    """The category after the change."""
    changes = body.model_dump(exclude_none=True)
    return update_category(conn, key, changes=changes, actor=admin.name)


@router.get("/departments", summary="All linked departments, retired ones too")
def departments(conn: ConnDep, _: Admin) -> list[dict[str, Any]]:
    """Id, name, categories handled and whether it is active."""
    return list_departments(conn, inactive=True)


@router.post("/departments", status_code=201, summary="Add a linked department")
def add_department(body: NewDepartment, conn: ConnDep, admin: Admin) -> dict[str, Any]:
    """201 with the department; 409 when the name is taken."""
    return create_department(conn, name=body.name, categories=body.categories, actor=admin.name)


@router.patch("/departments/{dep_id}", summary="Rename, re-scope or (de)activate a department")
def change_department(
    dep_id: int, body: DepartmentChange, conn: ConnDep, admin: Admin
) -> dict[str, Any]:
    """The department after the change; 409 when the new name is taken."""
    return update_department(
        conn,
        dep_id,
        actor=admin.name,
        name=body.name,
        categories=body.categories,
        active=body.active,
    )
