"""Settings by concern: the documented variable names, refusals at load, copies, the CLI."""

from __future__ import annotations

import pydantic
import pytest
from click.testing import CliRunner

from cli.main import main
from gridgeo.errors import SettingsError
from gridgeo.settings import CONCERNS, get_settings

# Every settings variable, by the name it had when settings were one flat class (the README
# lists all but POOL_SIZE and EDGE_TOLERANCE_M; GRIDGEO_PG_USER is the embedded cluster's own).
VARIABLES = {
    "GRIDGEO_DATABASE_URL": ("database", "database_url", "postgresql://u@h/db"),
    "GRIDGEO_DATA_DIR": ("database", "data_dir", "/srv/gridgeo"),
    "GRIDGEO_PG_BIN": ("database", "pg_bin", "/opt/pg/bin"),
    "GRIDGEO_POOL_SIZE": ("database", "pool_size", "3"),
    "GRIDGEO_ENV": ("api", "env", "production"),
    "GRIDGEO_MAX_BODY_BYTES": ("api", "max_body_bytes", "20000000"),
    "GRIDGEO_TOKEN_TTL_MINUTES": ("api", "token_ttl_minutes", "45"),
    "GRIDGEO_PUBLIC_MAPS": ("api", "public_maps", "true"),
    "GRIDGEO_LOGIN_FAILURES_PER_ACCOUNT": ("api", "login_failures_per_account", "7"),
    "GRIDGEO_LOGIN_FAILURES_PER_ADDRESS": ("api", "login_failures_per_address", "30"),
    "GRIDGEO_LOGIN_WINDOW_S": ("api", "login_window_s", "600"),
    "GRIDGEO_EVALUATION_WEIGHTS": ("evaluation", "evaluation_weights", "closure=50,on_time=50"),
    "GRIDGEO_EVALUATION_TIMEZONE": ("evaluation", "evaluation_timezone", "Asia/Urumqi"),
    "GRIDGEO_PUBLIC_EVALUATION": ("evaluation", "public_evaluation", "true"),
    "GRIDGEO_EVALUATION_WARM": ("evaluation", "evaluation_warm", "false"),
    "GRIDGEO_BATCH_SCHEDULER": ("batch", "batch_scheduler", "tcp://10.0.0.5:8786"),
    "GRIDGEO_BATCH_WORKERS": ("batch", "batch_workers", "3"),
    "GRIDGEO_BATCH_PROCESSES": ("batch", "batch_processes", "false"),
    "GRIDGEO_MAP_TILES": ("maps", "map_tiles", "tianditu"),
    "GRIDGEO_TIANDITU_KEY": ("maps", "tianditu_key", "k"),
    "GRIDGEO_NEIGHBOUR_RADIUS_M": ("maps", "neighbour_radius_m", "500"),
    "GRIDGEO_INCIDENT_SNAP_M": ("incidents", "incident_snap_m", "150"),
    "GRIDGEO_PHOTO_MAX_BYTES": ("incidents", "photo_max_bytes", "1000000"),
    "GRIDGEO_PHOTO_STRIP_GPS": ("incidents", "photo_strip_gps", "false"),
    "GRIDGEO_ESCALATION_INTERVAL_S": ("incidents", "escalation_interval_s", "0"),
    "GRIDGEO_OPEN311_PUBLIC": ("incidents", "open311_public", "true"),
    "GRIDGEO_PLAN_SNAP_M": ("boundaries", "plan_snap_m", "0.25"),
    "GRIDGEO_EDGE_TOLERANCE_M": ("boundaries", "edge_tolerance_m", "2"),
    "GRIDGEO_HOUSEHOLDS_PER_WORKER": ("workload", "households_per_worker", "250"),
    "GRIDGEO_RESIDENT_PER_ADDRESS_PER_DAY": ("residents", "resident_per_address_per_day", "9"),
    "GRIDGEO_RESIDENT_PER_PHONE_PER_DAY": ("residents", "resident_per_phone_per_day", "2"),
    "GRIDGEO_RESIDENT_PHONE_RETENTION_DAYS": ("residents", "resident_phone_retention_days", "7"),
    "GRIDGEO_PUBLIC_MAP_OF_MATTERS": ("residents", "public_map_of_matters", "true"),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_every_variable_keeps_its_name_and_lands_in_its_concern(monkeypatch):
    for name, (_, _, value) in VARIABLES.items():
        monkeypatch.setenv(name, value)
    s = get_settings()
    for name, (concern, field, value) in VARIABLES.items():
        got = getattr(getattr(s, concern), field)
        assert str(got).lower() == value.lower() or got == type(got)(value), name


def test_every_field_is_one_of_these_variables():
    fields = [f"GRIDGEO_{f.upper()}" for cls in CONCERNS.values() for f in cls.model_fields]
    assert sorted(fields) == sorted(VARIABLES)  # each once: no two concerns share a name


def test_defaults():
    s = get_settings()
    assert s.workload.households_per_worker == 300
    assert (s.incidents.incident_snap_m, s.boundaries.plan_snap_m) == (200.0, 0.5)
    assert s.api.env == "development" and s.photo_dir == s.database.data_dir / "photos"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("GRIDGEO_HOUSEHOLDS_PER_WORKER", "0", "GRIDGEO_HOUSEHOLDS_PER_WORKER='0'"),
        ("GRIDGEO_PHOTO_MAX_BYTES", "-1", "GRIDGEO_PHOTO_MAX_BYTES='-1'"),
        ("GRIDGEO_POOL_SIZE", "0", "GRIDGEO_POOL_SIZE='0'"),
        ("GRIDGEO_ESCALATION_INTERVAL_S", "-5", "GRIDGEO_ESCALATION_INTERVAL_S='-5'"),
        ("GRIDGEO_ENV", "prod", "'development' or 'production'"),
        ("GRIDGEO_MAX_BODY_BYTES", "1000", "a photo of the allowed size could never be sent"),
    ],
)
def test_nonsense_is_refused_at_load_naming_the_variable(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert words in refused.value.message


def test_every_refusal_is_named_at_once(monkeypatch):
    monkeypatch.setenv("GRIDGEO_HOUSEHOLDS_PER_WORKER", "-3")
    monkeypatch.setenv("GRIDGEO_LOGIN_WINDOW_S", "0")
    message = pytest.raises(SettingsError, get_settings).value.message
    assert "GRIDGEO_HOUSEHOLDS_PER_WORKER" in message and "GRIDGEO_LOGIN_WINDOW_S" in message


def test_production_refuses_long_lived_bearer_tokens(monkeypatch):
    monkeypatch.setenv("GRIDGEO_TOKEN_TTL_MINUTES", str(7 * 24 * 60))
    assert get_settings().api.token_ttl_minutes == 7 * 24 * 60  # development: allowed
    monkeypatch.setenv("GRIDGEO_ENV", "production")
    with pytest.raises(SettingsError, match="refused in production"):
        get_settings()


def test_fields_given_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("GRIDGEO_MAP_TILES", "osm")
    assert get_settings(map_tiles="").maps.map_tiles == ""
    with pytest.raises(SettingsError, match="unknown settings: nonsense"):
        get_settings(nonsense=1)


def test_settings_are_read_only_and_replace_checks_again():
    s = get_settings()
    with pytest.raises(pydantic.ValidationError):
        s.api.public_maps = True  # type: ignore[misc]
    opened = s.replace(public_maps=True, plan_snap_m=1.5)
    assert opened.api.public_maps and opened.boundaries.plan_snap_m == 1.5
    assert not s.api.public_maps and opened.workload == s.workload
    with pytest.raises(SettingsError, match="GRIDGEO_HOUSEHOLDS_PER_WORKER"):
        s.replace(households_per_worker=0)


def test_the_command_line_explains_a_refused_setting(monkeypatch):
    monkeypatch.setenv("GRIDGEO_HOUSEHOLDS_PER_WORKER", "0")
    out = CliRunner().invoke(main, ["workload"])
    assert out.exit_code == 1
    assert "GRIDGEO_HOUSEHOLDS_PER_WORKER='0'" in out.output and "Traceback" not in out.output
