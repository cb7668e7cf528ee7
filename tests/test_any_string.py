"""Any string at any door: a lone surrogate (valid JSON as ``"\\ud800"``, an undecodable byte
on a command line) or a NUL is refused with a 4xx or a clear error naming the field and the
fix, never a 500 or a traceback; a tool's result or a model's answer holding one is journaled
with U+FFFD in its place and the run goes on, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from orchestration.api import create_app, create_key
from orchestration.bootstrap import open_runtime
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.errors import AgentNotFound, ApprovalError, RunRequestError
from orchestration.journal import Journal
from orchestration.journal.approvals import approval_id
from orchestration.journal.payloads import ToolPayload
from orchestration.journal.tables import Run, RunStatus, StepKind, StepStatus
from orchestration.run_request import parse_run_request
from orchestration.runtime import Runtime
from orchestration.storable_text import REPLACEMENT, storable, unstorable
from tests.agents.toolbox.tools import ODD_TEXT
from tests.api_support import cli
from tests.conftest import AGENT_DIRS
from tests.support import drain

# A lone high surrogate, a NUL, and what an undecodable byte on a command line becomes.
BAD = ("\ud800x", "a\x00b", "\udcff")
FIELDS = ("agent", "input", "tenant", "session", "metadata")


def _requests(bad: str) -> list[tuple[str, dict[str, object]]]:
    """A request per field holding ``bad``, and the field each one must name."""
    good: dict[str, object] = {"agent": "toolbox", "input": "hi"}
    return [
        ("agent", {**good, "agent": f"toolbox{bad}"}),
        ("input", {**good, "input": bad}),
        ("tenant", {**good, "tenant": bad}),
        ("session", {**good, "session": bad}),
        ("metadata", {**good, "metadata": {"ticket": bad}}),
        ("metadata", {**good, "metadata": {bad: "T-1"}}),
        ("metadata", {**good, "metadata": {"tags": ["ok", {"deep": bad}]}}),
    ]


def _runs(journal: Journal) -> int:
    with journal.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Run)).scalar_one())


@pytest.fixture
def rt(journal: Journal, tmp_path: Path) -> Runtime:
    settings = load_settings(
        database_url=journal.url, agents_dir=AGENT_DIRS, data_dir=tmp_path, lease_seconds=30
    )
    return open_runtime(settings)


@pytest.fixture
def http(journal: Journal, tmp_path: Path) -> Iterator[TestClient]:
    """The API on SQLite and PostgreSQL; a 500 is answered, not raised, so tests can see it."""
    settings = load_settings(
        database_url=journal.url,
        agents_dir=AGENT_DIRS,
        data_dir=tmp_path / "data",
        broker_url="filesystem://",
    )
    app = create_app(settings)
    key = create_key(app.state.chordline.client.runtime.journal, tenant="acme", name="t").secret
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("bad", BAD, ids=["surrogate", "nul", "argv-byte"])
def test_the_contract_refuses_unstorable_text_in_every_field(
    sqlite_settings: Settings, bad: str
) -> None:
    for field, data in _requests(bad):
        with pytest.raises(RunRequestError) as caught:
            parse_run_request(data, sqlite_settings)
        message = str(caught.value)
        assert caught.value.field == field, message
        assert message.startswith(f"invalid run request: {field}"), message
        assert "Fix: send text without NUL characters or lone surrogates" in message
        message.encode("utf-8")  # printable anywhere: the offending character is escaped


@pytest.mark.parametrize("bad", BAD, ids=["surrogate", "nul", "argv-byte"])
def test_post_runs_answers_422_naming_the_field_on_both_journals(
    http: TestClient, journal: Journal, bad: str
) -> None:
    for field, body in _requests(bad):
        answer = http.post(
            "/v1/runs",
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        detail = str(answer.json()["detail"])
        assert answer.status_code == 422, (field, answer.status_code, detail)
        assert field in detail and "Fix:" in detail, (field, detail)
    extra = http.post(
        "/v1/runs", content=json.dumps({"agent": "toolbox", "input": "hi", bad: 1}).encode()
    )
    assert extra.status_code == 422 and "Fix:" in extra.json()["detail"]
    assert _runs(journal) == 0


def test_an_idempotency_key_that_is_not_printable_ascii_is_a_422(http: TestClient) -> None:
    body = {"agent": "toolbox", "input": "hi"}
    for key in (b"k\xff", b"k\xed\xa0\x80", "k\x00"):
        answer = http.post("/v1/runs", json=body, headers={"Idempotency-Key": key})
        assert answer.status_code == 422, (key, answer.text)
        assert "Idempotency-Key" in answer.json()["detail"]


def test_approval_reason_and_edited_arguments_are_refused_then_a_clean_decision_lands(
    http: TestClient, journal: Journal
) -> None:
    script = 'CALL guarded_effect {"label": "x"}'
    created = http.post("/v1/runs", json={"agent": "toolbox", "input": script})
    assert created.status_code == 201, created.text
    rt = http.app.state.chordline.client.runtime
    drain(rt, created.json()["id"])
    (waiting,) = rt.journal.waiting_approvals(created.json()["id"])
    url = f"/v1/approvals/{approval_id(waiting.run_id, waiting.seq)}"
    for bad in BAD:
        for field, body in (
            ("reason", {"decision": "reject", "reason": bad}),
            ("arguments", {"decision": "approve", "arguments": {"label": bad}}),
            ("arguments", {"decision": "approve", "arguments": {bad: "x"}}),
        ):
            answer = http.post(
                url, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
            )
            detail = str(answer.json()["detail"])
            assert answer.status_code == 422, (field, bad, answer.status_code, detail)
            assert field in detail and "Fix:" in detail, (field, detail)
    decided = http.post(url, json={"decision": "reject", "reason": "not today"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["reason"] == "not today"


def test_feedback_comment_and_labels_are_refused_then_clean_feedback_lands(
    http: TestClient,
) -> None:
    created = http.post("/v1/runs", json={"agent": "toolbox", "input": "hi"})
    assert created.status_code == 201, created.text
    url = f"/v1/runs/{created.json()['id']}/feedback"
    for bad in BAD:
        for field, body in (
            ("comment", {"score": 1, "comment": bad}),
            ("comment", {"score": 1, "comment": f"fine{bad}"}),
            ("labels", {"score": -1, "labels": ["ok", bad]}),
        ):
            answer = http.post(
                url, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
            )
            detail = str(answer.json()["detail"])
            assert answer.status_code == 422, (field, bad, answer.status_code, detail)
            assert field in detail and "Fix:" in detail, (field, detail)
    given = http.post(url, json={"score": 1, "comment": "clean", "labels": ["ok"]})
    assert given.status_code == 201, given.text
    assert http.get(url.removesuffix("/feedback")).json()["feedback"][0]["comment"] == "clean"


def test_the_client_and_the_cli_refuse_without_a_traceback(sqlite_settings: Settings) -> None:
    client = Client(sqlite_settings)
    for bad in BAD:
        with pytest.raises(RunRequestError) as caught:
            client.submit("toolbox", bad)
        assert caught.value.field == "input"
        with pytest.raises(RunRequestError) as caught:
            client.submit("toolbox", "hi", session=bad)
        assert caught.value.field == "session"
        with pytest.raises(RunRequestError) as caught:
            client.submit("ticket-triage", bad)  # a workflow: the same contract
        assert caught.value.field == "input"
    env = {
        "CHORDLINE_DATA_DIR": str(sqlite_settings.data_dir),
        "CHORDLINE_AGENTS_DIR": sqlite_settings.agents_dir,
    }
    # "\udcff" reaches the process as the byte 0xff: what a mis-encoded shell argument is.
    for args, field in (
        (("submit", "toolbox", "\udcff"), "input"),
        (("submit", "toolbox", "hi", "--session", "\udcff"), "session"),
        (("submit", "toolbox", "hi", "--tenant", "\udcff"), "tenant"),
    ):
        done = cli(env, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert field in done.stderr and "Fix:" in done.stderr and "Traceback" not in done.stderr
    assert _runs(client.runtime.journal) == 0

    run = client.runtime.create_run("toolbox", 'CALL guarded_effect {"label": "x"}')
    drain(client.runtime, run.id)
    with pytest.raises(ApprovalError, match=r"^reason: contains a lone surrogate"):
        client.decide(run.id, approved=False, reviewer="ann", reason="\ud800")
    for args, field in (
        (("reject", run.id, "--reason", "\udcff"), "reason"),
        (("approve", run.id, "--arguments", '{"label": "\udcff"}'), "arguments"),
        (("approve", run.id, "--arguments", '{"label": "\\u0000"}'), "arguments"),
    ):
        done = cli(env, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert field in done.stderr and "Fix:" in done.stderr and "Traceback" not in done.stderr
    assert client.runtime.journal.get_run(run.id).status == RunStatus.WAITING_FOR_APPROVAL


def test_a_tool_result_and_a_model_answer_holding_them_complete_the_run(rt: Runtime) -> None:
    run = rt.create_run("toolbox", 'CALL odd_text {}\n\nCALL odd_text {"fail": true}')
    drain(rt, run.id)
    ended = rt.journal.get_run(run.id)
    assert ended.status == RunStatus.SUCCEEDED, ended.error
    clean = storable(ODD_TEXT)
    assert clean == f"half {REPLACEMENT} of a pair and a {REPLACEMENT} NUL"
    returned, failed = [s for s in rt.journal.steps(run.id) if s.kind == StepKind.TOOL]
    assert returned.status == StepStatus.SUCCEEDED
    assert returned.result == ToolPayload({"summary": clean, f"{REPLACEMENT} key": REPLACEMENT})
    assert failed.status == StepStatus.FAILED and clean in (failed.error or "")
    # The scripted model's answer quotes both: the run's output holds the same replacement.
    assert ended.output is not None and f"odd_text: {clean}" in ended.output


# Any text: surrogates (category Cs, excluded by default) and NUL included, and often.
_TEXT = st.text(
    st.one_of(st.characters(exclude_categories=()), st.sampled_from("\x00\ud800\udfff\udcff"))
)
_LIMITS = {"agent": 128, "tenant": 64, "session": 128}


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(field=st.sampled_from([*FIELDS, "metadata key"]), text=_TEXT)
def test_any_text_is_refused_naming_its_field_or_stored_and_read_back_equal(
    rt: Runtime, field: str, text: str
) -> None:
    # The run-request contract, every field, as every door calls it.
    fields: dict[str, object] = {"agent": "toolbox", "input": "hi"}
    if field == "metadata key":
        fields["metadata"] = {text: 1}
    else:
        fields[field] = {"k": [text]} if field == "metadata" else text
    agent, text_in = str(fields.pop("agent")), str(fields.pop("input"))
    try:
        run = rt.create_run(agent, text_in, **fields)
    except RunRequestError as exc:
        assert exc.field == field.split(maxsplit=1)[0] and "Fix:" in str(exc), str(exc)
        fits = 0 < len(text) <= _LIMITS.get(exc.field, 10**9)
        assert unstorable(text) is not None or not fits, f"refused storable text: {exc}"
    except AgentNotFound:
        assert field == "agent" and unstorable(text) is None
    else:
        stored = rt.journal.get_run(run.id)
        assert (stored.agent, stored.input) == (agent, text_in)
        assert stored.tenant == fields.get("tenant", rt.settings.core.default_tenant)
        assert stored.session == fields.get("session")
        assert rt.journal.run_extras(run.id).metadata == fields.get("metadata")

    # A tool's result path: the echo tool returns the text as the model's arguments gave it.
    echoed = rt.create_run("toolbox", "CALL echo " + json.dumps({"text": text}))
    drain(rt, echoed.id)
    assert rt.journal.get_run(echoed.id).status == RunStatus.SUCCEEDED
    (step,) = [s for s in rt.journal.steps(echoed.id) if s.kind == StepKind.TOOL]
    assert step.result == ToolPayload({"text": storable(text)})
    if unstorable(text) is None:
        assert step.result == ToolPayload({"text": text})
