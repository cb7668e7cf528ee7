"""Schemathesis fuzzes the API's OpenAPI schema against the app on a real journal (PostgreSQL)
and Redis: nothing a client sends may produce a 5xx, and answers match the schema."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

# The API is an optional extra: without it these tests skip locally and fail in CI (conftest).
pytest.importorskip("fastapi", reason="the API extra is not installed (pip install -e '.[api]')")

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from orchestration.api import create_app, create_key
from orchestration.client import Client
from orchestration.config import load_settings
from orchestration.journal import Journal
from tests.conftest import AGENT_DIRS


@pytest.fixture
def api_app(pg_journal: Journal, clean_redis: str, tmp_path: Path) -> FastAPI:
    """The app on PostgreSQL and Redis, with a key of tenant acme and one run to find."""
    app_settings = load_settings(
        broker_url=clean_redis,
        database_url=pg_journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path,
        api_rate_limit_per_minute=1_000_000,
        api_max_concurrent_runs=1_000_000,
    )
    app = create_app(app_settings, Client(app_settings))
    app.state.test_key = create_key(pg_journal, tenant="acme", name="fuzzer").secret
    return app


def test_no_request_produces_a_server_error(api_app: FastAPI) -> None:
    # Each operation's Hypothesis strategy, driven here: schemathesis's lazy pytest loader
    # (``from_fixture``) does not run on pytest 9.
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {api_app.state.test_key}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: Counter[str] = Counter()
    assert len(operations) >= 9

    run = api_app.state.chordline.client.submit("toolbox", "hello", tenant="acme")
    plans = [(op, mode, {}) for op in operations for mode in GenerationMode]
    # And the run-scoped reads on a run that exists (its stream would wait for it to end).
    plans += [
        (op, GenerationMode.POSITIVE, {"run_id": run.id})
        for op in operations
        if "{run_id}" in op.path and not op.path.endswith("/events")
    ]
    for operation, mode, path_parameters in plans:

        @given(case=operation.as_strategy(mode, path_parameters=path_parameters or None))
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=headers, checks=checks)
            statuses[f"{case.operation.label} {response.status_code}"] += 1

        try:
            fuzz()
        except Unsatisfiable:
            # Nothing to make invalid: an operation without parameters or body.
            assert mode == GenerationMode.NEGATIVE, operation.label
    print(sorted(statuses.items()))
    # The fuzzer got past authentication into the handlers, not only 401s.
    assert sum(n for label, n in statuses.items() if not label.endswith("401")) > 100
