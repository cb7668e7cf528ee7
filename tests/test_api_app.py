"""The API's answers to bad input, paging and idempotency, in process on an embedded journal
(SQLite, no Redis: each process counts its own limits)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

# The API is an optional extra: without it these tests skip locally and fail in CI (conftest).
pytest.importorskip("fastapi", reason="the API extra is not installed (pip install -e '.[api]')")

from fastapi.testclient import TestClient
from sqlalchemy import update

from orchestration.api import create_app, create_key
from orchestration.cli.api import api_port
from orchestration.config import Settings, load_settings
from orchestration.errors import ConfigError
from orchestration.journal.tables import Run


@pytest.fixture
def http(sqlite_settings: Settings) -> Iterator[TestClient]:
    settings = load_settings(**{**sqlite_settings.model_dump(), "run_metadata_max_bytes": 64})
    app = create_app(settings)
    key = create_key(app.state.chordline.client.runtime.journal, tenant="acme", name="t").secret
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_bad_input_answers_4xx_naming_the_field(http: TestClient) -> None:
    def post(body: object) -> tuple[int, str]:
        answer = http.post("/v1/runs", json=body)
        return answer.status_code, str(answer.json()["detail"])

    assert post({"agent": "toolbox", "input": {"text": "hi"}}) == (
        422,
        "invalid request: input: Input should be a valid string. Fix: send each field as "
        "/docs describes it.",
    )
    status, detail = post({"agent": "toolbox", "input": "hi", "max_usd": "lots"})
    assert status == 422 and detail.startswith("invalid request: max_usd:")
    status, detail = post({"agent": "toolbox", "input": "hi", "max_steps": -5})
    assert status == 422 and "max_steps" in detail
    status, detail = post({"agent": "toolbox", "input": "hi", "metadata": {"k": "v" * 100}})
    assert status == 413 and "metadata" in detail and "CHORDLINE_RUN_METADATA_MAX_BYTES" in detail
    status, detail = post({"agent": "toolbox", "input": "x" * 70_000})
    assert status == 413 and detail.startswith("input: 70000 bytes")
    status, detail = post({"agent": "nobody", "input": "hi"})
    assert status == 404 and "toolbox" in detail and "support-triage" in detail
    malformed = http.post(
        "/v1/runs", content=b'{"agent": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    form = http.post("/v1/runs", content=b"agent=toolbox", headers={"content-type": "text/plain"})
    assert 400 <= form.status_code < 500


def test_a_run_started_in_a_session_is_journaled_in_it(http: TestClient) -> None:
    started = http.post("/v1/runs", json={"agent": "toolbox", "input": "hi", "session": "s-1"})
    assert started.status_code == 201, started.text
    assert started.json()["session"] == "s-1"
    assert http.get(f"/v1/runs/{started.json()['id']}").json()["session"] == "s-1"
    plain = http.post("/v1/runs", json={"agent": "toolbox", "input": "hi"}).json()
    assert plain["session"] is None


def test_idempotency_keys_and_cursor_pages(http: TestClient) -> None:
    body = {"agent": "toolbox", "input": "hi", "metadata": {"n": 1}}
    first = http.post("/v1/runs", json=body, headers={"Idempotency-Key": "k-1"})
    again = http.post("/v1/runs", json=body, headers={"Idempotency-Key": "k-1"})
    other = http.post("/v1/runs", json={**body, "input": "ho"}, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert first.json()["id"] == again.json()["id"]
    assert "another body" in other.json()["detail"]
    for n in range(4):
        assert http.post("/v1/runs", json={"agent": "counter", "input": f"{n}"}).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "agent": "counter", **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/runs", params=params).json()
        seen += [run["id"] for run in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert http.get("/v1/runs", params={"cursor": "not-a-cursor"}).status_code == 422
    queued = http.get("/v1/runs", params={"status": "queued", "limit": 200}).json()["runs"]
    assert len(queued) == 5
    future = http.get("/v1/runs", params={"created_after": "2999-01-01T00:00:00"}).json()
    assert future["runs"] == []


def test_runs_are_listed_by_when_they_were_created(http: TestClient) -> None:
    ids = [
        http.post("/v1/runs", json={"agent": "counter", "input": f"{n}"}).json()["id"]
        for n in range(3)
    ]
    # Noon UTC on three days, so each bound below falls between two runs or on one.
    journal = http.app.state.chordline.client.runtime.journal
    with journal.engine.begin() as connection:
        for day, run_id in enumerate(ids, start=1):
            at = datetime(2026, 1, day, 12, tzinfo=UTC)
            connection.execute(update(Run).where(Run.id == run_id).values(created_at=at))

    def listed(**bounds: str) -> list[str]:
        answer = http.get("/v1/runs", params=bounds)
        assert answer.status_code == 200, answer.text
        return [run["id"] for run in answer.json()["runs"]]

    assert listed() == ids[::-1]
    assert listed(created_before="2026-01-02T12:00:00Z") == [ids[0]]  # strictly before
    assert listed(created_before="2026-01-02T12:00:01Z") == [ids[1], ids[0]]
    assert listed(created_before="2026-01-02T14:00:00+02:00") == [ids[0]]  # the same instant
    assert listed(created_before="2026-01-02T12:00:01") == [ids[1], ids[0]]  # no zone: UTC
    assert listed(created_before="2026-01-01T00:00:00Z") == []
    between = listed(created_after="2026-01-01T12:00:00Z", created_before="2026-01-03T12:00:00Z")
    assert between == [ids[1]]
    refused = http.get("/v1/runs", params={"created_before": "yesterday"})
    assert refused.status_code == 422 and "created_before" in refused.json()["detail"]


def test_the_port_comes_from_the_settings_then_port_then_8000(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORT", raising=False)
    assert api_port(sqlite_settings) == 8000
    monkeypatch.setenv("PORT", "9123")
    assert api_port(sqlite_settings) == 9123
    assert api_port(load_settings(**{**sqlite_settings.model_dump(), "api_port": 7000})) == 7000
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ConfigError, match="PORT='eighty' is invalid"):
        api_port(sqlite_settings)


def test_a_tenant_at_its_daily_cap_is_refused_until_midnight(sqlite_settings: Settings) -> None:
    settings = load_settings(
        **{**sqlite_settings.model_dump(), "tenant_daily_usd_overrides": "capped=0"}
    )
    app = create_app(settings)
    journal = app.state.chordline.client.runtime.journal
    capped = create_key(journal, tenant="capped", name="c").secret
    free = create_key(journal, tenant="free", name="f").secret
    with TestClient(app) as client:
        body = {"agent": "toolbox", "input": "hi"}
        refused = client.post("/v1/runs", json=body, headers={"Authorization": f"Bearer {capped}"})
        allowed = client.post("/v1/runs", json=body, headers={"Authorization": f"Bearer {free}"})
    assert refused.status_code == 429 and "daily budget" in refused.json()["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 86_401
    assert allowed.status_code == 201
