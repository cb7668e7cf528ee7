"""API keys' scopes (read, submit, approve, admin) and the operator's tenant ``*``, in process on
an embedded journal: each route refuses a key without its scope with a 403 naming the scope,
a key made before scopes keeps every right, and only an operator's key crosses tenants."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

# The API is an optional extra: without it these tests skip locally and fail in CI (conftest).
pytest.importorskip("fastapi", reason="the API extra is not installed (pip install -e '.[api]')")

from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from orchestration.api import create_app, create_key, list_keys
from orchestration.config import Settings
from orchestration.errors import ConfigError
from orchestration.journal import _schema as schema
from orchestration.journal import open_journal
from orchestration.journal.approvals import approval_id
from orchestration.runtime import Runtime
from tests.api_support import cli
from tests.conftest import AGENT_DIRS
from tests.support import drain

GUARDED = 'CALL guarded_effect {"label": "x"}'


@pytest.fixture
def app(sqlite_settings: Settings) -> FastAPI:
    return create_app(sqlite_settings)


def _rt(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.chordline.client.runtime
    return runtime


def _key(app: FastAPI, tenant: str, name: str, scopes: list[str] | None = None) -> str:
    return create_key(_rt(app).journal, tenant=tenant, name=name, scopes=scopes).secret


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _waiting_run(http: TestClient, app: FastAPI, key: str, tenant: str | None = None) -> str:
    """A run of ``key``'s tenant (or the one an operator names) waiting for an approval."""
    body = {"agent": "toolbox", "input": GUARDED, **({"tenant": tenant} if tenant else {})}
    created = http.post("/v1/runs", json=body, headers=_as(key))
    assert created.status_code == 201, created.text
    run_id = str(created.json()["id"])
    drain(_rt(app), run_id)
    return run_id


def _approval(app: FastAPI, run_id: str) -> str:
    (waiting,) = _rt(app).journal.waiting_approvals(run_id)
    return approval_id(waiting.run_id, waiting.seq)


def _refused(answer: object, scope: str) -> None:
    status, detail = answer.status_code, answer.json()["detail"]  # type: ignore[attr-defined]
    assert status == 403, (status, detail)
    assert f"lacks the `{scope}`" in detail and "Fix:" in detail and "--scope" in detail, detail


def test_a_read_key_reads_but_may_not_submit_cancel_approve_or_give_feedback(
    http: TestClient, app: FastAPI
) -> None:
    owner = _key(app, "acme", "ops")
    reader = _key(app, "acme", "viewer", ["read"])
    run_id = _waiting_run(http, app, owner)
    approval = _approval(app, run_id)

    assert http.get(f"/v1/runs/{run_id}", headers=_as(reader)).json()["tenant"] == "acme"
    assert [r["id"] for r in http.get("/v1/runs", headers=_as(reader)).json()["runs"]] == [run_id]
    assert http.get(f"/v1/runs/{run_id}/steps", headers=_as(reader)).status_code == 200
    listed = http.get("/v1/approvals", headers=_as(reader)).json()["approvals"]
    assert [a["id"] for a in listed] == [approval]

    body = {"agent": "toolbox", "input": "hi"}
    _refused(http.post("/v1/runs", json=body, headers=_as(reader)), "submit")
    _refused(http.post(f"/v1/runs/{run_id}/cancel", headers=_as(reader)), "submit")
    decision = {"decision": "approve"}
    _refused(http.post(f"/v1/approvals/{approval}", json=decision, headers=_as(reader)), "approve")
    feedback = http.post(f"/v1/runs/{run_id}/feedback", json={"score": 1}, headers=_as(reader))
    _refused(feedback, "submit")
    assert "`submit` or `approve`" in feedback.json()["detail"]

    # Nothing the reader tried changed anything.
    assert http.get(f"/v1/runs/{run_id}", headers=_as(owner)).json()["status"] == (
        "waiting_for_approval"
    )
    assert len(http.get("/v1/runs", headers=_as(owner)).json()["runs"]) == 1


def test_an_approve_key_decides_and_gives_feedback_but_neither_reads_nor_submits(
    http: TestClient, app: FastAPI
) -> None:
    owner = _key(app, "acme", "ops")
    approver = _key(app, "acme", "reviewer", ["approve"])
    run_id = _waiting_run(http, app, owner)
    approval = _approval(app, run_id)

    decided = http.post(
        f"/v1/approvals/{approval}", json={"decision": "approve"}, headers=_as(approver)
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["decided_by"] == "reviewer"
    given = http.post(f"/v1/runs/{run_id}/feedback", json={"score": -1}, headers=_as(approver))
    assert given.status_code == 201 and given.json()["giver"] == "reviewer", given.text
    _refused(http.get(f"/v1/runs/{run_id}", headers=_as(approver)), "read")
    _refused(http.get("/v1/approvals", headers=_as(approver)), "read")
    body = {"agent": "toolbox", "input": "hi"}
    _refused(http.post("/v1/runs", json=body, headers=_as(approver)), "submit")


def test_a_key_made_before_scopes_keeps_every_right(sqlite_settings: Settings) -> None:
    # A key stored by the schema before `api_scopes` (no scopes column), then migrated.
    journal = open_journal(sqlite_settings.journal_url)
    config = Config()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    with journal.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "observe")
    secret = "chl_0ld0ld00_" + "s" * 43
    with journal.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_keys (id, tenant, name, key_hash, prefix, created_at) "
                "VALUES ('k-1', 'acme', 'legacy', :digest, '0ld0ld00', '2026-01-01 00:00:00')"
            ),
            {"digest": hashlib.sha256(secret.encode()).hexdigest()},
        )
    app = create_app(sqlite_settings)  # migrates the journal to the head
    (listed,) = list_keys(_rt(app).journal, "acme")
    assert listed.scopes == ("read", "submit", "approve", "admin")

    with TestClient(app) as http:
        run_id = _waiting_run(http, app, secret)
        assert http.get(f"/v1/runs/{run_id}", headers=_as(secret)).status_code == 200
        decided = http.post(
            f"/v1/approvals/{_approval(app, run_id)}",
            json={"decision": "reject", "reason": "no"},
            headers=_as(secret),
        )
        assert decided.status_code == 200, decided.text
        body = {"agent": "toolbox", "input": "hi"}
        other = http.post("/v1/runs", json=body, headers=_as(secret)).json()["id"]
        cancelled = http.post(f"/v1/runs/{other}/cancel", headers=_as(secret))
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        given = http.post(f"/v1/runs/{run_id}/feedback", json={"score": 1}, headers=_as(secret))
        assert given.status_code == 201 and given.json()["giver"] == "legacy"


