"""The schema as the migrations build it (all heads), mapped with SQLAlchemy 2 + GeoAlchemy2.

One module per concept (areas, accounts, workload, incidents, versions and plans, lines, buildings); this
package gathers them into one metadata, ``Base.metadata``.

This is Alembic's target metadata (``gridgeo/migrations/env.py``): every table, column (type,
nullability, server default), key, unique and CHECK constraint and index the migrations in
``gridgeo/migrations/versions/`` leave, under the names they give. The migrations are the
source; this module follows them. A migration that changes the schema changes this module in
the same commit, else ``tests/db/test_models_schema.py`` fails (it compares the two through
Alembic's autogenerate and through PostgreSQL's catalog).

Not here, since they are not tables: the views (``current_grids``, migration 0012; ``current_unit_grids``, migration 0018; ``grid_staff``, migration 0004: the rule for a
grid's effective worker count; a view added later goes in this list, not in the metadata), the
triggers and functions that keep ``grid_parts`` and ``grid_versions``, and the seed rows of
``levels``, ``incident_categories`` and ``departments``.

Most of the code reads and writes these tables with SQL text; the classes are the schema's
map, not an obligatory data layer.
"""

from __future__ import annotations

from gridgeo.models.accounts import AuditEntry, LoginFailure, Token, User, UserArea
from gridgeo.models.areas import Grid, GridHouseholds, GridPart, Household, HouseholdGrid, Level
from gridgeo.models.base import Base
from gridgeo.models.buildings import (
    Building,
    BuildingGroup,
    BuildingHead,
    BuildingUnit,
    PlanUnit,
    UnitGrid,
)
from gridgeo.models.evaluation import EvaluationSettled
from gridgeo.models.incidents import (
    Department,
    Incident,
    IncidentCategory,
    IncidentEvent,
    IncidentPhoto,
)
from gridgeo.models.lines import Line
from gridgeo.models.residents import MeetingDecision, ResidentMatter, ResidentMatterPhoto
from gridgeo.models.tiles import MapTile
from gridgeo.models.versions import Change, GridVersion, Plan, PlanEdit, PlanGrid
from gridgeo.models.workload import Worker, WorkloadConfig

__all__ = [
    "Base",
    "EvaluationSettled",
    "MapTile",
    "Level",
    "Grid",
    "GridPart",
    "Household",
    "HouseholdGrid",
    "GridHouseholds",
    "User",
    "UserArea",
    "Token",
    "LoginFailure",
    "AuditEntry",
    "Worker",
    "WorkloadConfig",
    "IncidentCategory",
    "Department",
    "Incident",
    "IncidentEvent",
    "IncidentPhoto",
    "Change",
    "GridVersion",
    "Plan",
    "PlanGrid",
    "PlanEdit",
    "Line",
    "BuildingGroup",
    "Building",
    "BuildingUnit",
    "UnitGrid",
    "PlanUnit",
    "BuildingHead",
    "ResidentMatter",
    "ResidentMatterPhoto",
    "MeetingDecision",
]
