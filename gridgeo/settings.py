"""Settings by concern, read from ``GRIDGEO_*`` environment variables when asked for.

Each concern is its own class, as tipg's ``settings.py`` splits its settings; a field is read
from ``GRIDGEO_`` and the field's name (``incidents.incident_snap_m`` from
``GRIDGEO_INCIDENT_SNAP_M``): the names the README documents, unchanged. :func:`get_settings`
reads every concern now and composes them into one :class:`Settings`; nothing is read at
import. Nonsense is refused at load with a message naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridgeo.errors import SettingsError

ENV_PREFIX = "GRIDGEO_"
PRODUCTION_MAX_TOKEN_TTL_MINUTES = 24 * 60  # longer-lived access is what API keys are for

_FROM_ENV = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)


class DatabaseSettings(BaseSettings):
    """Where the data lives.

    Attributes:
        database_url: SQLAlchemy URL of an existing PostGIS database. When empty, gridgeo
            starts (or reuses) an embedded PostgreSQL cluster in ``data_dir``.
        data_dir: folder of the embedded cluster, the incident photos and other local state.
        pg_bin: folder with the PostgreSQL server binaries (initdb, pg_ctl, postgres).
        pool_size: connections of the app's pool (and of the hot path's own pool).
    """

    model_config = _FROM_ENV

    database_url: str = ""
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".gridgeo")
    pg_bin: Path | None = None
    pool_size: int = Field(10, ge=1)


class ApiSettings(BaseSettings):
    """The HTTP API and who may use it.

    Attributes:
        env: ``development`` or ``production`` (production hardens checks); anything else is
            refused, so that a misspelt ``production`` does not quietly skip them.
        max_body_bytes: largest request body the API accepts.
        token_ttl_minutes: lifetime of bearer tokens from /auth/token (in production at most
            a day).
        public_maps: let anonymous callers see the aggregate maps.
        login_failures_per_account: failed logins allowed per account in the window.
        login_failures_per_address: failed logins allowed per client address in the window.
        login_window_s: the rate-limit window in seconds.
    """

    model_config = _FROM_ENV

    env: Literal["development", "production"] = "development"
    max_body_bytes: int = Field(10 * 1024 * 1024, gt=0)
    token_ttl_minutes: int = Field(30, gt=0)
    public_maps: bool = False
    login_failures_per_account: int = Field(5, ge=1)
    login_failures_per_address: int = Field(20, ge=1)
    login_window_s: int = Field(900, gt=0)

    @model_validator(mode="after")
    def _safe_in_production(self) -> ApiSettings:
        if self.env == "production" and self.token_ttl_minutes > PRODUCTION_MAX_TOKEN_TTL_MINUTES:
            raise ValueError(
                f"GRIDGEO_TOKEN_TTL_MINUTES={self.token_ttl_minutes} is refused in production "
                f"(at most {PRODUCTION_MAX_TOKEN_TTL_MINUTES}): bearer tokens are short-lived; "
                "give long-lived access an API key"
            )
        return self


class MapSettings(BaseSettings):
    """The base maps of the map pages and files.

    Attributes:
        map_tiles: base map(s) (see :mod:`maps.basemaps`); empty for none (offline).
        tianditu_key: key of the Tianditu base maps.
        neighbour_radius_m: how far from their own areas an account sees other grids'
            outlines and names on the phone map (:mod:`gridgeo.surroundings`); 0 for none.
    """

    model_config = _FROM_ENV

    map_tiles: str = "OpenStreetMap"
    tianditu_key: str = ""
    neighbour_radius_m: float = Field(default=1000.0, ge=0, le=5000)


class IncidentSettings(BaseSettings):
    """Reports, their photos and the escalation job.

    Attributes:
        incident_snap_m: how far outside every grid a reported point may lie and still go to
            the nearest grid (flagged); farther points are refused.
        photo_max_bytes: largest file of one incident photo (files in ``data_dir/photos``).
        photo_strip_gps: remove EXIF GPS tags from stored photos.
        escalation_interval_s: the served app escalates overdue incidents this often; 0: off.
        open311_public: Open311 readers without a key see requests without personal data (no
            reporter or names, descriptions of public categories only, locations to 50 m).
    """

    model_config = _FROM_ENV

    incident_snap_m: float = Field(200.0, ge=0)
    photo_max_bytes: int = Field(8 * 1024 * 1024, gt=0)
    photo_strip_gps: bool = True
    escalation_interval_s: float = Field(60.0, ge=0)
    open311_public: bool = False


class BoundarySettings(BaseSettings):
    """Boundary checks of imports and plans.

    Attributes:
        plan_snap_m: plan edits snap to neighbouring vertices and edges within this, in
            metres; the plan's topology checks use it as their tolerance.
        edge_tolerance_m: how far an imported child may reach outside its parent, in metres
            (the default of ``gridgeo import grids --tolerance``).
    """

    model_config = _FROM_ENV

    plan_snap_m: float = Field(0.5, ge=0)
    edge_tolerance_m: float = Field(1.0, ge=0)


class WorkloadSettings(BaseSettings):
    """The staffing standard.

    Attributes:
        households_per_worker: households per worker where no area sets its own (按照300户一职).
    """

    model_config = _FROM_ENV

    households_per_worker: int = Field(300, ge=1)


class EvaluationSettings(BaseSettings):
    """The evaluation of the closed loop (综合评价).

    Attributes:
        evaluation_weights: the score's weights, ``closure=30,on_time=30,…`` (empty: the
            defaults of :mod:`gridgeo.evaluation.figures`).
        evaluation_timezone: the time zone whose days, weeks and months the evaluation counts.
        public_evaluation: publish each community's grade and rates at /evaluation/public
            (评价结果公开; aggregates only).
        evaluation_warm: when the server starts, sum the trends' settled months in the
            background (gridgeo/evaluation/warm.py), so that no first dashboard waits for them.
    """

    model_config = _FROM_ENV

    evaluation_weights: str = ""
    evaluation_timezone: str = "Asia/Shanghai"
    public_evaluation: bool = False
    evaluation_warm: bool = True

    @field_validator("evaluation_weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        from gridgeo.evaluation.figures import parse_weights

        parse_weights(value)  # raises ValueError naming what is wrong
        return value

    @field_validator("evaluation_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value


class ResidentSettings(BaseSettings):
    """Residents' matters (居民提事·评事, ``/resident``): abuse limits and personal data.

    Attributes:
        resident_per_address_per_day: matters one client address may raise in 24 hours.
        resident_per_phone_per_day: matters one phone number may raise in 24 hours.
        resident_phone_retention_days: days after a matter is closed (or rejected) before its
            phone number and client address are removed (``gridgeo residents purge``; the
            escalation job runs the purge too).
        public_map_of_matters: an anonymous map of accepted matters by category and state at
            ``/resident/map`` (no text that identifies anyone; FixMyStreet's public map).
    """

    model_config = _FROM_ENV

    resident_per_address_per_day: int = Field(20, ge=1)
    resident_per_phone_per_day: int = Field(5, ge=1)
    resident_phone_retention_days: int = Field(30, ge=0)
    public_map_of_matters: bool = False


class BatchSettings(BaseSettings):
    """Where the server's batch work runs (``POST /balance`` with ``scope=all``).

    Attributes:
        batch_scheduler: the address of a Dask scheduler (``tcp://host:8786``); empty starts
            a LocalCluster of this machine for each run.
        batch_workers: the LocalCluster's workers (processes); 0 for the CPUs, at most 4.
        batch_processes: LocalCluster workers as processes (false: threads of the server).
    """

    model_config = _FROM_ENV

    batch_scheduler: str = ""
    batch_workers: int = Field(2, ge=0, le=256)
    batch_processes: bool = True


CONCERNS: dict[str, type[BaseSettings]] = {
    "database": DatabaseSettings,
    "api": ApiSettings,
    "maps": MapSettings,
    "incidents": IncidentSettings,
    "boundaries": BoundarySettings,
    "workload": WorkloadSettings,
    "evaluation": EvaluationSettings,
    "residents": ResidentSettings,
    "batch": BatchSettings,
}
# the concern of each field; a field's name is its variable's, so no two concerns share one
_CONCERN_OF = {name: c for c, cls in CONCERNS.items() for name in cls.model_fields}


class Settings(BaseModel):
    """The runtime configuration of gridgeo, one attribute per concern (read-only)."""

    model_config = ConfigDict(frozen=True)

    database: DatabaseSettings
    api: ApiSettings
    maps: MapSettings
    incidents: IncidentSettings
    boundaries: BoundarySettings
    workload: WorkloadSettings
    evaluation: EvaluationSettings
    residents: ResidentSettings
    batch: BatchSettings

    @property
    def photo_dir(self) -> Path:
        """Where incident photos are stored: ``photos`` in the data folder."""
        return self.database.data_dir / "photos"

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.api.max_body_bytes < self.incidents.photo_max_bytes:
            raise ValueError(
                f"GRIDGEO_MAX_BODY_BYTES={self.api.max_body_bytes} is below "
                f"GRIDGEO_PHOTO_MAX_BYTES={self.incidents.photo_max_bytes}: a photo of the "
                "allowed size could never be sent"
            )
        return self

    def replace(self, **fields: Any) -> Settings:
        """A copy with some fields changed, each named as its variable is; checked again.

        Raises:
            SettingsError: an unknown name or a refused value.
        """
        changes = _by_concern(fields)
        return _compose({c: getattr(self, c).model_dump() | changes[c] for c in CONCERNS})


def get_settings(**fields: Any) -> Settings:
    """Read the settings from the environment now.

    Args:
        fields: values that win over the environment, each named as its variable is
            (``get_settings(map_tiles="")`` for ``GRIDGEO_MAP_TILES``).

    Raises:
        SettingsError: an unknown name or a refused value, with the variable named.
    """
    return _compose(_by_concern(fields))


def _by_concern(fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    unknown = sorted(set(fields) - set(_CONCERN_OF))
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(unknown)}")
    out: dict[str, dict[str, Any]] = {c: {} for c in CONCERNS}
    for name, value in fields.items():
        out[_CONCERN_OF[name]][name] = value
    return out


def _compose(values: dict[str, dict[str, Any]]) -> Settings:
    """Each concern from the environment, ``values`` winning; every refusal named at once."""
    parts: dict[str, BaseSettings] = {}
    refused: list[str] = []
    for concern, cls in CONCERNS.items():
        try:
            parts[concern] = cls(**values[concern])
        except ValidationError as exc:
            refused += _explain(exc)
    if not refused:
        try:
            return Settings.model_validate(parts)
        except ValidationError as exc:
            refused += _explain(exc)
    raise SettingsError("refused settings: " + "; ".join(refused))


def _explain(exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        names = [part for part in e["loc"] if isinstance(part, str)]
        message = e["msg"].removeprefix("Value error, ")
        if names and names[-1] in _CONCERN_OF:
            message = f"{ENV_PREFIX}{names[-1].upper()}={e['input']!r}: {message}"
        out.append(message)
    return out