def test_an_operator_key_sees_every_tenant_a_tenant_key_only_its_own(
    http: TestClient, app: FastAPI
) -> None:
    acme = _key(app, "acme", "ann")
    globex = _key(app, "globex", "gus")
    operator = _key(app, "*", "ops", ["admin"])
    acme_run = _waiting_run(http, app, acme)
    globex_run = _waiting_run(http, app, globex)

    listed = http.get("/v1/runs", headers=_as(operator)).json()["runs"]
    assert {(r["id"], r["tenant"]) for r in listed} == {(acme_run, "acme"), (globex_run, "globex")}
    assert http.get(f"/v1/runs/{acme_run}", headers=_as(operator)).json()["tenant"] == "acme"
    pending = http.get("/v1/approvals", headers=_as(operator)).json()["approvals"]
    assert {(a["run_id"], a["tenant"]) for a in pending} == {
        (acme_run, "acme"),
        (globex_run, "globex"),
    }

    # A tenant's key never sees another tenant's run: the same 404 as a run that does not exist.
    assert http.get(f"/v1/runs/{acme_run}", headers=_as(globex)).status_code == 404
    assert [r["id"] for r in http.get("/v1/runs", headers=_as(globex)).json()["runs"]] == [
        globex_run
    ]
    mine = http.get("/v1/approvals", headers=_as(globex)).json()["approvals"]
    assert [a["run_id"] for a in mine] == [globex_run]
    stolen = http.post(
        f"/v1/approvals/{_approval(app, acme_run)}",
        json={"decision": "approve"},
        headers=_as(globex),
    )
    assert stolen.status_code == 404

    # The operator decides any tenant's approval, under its own key's name.
    decided = http.post(
        f"/v1/approvals/{_approval(app, acme_run)}",
        json={"decision": "reject", "reason": "not today"},
        headers=_as(operator),
    )
    assert decided.status_code == 200 and decided.json()["decision"]["decided_by"] == "ops"

    # An operator's run belongs to the tenant it names, never to '*'.
    body: dict[str, object] = {"agent": "toolbox", "input": "hi"}
    for unnamed in (body, {**body, "tenant": "*"}):
        refused = http.post("/v1/runs", json=unnamed, headers=_as(operator))
        detail = refused.json()["detail"]
        assert refused.status_code == 422 and "tenant" in detail and "Fix:" in detail, detail
    started = http.post("/v1/runs", json={**body, "tenant": "globex"}, headers=_as(operator))
    assert started.status_code == 201 and started.json()["tenant"] == "globex", started.text
    assert http.get(f"/v1/runs/{started.json()['id']}", headers=_as(globex)).status_code == 200
    assert all(
        r["tenant"] != "*" for r in http.get("/v1/runs", headers=_as(operator)).json()["runs"]
    )


def test_keys_refuse_unknown_scopes_and_an_operator_without_admin(app: FastAPI) -> None:
    journal = _rt(app).journal
    with pytest.raises(ConfigError) as unknown:
        create_key(journal, tenant="acme", name="x", scopes=["read", "wrte"])
    assert "'wrte'" in str(unknown.value) and "read, submit, approve, admin" in str(unknown.value)
    with pytest.raises(ConfigError, match="needs the admin scope"):
        create_key(journal, tenant="*", name="ops", scopes=["read"])
    with pytest.raises(ConfigError, match="--tenant 'a\\*' is invalid"):
        create_key(journal, tenant="a*", name="x")
    made = create_key(journal, tenant="acme", name="bot", scopes=["approve", "read"])
    assert made.record.scopes == ("read", "approve")
    assert list_keys(journal) == [made.record]


def test_keys_create_and_list_scopes_in_the_cli(sqlite_settings: Settings, tmp_path: Path) -> None:
    env = {"CHORDLINE_DATA_DIR": str(sqlite_settings.data_dir), "CHORDLINE_AGENTS_DIR": AGENT_DIRS}
    made = cli(env, "keys", "create", "--tenant", "*", "--name", "ops", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("chl_")
    assert "for tenant *, scopes admin;" in made.stdout
    default = cli(env, "keys", "create", "--tenant", "acme", "--name", "ci")
    assert default.returncode == 0, default.stderr
    wrong = cli(env, "keys", "create", "--tenant", "acme", "--name", "x", "--scope", "read,own")
    assert wrong.returncode == 2 and "'own'" in wrong.stderr
    assert "read, submit, approve, admin" in wrong.stderr
    listed = json.loads(cli(env, "keys", "list", "--json").stdout)["keys"]
    assert [(k["tenant"], k["scopes"]) for k in listed] == [
        ("*", ["admin"]),
        ("acme", ["read", "submit", "approve", "admin"]),
    ]
    table = cli(env, "keys", "list").stdout
    assert "scopes" in table and "read submit approve admin" in table
