"""The HTTP API as a client sees it: `chordline api` (uvicorn) in front of workers on Redis and
PostgreSQL, driven over HTTP exactly as the curl loop in docs/api.md does."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# The API is an optional extra: without it these tests skip locally and fail in CI (conftest).
pytest.importorskip("fastapi", reason="the API extra is not installed (pip install -e '.[api]')")

import httpx

from tests.agents.toolbox.tools import count_effects
from tests.api_support import ApiProcess, cli, events, new_key, start_api
from tests.conftest import unavailable
from tests.services import PrivatePostgres, private_directory
from tests.support import WorkerPool

TRIAGE = "jane.doe@example.com here: order ORD-1042 arrived cracked, please refund"


@pytest.fixture
def api(service_env: dict[str, str], tmp_path: Path) -> Iterator[ApiProcess]:
    server = start_api(service_env, tmp_path / "api")
    yield server
    server.stop()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _until(check: object, what: str, timeout_s: float = 60) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()  # type: ignore[operator]
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s:g}s"
        time.sleep(0.1)


def test_the_readme_curl_loop(
    api: ApiProcess, service_env: dict[str, str], workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    key = new_key(service_env, "acme", "ann")  # chordline keys create: the last line
    http = httpx.Client(base_url=api.url, headers=_auth(key), timeout=30)

    created = http.post(
        "/v1/runs", json={"agent": "support-triage", "input": TRIAGE, "metadata": {"ticket": "T-1"}}
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    assert created.json()["metadata"] == {"ticket": "T-1"}

    # Follow the events until the refund waits for a person; approve it; follow to the end.
    seen: list[str] = []
    stream = events(f"{api.url}/v1/runs/{run_id}/events", key)
    for event in stream:
        seen.append(event.id)
        if event.data.get("status") == "waiting":
            break
    (pending,) = http.get("/v1/approvals", params={"status": "pending"}).json()["approvals"]
    assert (pending["run_id"], pending["tool"]) == (run_id, "issue_refund")
    decided = http.post(f"/v1/approvals/{pending['id']}", json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["decided_by"] == "ann"
    last = None
    for event in stream:
        seen.append(event.id)
        last = event
    assert last is not None and last.event == "run" and last.data["status"] == "succeeded"
    assert seen == sorted(seen) and len(seen) == len(set(seen))

    run = http.get(f"/v1/runs/{run_id}").json()
    assert run["status"] == "succeeded"
    assert "refund of $1249.00 for ORD-1042 issued" in run["answer"]
    assert run["totals"]["steps"] >= 6 and run["model"] and run["agent_version"]
    steps = http.get(f"/v1/runs/{run_id}/steps").json()
    assert [s["kind"] for s in steps][:1] == ["llm"] and steps[-1]["status"] == "succeeded"

    # A client that reconnects with Last-Event-ID misses nothing after it.
    midway = seen[len(seen) // 2]
    replayed = [e.id for e in events(f"{api.url}/v1/runs/{run_id}/events", key, midway)]
    assert set(seen) - set(replayed) <= {i for i in seen if i <= midway}
    assert {i for i in seen if i > midway} <= set(replayed)


def test_two_approvals_of_one_turn_decided_in_reverse_order_by_separate_requests(
    api: ApiProcess, service_env: dict[str, str], workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    key = new_key(service_env, "acme", "ann")
    other = new_key(service_env, "globex", "gus")
    http = httpx.Client(base_url=api.url, headers=_auth(key), timeout=30)
    script = 'CALL guarded_effect {"label": "first"}\nCALL guarded_effect {"label": "second"}'
    run_id = http.post("/v1/runs", json={"agent": "toolbox", "input": script}).json()["id"]

    def both_pending() -> list[dict[str, object]]:
        found = http.get("/v1/approvals", params={"run_id": run_id}).json()["approvals"]
        return found if len(found) == 2 else []

    first, second = _until(both_pending, "two pending approvals")  # type: ignore[misc]
    assert http.get(f"/v1/runs/{run_id}").json()["status"] == "waiting_for_approval"

    # Another tenant sees none of it: the same 404 as a run that does not exist.
    them = httpx.Client(base_url=api.url, headers=_auth(other), timeout=30)
    assert them.get(f"/v1/runs/{run_id}").status_code == 404
    assert them.get("/v1/runs/no-such-run").status_code == 404
    assert them.get("/v1/approvals").json()["approvals"] == []
    stolen = them.post(f"/v1/approvals/{first['id']}", json={"decision": "approve"})
    assert stolen.status_code == 404
    assert httpx.get(f"{api.url}/v1/runs/{run_id}").status_code == 401
    assert httpx.get(f"{api.url}/v1/runs", headers=_auth("chl_bogus_key")).status_code == 401

    rejected = http.post(
        f"/v1/approvals/{second['id']}", json={"decision": "reject", "reason": "not this one"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert http.get(f"/v1/runs/{run_id}").json()["status"] == "waiting_for_approval"
    approved = http.post(f"/v1/approvals/{first['id']}", json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    twice = http.post(
        f"/v1/approvals/{first['id']}", json={"decision": "reject", "reason": "changed my mind"}
    )
    assert twice.status_code == 409
    assert twice.json()["decision"]["decision"] == "approve"
    assert twice.json()["decision"]["decided_by"] == "ann"

    _until(lambda: http.get(f"/v1/runs/{run_id}").json()["status"] == "succeeded", "the end")
    url = service_env["CHORDLINE_DATABASE_URL"]
    assert count_effects(url, run_id, "first") == 1
    assert count_effects(url, run_id, "second") == 0

    # The CLI tells the truth about a decided approval (by id and by the run shorthand).
    again = cli(service_env, "approve", first["id"])  # type: ignore[arg-type]
    assert again.returncode == 2 and "already approved by ann" in again.stderr
    by_run = cli(service_env, "approve", run_id)
    assert by_run.returncode == 2 and "step 0" not in by_run.stderr
    assert "already" in by_run.stderr
    listed = cli(service_env, "approvals", "--json", "--status", "any", "--run", run_id)
    states = sorted(a["status"] for a in json.loads(listed.stdout)["approvals"])
    assert states == ["approved", "rejected"]


def test_cancelled_runs_refuse_decisions_over_http_and_in_the_cli(
    api: ApiProcess, service_env: dict[str, str], workers: WorkerPool
) -> None:
    workers.start(service_env, concurrency=2)
    key = new_key(service_env, "acme", "ann")
    http = httpx.Client(base_url=api.url, headers=_auth(key), timeout=30)
    script = 'CALL guarded_effect {"label": "never"}'
    run_id = http.post("/v1/runs", json={"agent": "toolbox", "input": script}).json()["id"]

    def one_pending() -> list[dict[str, object]]:
        return http.get("/v1/approvals", params={"run_id": run_id}).json()["approvals"]

    (waiting,) = _until(one_pending, "a pending approval")  # type: ignore[misc]
    assert http.post(f"/v1/runs/{run_id}/cancel").json()["status"] == "cancelled"
    assert http.post(f"/v1/runs/{run_id}/cancel").status_code == 409
    late = http.post(f"/v1/approvals/{waiting['id']}", json={"decision": "approve"})
    assert late.status_code == 409 and "cancelled" in late.json()["detail"]
    said = cli(service_env, "approve", run_id)
    assert said.returncode == 2 and "continues" not in said.stdout
    assert "cancelled" in said.stderr
    assert count_effects(service_env["CHORDLINE_DATABASE_URL"], run_id) == 0


def test_limits_hold_across_two_api_processes(service_env: dict[str, str], tmp_path: Path) -> None:
    env = {
        **service_env,
        "CHORDLINE_API_RATE_LIMIT_PER_MINUTE": "12",
        "CHORDLINE_API_MAX_CONCURRENT_RUNS": "2",
    }
    servers = [start_api(env, tmp_path / "a"), start_api(env, tmp_path / "b")]
    try:
        key = new_key(service_env, "acme", "ann")
        # The rate counts a fixed minute: start the burst early in one so it stays in one.
        _until(lambda: time.time() % 60 < 40, "an early moment of a minute", timeout_s=30)
        # No workers: runs stay queued, so the third live run is over the limit.
        statuses = []
        for server in servers:
            for _ in range(2):
                answer = httpx.post(
                    f"{server.url}/v1/runs",
                    headers=_auth(key),
                    json={"agent": "toolbox", "input": "hi"},
                )
                statuses.append(answer.status_code)
        assert statuses == [201, 201, 429, 429]
        assert int(answer.headers["Retry-After"]) > 0
        assert "CHORDLINE_API_MAX_CONCURRENT_RUNS" in answer.json()["detail"]
        # A burst shared by both processes: 12 a minute in all, not 12 each.
        burst = [httpx.get(f"{servers[i % 2].url}/v1/runs", headers=_auth(key)) for i in range(16)]
        codes = [r.status_code for r in burst]
        assert codes.count(200) == 12 - 4 and codes.count(429) == 8, codes
        limited = next(r for r in burst if r.status_code == 429)
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        # Another tenant has a budget of its own.
        other = new_key(service_env, "globex", "gus")
        assert httpx.get(f"{servers[0].url}/v1/runs", headers=_auth(other)).status_code == 200
    finally:
        for server in servers:
            server.stop()


def test_api_starts_and_answers_health_and_readiness(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    # How long it takes is a row of `python -m bench --only startup`, never asserted here.
    server = start_api(service_env, tmp_path / "api")
    try:
        health = httpx.get(f"{server.url}/healthz", timeout=30)
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
    finally:
        server.stop()
    assert health.status_code == 200, health.text
    assert ready.status_code == 200, ready.text


def test_readyz_names_what_is_unreachable_and_huge_headers_are_refused(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.services import free_port

    env = {**service_env, "CHORDLINE_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    server = start_api(env, tmp_path / "api")
    try:
        answer = httpx.get(f"{server.url}/readyz", timeout=30)
        huge = httpx.get(f"{server.url}/healthz", headers={"X-Padding": "a" * 100_000})
    finally:
        server.stop()
    assert huge.status_code == 431
    assert answer.status_code == 503
    assert answer.json()["detail"] == "not ready: broker unreachable"
    assert set(answer.json()["failures"]) == {"broker"}
    assert "CHORDLINE_BROKER_URL" in answer.json()["failures"]["broker"]


def test_readyz_names_the_journal_while_it_is_down_and_recovers_with_it(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    if not PrivatePostgres.available():
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # A server of this test's own: the shared one serves other sessions.
    database = PrivatePostgres(private_directory("chordline-pg-")).start()
    try:
        env = {**service_env, "CHORDLINE_DATABASE_URL": database.url}
        migrated = cli(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        server = start_api(env, tmp_path / "api")
        try:
            before = httpx.get(f"{server.url}/readyz", timeout=30)
            database.stop()
            down = httpx.get(f"{server.url}/readyz", timeout=30)
            database.start()
            _until(
                lambda: httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200,
                "ready again once the journal is back",
            )
        finally:
            server.stop()
    finally:
        database.stop()
        shutil.rmtree(database.directory, ignore_errors=True)
    assert before.status_code == 200, before.text
    assert down.status_code == 503, down.text
    assert down.json()["detail"] == "not ready: journal unreachable"
    assert set(down.json()["failures"]) == {"journal"}
    assert "CHORDLINE_DATABASE_URL" in down.json()["failures"]["journal"]
