"""API keys as docs/api.md promises them: made, listed and revoked with the CLI, only their
SHA-256 stored, never logged, and a revoked key refused with 401 by a running `chordline api`."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from orchestration.api import create_app, create_key
from orchestration.api.keys import revoke_key
from orchestration.config import Settings
from tests.api_support import ApiProcess, cli, start_api


@pytest.fixture
def env(service_env: dict[str, str]) -> dict[str, str]:
    # Every logger at its most talkative, so that a key passed to any of them would show.
    return service_env | {"CHORDLINE_LOG_LEVEL": "DEBUG"}


@pytest.fixture
def api(env: dict[str, str], tmp_path: Path) -> Iterator[ApiProcess]:
    server = start_api(env, tmp_path / "api")
    yield server
    server.stop()


def _stored(env: dict[str, str], name: str) -> dict[str, object]:
    url = env["CHORDLINE_DATABASE_URL"].replace("+psycopg", "")
    with psycopg.connect(url) as connection:
        cursor = connection.execute("SELECT * FROM api_keys WHERE name = %s", (name,))
        columns = [c.name for c in cursor.description or ()]
        (row,) = cursor.fetchall()
    return dict(zip(columns, row, strict=True))


def test_a_key_is_stored_as_its_sha256_never_logged_and_refused_once_revoked(
    env: dict[str, str], api: ApiProcess
) -> None:
    created = cli(env, "keys", "create", "--tenant", "acme", "--name", "ci-bot")
    assert created.returncode == 0, created.stderr
    *told, key = created.stdout.strip().splitlines()
    # chl_<prefix>_<secret>; the secret is URL-safe base64, which may itself hold "_".
    _, prefix, secret_part = key.split("_", 2)
    spoken = ["\n".join(told), created.stderr]  # everything but the one line that shows it

    row = _stored(env, "ci-bot")
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == prefix and row["tenant"] == "acme"
    assert not [column for column, value in row.items() if secret_part in str(value)]

    listed = cli(env, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    (line,) = [text for text in listed.stdout.splitlines() if "ci-bot" in text]
    assert prefix in line and "acme" in line
    assert secret_part not in listed.stdout + listed.stderr
    spoken += [listed.stderr]

    http = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert http.get("/v1/runs").status_code == 200
    started = http.post("/v1/runs", json={"agent": "toolbox", "input": "hi"})
    assert started.status_code == 201, started.text

    revoked = cli(env, "keys", "revoke", "ci-bot")
    assert revoked.returncode == 0, revoked.stderr
    spoken += [revoked.stdout, revoked.stderr]
    assert http.get("/v1/runs").status_code == 401
    assert http.get(f"/v1/runs/{started.json()['id']}").status_code == 401
    assert http.post("/v1/runs", json={"agent": "toolbox", "input": "hi"}).status_code == 401
    (listed_key,) = json.loads(cli(env, "keys", "list", "--json").stdout)["keys"]
    assert listed_key["name"] == "ci-bot" and listed_key["revoked_at"], listed_key
    assert _stored(env, "ci-bot")["revoked_at"] is not None

    api.stop()  # flushes what the server logged while the key was used and refused
    logged = api.output()
    assert "GET /v1/runs" in logged, "the API's log is empty: nothing was checked"
    for text in [logged, *spoken]:
        assert secret_part not in text


def test_no_logger_sees_a_key_made_used_and_revoked_in_process(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # `chordline api` passes only WARNING and above of our loggers to its output; in process
    # every logger is captured at DEBUG, SQLAlchemy's statements and parameters included.
    caplog.set_level(logging.DEBUG)
    app = create_app(sqlite_settings)
    journal = app.state.chordline.client.runtime.journal
    made = create_key(journal, tenant="acme", name="in-process")
    with TestClient(app, headers={"Authorization": f"Bearer {made.secret}"}) as http:
        assert http.get("/v1/runs").status_code == 200
        assert http.post("/v1/runs", json={"agent": "toolbox", "input": "hi"}).status_code == 201
        assert revoke_key(journal, "in-process") == 1
        assert http.get("/v1/runs").status_code == 401
    assert any(r.name.startswith("httpx") for r in caplog.records), "nothing was captured"
    assert made.secret.split("_", 2)[2] not in caplog.text
