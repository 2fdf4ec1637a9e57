"""Settings, read from ``GRIDGEO_*`` environment variables when asked for (never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration of gridgeo.

    Attributes:
        database_url: SQLAlchemy URL of an existing PostGIS database. When empty, gridgeo
            starts (or reuses) an embedded PostgreSQL cluster in ``data_dir``.
        data_dir: folder of the embedded cluster and other local state.
        pg_bin: folder with the PostgreSQL server binaries (initdb, pg_ctl, postgres).
        env: ``development`` or ``production``.
        households_per_worker: the staffing standard (按照300户一职).
        edge_tolerance_m: tolerance for "child outside parent" checks, in metres.
        max_body_bytes: largest request body the API accepts.
        map_tiles: base map of the map pages; empty for none (offline).
        token_ttl_minutes: lifetime of bearer tokens from /auth/token.
        public_maps: let anonymous callers see the aggregate maps.
        login_failures_per_account: failed logins allowed per account in the window.
        login_failures_per_address: failed logins allowed per client address in the window.
        login_window_s: the rate-limit window in seconds.
        incident_snap_m: how far outside every grid a reported point may lie and still go to
            the nearest grid (flagged); farther points are refused.
        plan_snap_m: plan edits snap to neighbouring vertices and edges within this, in metres.
        evaluation_weights: the evaluation score's weights, ``closure=30,on_time=30,…``
            (empty: the defaults of :mod:`gridgeo.evaluation.figures`).
        evaluation_timezone: the time zone whose days, weeks and months the evaluation counts.
        public_evaluation: publish each community's grade and rates at /evaluation/public
            (评价结果公开; aggregates only).
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGEO_", extra="ignore")

    database_url: str = ""
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".gridgeo")
    pg_bin: Path | None = None
    env: str = "development"
    households_per_worker: int = 300
    edge_tolerance_m: float = 1.0
    max_body_bytes: int = 10 * 1024 * 1024
    pool_size: int = 10
    map_tiles: str = "OpenStreetMap"
    tianditu_key: str = ""  # key of the Tianditu base maps (see maps/basemaps.py)
    token_ttl_minutes: int = 30
    public_maps: bool = False
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    login_window_s: int = 900
    incident_snap_m: float = 200.0
    plan_snap_m: float = 0.5
    photo_max_bytes: int = 8 * 1024 * 1024  # per incident photo; files in data_dir/photos
    photo_strip_gps: bool = True  # remove EXIF GPS tags from stored photos
    escalation_interval_s: float = 60.0  # the served app escalates overdue incidents; 0: off
    evaluation_weights: str = ""
    evaluation_timezone: str = "Asia/Shanghai"
    public_evaluation: bool = False

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


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()
