"""Schemathesis against the whole API as every demo role: no 5xx, no answer off its schema.

Every operation of ``/openapi.json``, positive and negative examples, a fixed seed, a bounded
number of examples per operation and mode (``GRIDGEO_FUZZ_EXAMPLES``, default 4: about four
minutes for the six callers on the development machine). The app runs in-process (ASGI) on
the demo city, its requests in one transaction rolled back at the end.

Checked: no 5xx, every answer matches its declared schema and content type. Not checked:
schemathesis's "schema-valid request rejected", since some vocabularies live in the database
(category and level keys, grid codes) and the schema states only their form; see docs/api.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import Connection, Engine, text

from cli.demo import DEMO_PASSWORDS
from gridgeo.tokens import issue
from tests.api.conftest import app_in_transaction

ROLES = [None, *DEMO_PASSWORDS]
EXAMPLES = int(os.environ.get("GRIDGEO_FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
SEED = 2026


@pytest.fixture(scope="module")
def fuzz_conn(demo_engine: Engine) -> Iterator[Connection]:
    with demo_engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture(scope="module")
def fuzz_tokens(fuzz_conn: Connection) -> dict[str, str]:
    ids = dict(fuzz_conn.execute(text("SELECT name, id FROM users")).all())
    return {
        name: issue(fuzz_conn, ids[name], "session", timedelta(hours=2)).token
        for name in DEMO_PASSWORDS
    }


@pytest.fixture(scope="module")
def fuzz_schema(demo_engine: Engine, fuzz_conn: Connection) -> Any:
    app = app_in_transaction(demo_engine, fuzz_conn)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_fuzz(role: str | None, fuzz_schema: Any, fuzz_tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {fuzz_tokens[role]}"} if role else {}
    failures = []
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) > 60  # the whole API, not a part that happened to load
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_operation(operation, mode, headers)
            except Unsatisfiable:
                continue  # nothing to negate: an operation without parameters or body
            except (AssertionError, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
