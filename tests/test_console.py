"""The console's pages in process on an embedded journal: sign-in, sessions and CSRF, one
tenant's runs only, every text escaped, the timeline and the approvals' decisions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytest.importorskip("fastapi", reason="the API extra is not installed (pip install -e '.[api]')")

from fastapi.testclient import TestClient

from orchestration.api import create_app, create_key
from orchestration.client import Client
from orchestration.config import Settings, load_settings
from orchestration.journal.approvals import list_approvals
from orchestration.journal.tables import RunStatus
from orchestration.runtime import Runtime
from tests.support import drain

SCRIPT = "<script>alert('owned')</script>"


@dataclass
class Console:
    http: TestClient
    client: Client
    key: str

    @property
    def rt(self) -> Runtime:
        return self.client.runtime


def _console(settings: Settings, **changes: object) -> Iterator[Console]:
    app = create_app(load_settings(**{**settings.model_dump(), **changes}))
    client = app.state.chordline.client
    key = create_key(client.runtime.journal, tenant="acme", name="ann").secret
    with TestClient(app, follow_redirects=False) as http:
        yield Console(http, client, key)


@pytest.fixture
def console(sqlite_settings: Settings) -> Iterator[Console]:
    # Content capture on for every run: the page shows texts (redacted), so escaping shows.
    yield from _console(sqlite_settings, trace_content=True, trace_content_sample=1.0)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _signed_in(console: Console) -> str:
    """Sign in through the form; the session's CSRF token, read off a page's form."""
    answer = console.http.post(
        "/console/login",
        content=f"key={console.key}&next=/console/approvals",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/approvals"
    page = console.http.get("/console/runs").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    return token[1]


def _finished(rt: Runtime, agent: str, text: str, tenant: str = "acme") -> str:
    run = rt.create_run(agent, text, tenant=tenant)
    drain(rt, run.id)
    return run.id


def test_a_page_without_a_session_or_key_redirects_to_the_sign_in(console: Console) -> None:
    for path in ("/console/runs", "/console/approvals", "/console/runs/abc"):
        answer = console.http.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/console/login?next={path}"
    form = console.http.get("/console/login?next=/console/runs")
    assert form.status_code == 200 and 'name="key"' in form.text
    # A next that leaves the console is not followed.
    assert 'value="/console/runs"' in console.http.get("/console/login?next=//evil.example").text


def test_a_bearer_key_reads_a_run_page_with_its_steps_drawn_to_scale(console: Console) -> None:
    run_id = _finished(
        console.rt, "toolbox", 'CALL echo {"text": "one"}\nCALL echo {"text": "two"}'
    )
    steps = console.rt.journal.steps(run_id)
    page = console.http.get(f"/console/runs/{run_id}", headers=_bearer(console.key))
    assert page.status_code == 200
    html = page.text
    assert "<h1>toolbox" in html and "succeeded" in html
    for step in steps:
        assert f'id="step-{step.seq}"' in html
        assert f'data-key="step-{step.seq}"' in html
    # The two echoes of one turn are drawn on one axis, each inside the run's span.
    rows = re.findall(
        r'data-key="step-(\d+)" data-kind="(\w+)" data-turn="(\d+)" '
        r'data-start="([\d.]+)" data-end="([\d.]+)"',
        html,
    )
    tools = [r for r in rows if r[1] == "tool"]
    assert len(tools) == 2 and tools[0][2] == tools[1][2]
    assert all(0 <= float(start) <= float(end) <= 1000 for *_, start, end in rows)
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_script_in_an_input_or_a_tool_result_is_shown_as_text(console: Console) -> None:
    run_id = _finished(console.rt, "toolbox", f'CALL echo {{"text": "{SCRIPT}"}}')
    html = console.http.get(f"/console/runs/{run_id}", headers=_bearer(console.key)).text
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html
    listing = console.http.get("/console/runs", headers=_bearer(console.key)).text
    assert SCRIPT not in listing and "&lt;script&gt;" in listing


def test_without_content_capture_texts_show_as_sizes_and_hashes(
    sqlite_settings: Settings,
) -> None:
    console = next(_console(sqlite_settings, trace_content=False))
    run_id = _finished(console.rt, "toolbox", 'CALL echo {"text": "a secret plan"}')
    html = console.http.get(f"/console/runs/{run_id}", headers=_bearer(console.key)).text
    assert "content capture is off" in html
    result = re.search(r"<h3>result</h3>\s*<pre class=\"text\">([^<]+)</pre>", html)
    assert result is not None and re.fullmatch(r"\d+ bytes, sha256 [0-9a-f]{16}", result[1])


def test_another_tenants_run_answers_404_and_is_never_listed(console: Console) -> None:
    theirs = _finished(console.rt, "toolbox", 'CALL echo {"text": "theirs"}', tenant="globex")
    ours = _finished(console.rt, "toolbox", 'CALL echo {"text": "ours"}')
    assert (
        console.http.get(f"/console/runs/{theirs}", headers=_bearer(console.key)).status_code == 404
    )
    listing = console.http.get("/console/runs", headers=_bearer(console.key)).text
    assert ours in listing and theirs not in listing


def test_the_runs_page_filters_and_pages(console: Console) -> None:
    made = [_finished(console.rt, "toolbox", f'CALL echo {{"text": "n{i}"}}') for i in range(3)]
    stopped = console.rt.create_run("toolbox", 'CALL echo {"text": "x"}', tenant="acme")
    assert console.client.cancel(stopped.id, reason="test", tenant="acme")
    auth = _bearer(console.key)

    def listed(query: str) -> set[str]:
        html = console.http.get(f"/console/runs?{query}", headers=auth).text
        return set(re.findall(r'data-run="([^"]+)"', html))

    assert listed("q=n1") == {made[1]}
    assert listed("status=cancelled") == {stopped.id}
    assert listed("agent=toolbox&since=1h") == {*made, stopped.id}
    assert listed("agent=nobody") == set()
    bad = console.http.get("/console/runs?since=soon", headers=auth)
    assert bad.status_code == 200 and "is not a duration" in bad.text


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(console: Console) -> None:
    answer = console.http.post(
        "/console/login",
        content=f"key={console.key}&next=/console/runs",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert console.key not in answer.headers["set-cookie"]
    assert console.http.get("/console/runs").status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', console.http.get("/console/runs").text)
    assert token is not None
    refused = console.http.post(
        "/console/logout",
        content="csrf=wrong",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 403
    out = console.http.post(
        "/console/logout",
        content=f"csrf={token[1]}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert out.status_code == 303
    assert console.http.get("/console/runs").status_code == 303
    wrong = console.http.post(
        "/console/login",
        content="key=chl_nope_nope&next=/console/runs",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text


def test_an_approval_is_decided_from_the_page_with_the_session_token(console: Console) -> None:
    run = console.rt.create_run(
        "gatekeeper", 'CALL guarded_effect {"label": "first"}', tenant="acme"
    )
    drain(console.rt, run.id)
    assert console.rt.journal.get_run(run.id).status == RunStatus.WAITING_FOR_APPROVAL
    (pending,) = list_approvals(console.rt.journal, tenant="acme", state="pending")
    token = _signed_in(console)
    page = console.http.get("/console/approvals").text
    assert f'id="{pending.id}"' in page and "guarded_effect" in page
    form = {"content-type": "application/x-www-form-urlencoded"}

    forged = console.http.post(
        f"/console/approvals/{pending.id}", content="decision=approve", headers=form
    )
    assert forged.status_code == 403
    not_json = console.http.post(
        f"/console/approvals/{pending.id}",
        content=f"csrf={token}&decision=approve&arguments=%7Bnope&original=x",
        headers=form,
    )
    assert not_json.status_code == 422 and "not JSON" in not_json.text
    refused = console.http.post(
        f"/console/approvals/{pending.id}",
        content=f"csrf={token}&decision=approve&arguments=%7B%22label%22%3A+5%7D&original=x",
        headers=form,
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    (still,) = list_approvals(console.rt.journal, tenant="acme", state="pending")
    assert still.id == pending.id

    done = console.http.post(
        f"/console/approvals/{pending.id}",
        content=f"csrf={token}&decision=approve&reason=looks+fine",
        headers=form,
    )
    assert done.status_code == 303
    (decided,) = list_approvals(console.rt.journal, tenant="acme", state="approved")
    assert decided.decision is not None
    assert (decided.decision.reviewer, decided.decision.reason) == ("ann", "looks fine")
    after = console.http.get("/console/approvals").text
    assert f'id="decided-{pending.id}"' in after and "Nothing is waiting" in after


def test_a_workflow_page_draws_its_child_runs_on_one_axis_with_links(
    sqlite_settings: Settings,
) -> None:
    from orchestration.workflows import advance, load_workflows, start_workflow, workflow_dirs
    from tests.support import ROOT

    dirs = f"{ROOT / 'workflows'}"
    console = next(_console(sqlite_settings, workflows_dir=dirs))
    flows = load_workflows(workflow_dirs(dirs))
    parent_id = start_workflow(
        console.rt, flows.get("ticket-triage"), "Our API is down, customers cannot log in"
    )
    for _ in range(10):
        moved = advance(console.rt, flows, parent_id)
        for child in moved.started:
            drain(console.rt, child)
        if console.rt.journal.get_run(parent_id).status.terminal:
            break
    parent = console.rt.journal.get_run(parent_id)
    assert parent.status == RunStatus.SUCCEEDED
    key = create_key(console.rt.journal, tenant=parent.tenant, name="wf").secret
    html = console.http.get(f"/console/runs/{parent_id}", headers=_bearer(key)).text
    children = re.findall(r'data-key="child-([^"]+)" data-kind="run"', html)
    assert len(children) == 4  # three analyses, then the synthesis
    for child in children:
        assert f'href="/console/runs/{child}"' in html
    page = console.http.get(f"/console/runs/{children[0]}", headers=_bearer(key)).text
    assert f'href="/console/runs/{parent_id}">workflow' in page


def test_feedback_from_the_run_page_is_stored_with_who_gave_it(console: Console) -> None:
    from orchestration.feedback import feedback_of

    run_id = _finished(console.rt, "toolbox", 'CALL echo {"text": "hi"}')
    token = _signed_in(console)
    form = {"content-type": "application/x-www-form-urlencoded"}
    first = console.http.post(
        f"/console/runs/{run_id}/feedback",
        content=f"csrf={token}&score=down&comment=wrong+order",
        headers=form,
    )
    assert first.status_code == 303
    again = console.http.post(
        f"/console/runs/{run_id}/feedback", content=f"csrf={token}&score=up", headers=form
    )
    assert again.status_code == 303
    (given,) = feedback_of(console.rt.journal, run_id)
    assert (given.giver, given.score, given.comment) == ("ann", 1.0, None)
    page = console.http.get(f"/console/runs/{run_id}").text
    assert 'data-giver="ann"' in page and "1 up · 0 down" in page
    bad = console.http.post(
        f"/console/runs/{run_id}/feedback", content=f"csrf={token}&score=maybe", headers=form
    )
    assert bad.status_code == 422 and "choose thumbs up or down" in bad.text


def test_a_read_key_sees_but_cannot_decide_or_give_feedback(console: Console) -> None:
    run = console.rt.create_run("gatekeeper", 'CALL guarded_effect {"label": "r"}', tenant="acme")
    drain(console.rt, run.id)
    (pending,) = list_approvals(console.rt.journal, tenant="acme", state="pending")
    reader = create_key(console.rt.journal, tenant="acme", name="rita", scopes=["read"]).secret
    auth = _bearer(reader)
    page = console.http.get("/console/approvals", headers=auth)
    assert page.status_code == 200 and "lacks the <code>approve</code> scope" in page.text
    assert f'action="/console/approvals/{pending.id}"' not in page.text
    decided = console.http.post(
        f"/console/approvals/{pending.id}",
        content="decision=approve",
        headers={**auth, "content-type": "application/x-www-form-urlencoded"},
    )
    assert decided.status_code == 403 and "`approve` scope" in decided.text
    feedback = console.http.post(
        f"/console/runs/{run.id}/feedback",
        content="score=up",
        headers={**auth, "content-type": "application/x-www-form-urlencoded"},
    )
    assert feedback.status_code == 403
    (still,) = list_approvals(console.rt.journal, tenant="acme", state="pending")
    assert still.id == pending.id
    submitter = create_key(console.rt.journal, tenant="acme", name="sam", scopes=["submit"])
    refused = console.http.get("/console/runs", headers=_bearer(submitter.secret))
    assert refused.status_code == 403 and "`read` scope" in refused.text


def test_the_operators_admin_key_sees_every_tenant(console: Console) -> None:
    ours = _finished(console.rt, "toolbox", 'CALL echo {"text": "ours"}')
    theirs = _finished(console.rt, "toolbox", 'CALL echo {"text": "theirs"}', tenant="globex")
    operator = create_key(console.rt.journal, tenant="*", name="ops", scopes=["admin"]).secret
    listing = console.http.get("/console/runs", headers=_bearer(operator)).text
    assert ours in listing and theirs in listing and "every tenant" in listing
    narrowed = console.http.get("/console/runs?tenant=globex", headers=_bearer(operator)).text
    assert theirs in narrowed and ours not in narrowed
    page = console.http.get(f"/console/runs/{theirs}", headers=_bearer(operator))
    assert page.status_code == 200
    # A tenant's key cannot widen its view with the same filter.
    mine = console.http.get("/console/runs?tenant=globex", headers=_bearer(console.key)).text
    assert theirs not in mine and ours in mine
