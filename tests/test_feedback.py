"""Feedback on runs: stored with its giver and time, replaced by the giver's later feedback,
counted for listings, hidden from other tenants, and given over HTTP and from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from orchestration.config import Settings
from orchestration.errors import FeedbackError, RunNotFound
from orchestration.feedback import FeedbackCounts, feedback_counts, feedback_of, give_feedback
from orchestration.journal import Journal
from orchestration.journal.records import NewRun
from orchestration.journal.tables import RunStatus, utcnow
from tests.api_support import cli
from tests.conftest import AGENT_DIRS

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def _run(journal: Journal, run_id: str, tenant: str = "acme") -> str:
    journal.create_run(
        NewRun(
            run_id=run_id,
            tenant=tenant,
            agent="toolbox",
            agent_version="v1",
            prompt_hash="p" * 64,
            model="scripted:planner-1",
            tool_schemas_hash="t" * 64,
            input="hello",
            max_steps=10,
            max_tokens=None,
            max_usd=Decimal("0.5"),
        )
    )
    return run_id


def test_feedback_is_stored_with_its_giver_and_time_and_replaced_by_the_givers_next(
    journal: Journal,
) -> None:
    run_id = _run(journal, "run-1")
    before = utcnow()
    first = give_feedback(
        journal,
        run_id,
        tenant="acme",
        giver="ann",
        score=1,
        comment="spot on",
        labels=["fast", " fast ", "polite"],
    )
    assert (first.run_id, first.tenant, first.giver, first.score) == (run_id, "acme", "ann", 1.0)
    assert first.comment == "spot on" and first.labels == ("fast", "polite")
    assert before <= first.created_at == first.updated_at <= utcnow()
    assert feedback_of(journal, run_id) == [first]

    again = give_feedback(journal, run_id, tenant="acme", giver="ann", score=-1)
    assert (again.score, again.comment, again.labels) == (-1.0, None, ())
    assert again.created_at == first.created_at and again.updated_at >= first.updated_at
    assert feedback_of(journal, run_id) == [again]

    graded = give_feedback(journal, run_id, tenant=None, giver="bob", score=0.8)
    assert [f.giver for f in feedback_of(journal, run_id)] == ["ann", "bob"]
    assert graded.up and not again.up
    quiet = _run(journal, "run-2")
    assert feedback_counts(journal, [run_id, quiet]) == {
        run_id: FeedbackCounts(up=1, down=1),
        quiet: FeedbackCounts(up=0, down=0),
    }


def test_another_tenants_run_and_an_unknown_run_are_not_found(journal: Journal) -> None:
    run_id = _run(journal, "run-1", tenant="acme")
    with pytest.raises(RunNotFound):
        give_feedback(journal, run_id, tenant="globex", giver="gus", score=1)
    with pytest.raises(RunNotFound):
        give_feedback(journal, "no-such-run", tenant=None, giver="gus", score=1)
    assert feedback_of(journal, run_id) == []


@pytest.mark.parametrize("score", [2, -0.5, 1.01, float("nan"), float("inf"), True, "1", None])
def test_a_score_other_than_up_down_or_a_grade_is_refused_naming_the_fix(
    journal: Journal, score: object
) -> None:
    run_id = _run(journal, "run-1")
    with pytest.raises(FeedbackError) as caught:
        give_feedback(journal, run_id, tenant="acme", giver="ann", score=score)  # type: ignore[arg-type]
    assert caught.value.field == "score"
    assert "Fix: send 1 (up), -1 (down) or a grade from 0 to 1" in str(caught.value)
    assert feedback_of(journal, run_id) == []


def test_comments_labels_and_givers_that_cannot_be_kept_are_refused(journal: Journal) -> None:
    run_id = _run(journal, "run-1")

    def refused(**given: object) -> str:
        with pytest.raises(FeedbackError) as caught:
            give_feedback(journal, run_id, tenant="acme", **{"giver": "ann", "score": 1, **given})  # type: ignore[arg-type]
        assert "Fix:" in str(caught.value)
        str(caught.value).encode("utf-8")  # printable anywhere: the bad character is escaped
        return caught.value.field

    assert refused(comment="x" * 4001) == "comment"
    assert refused(comment="a\x00b") == "comment"
    assert refused(comment="\ud800") == "comment"
    assert refused(labels="wrong-tool") == "labels"
    assert refused(labels=["ok", ""]) == "labels"
    assert refused(labels=["x" * 65]) == "labels"
    assert refused(labels=[f"l{i}" for i in range(21)]) == "labels"
    assert refused(giver=" ") == "giver"
    assert feedback_of(journal, run_id) == []


def test_feedback_goes_with_its_run_when_the_cleanup_deletes_it(journal: Journal) -> None:
    run_id = _run(journal, "run-1")
    give_feedback(journal, run_id, tenant="acme", giver="ann", score=1)
    journal.finish_run(run_id, RunStatus.SUCCEEDED, output="done")
    assert journal.delete_ended_before(utcnow() + timedelta(days=1)) == (1, 1)
    assert feedback_of(journal, run_id) == []


# -- HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def http(sqlite_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    """The API as tenant acme's key ``ann``, and a key of tenant globex."""
    # The API is an optional extra: without it this skips locally and fails in CI (conftest).
    pytest.importorskip("fastapi", reason="the API extra is not installed")
    from fastapi.testclient import TestClient

    from orchestration.api import create_app, create_key

    app = create_app(sqlite_settings)
    journal = app.state.chordline.client.runtime.journal
    ann = create_key(journal, tenant="acme", name="ann").secret
    gus = create_key(journal, tenant="globex", name="gus").secret
    with TestClient(app, headers={"Authorization": f"Bearer {ann}"}) as client:
        yield client, gus


def test_feedback_over_http_replaces_the_keys_earlier_one_and_shows_on_the_run(
    http: tuple[TestClient, str],
) -> None:
    http, gus = http
    run_id = http.post("/v1/runs", json={"agent": "toolbox", "input": "hi"}).json()["id"]
    url = f"/v1/runs/{run_id}/feedback"

    first = http.post(url, json={"score": 1, "comment": "good", "labels": ["fast"]})
    assert first.status_code == 201, first.text
    assert (first.json()["giver"], first.json()["score"], first.json()["labels"]) == (
        "ann",
        1.0,
        ["fast"],
    )
    second = http.post(url, json={"score": 0.2})
    assert second.status_code == 200, second.text
    assert second.json()["created_at"] == first.json()["created_at"]
    assert (second.json()["comment"], second.json()["labels"]) == (None, [])

    run = http.get(f"/v1/runs/{run_id}").json()
    assert [(f["giver"], f["score"]) for f in run["feedback"]] == [("ann", 0.2)]
    assert run["feedback_counts"] == {"up": 0, "down": 1}
    (listed,) = http.get("/v1/runs").json()["runs"]
    assert listed["feedback"] is None and listed["feedback_counts"] == {"up": 0, "down": 1}

    other = {"Authorization": f"Bearer {gus}"}
    assert http.post(url, json={"score": 1}, headers=other).status_code == 404
    assert http.post("/v1/runs/no-such-run/feedback", json={"score": 1}).status_code == 404

    for bad in ({"score": 2}, {"score": -0.5}, {"score": "1"}, {"score": True}, {}):
        answer = http.post(url, json=bad)
        detail = answer.json()["detail"]
        assert answer.status_code == 422 and "score" in detail and "Fix:" in detail, (bad, detail)
    nan = http.post(url, content=b'{"score": NaN}', headers={"content-type": "application/json"})
    assert nan.status_code == 422
    extra = http.post(url, json={"score": 1, "giver": "someone-else"})
    assert extra.status_code == 422 and "giver" in extra.json()["detail"]
    assert [f["giver"] for f in http.get(f"/v1/runs/{run_id}").json()["feedback"]] == ["ann"]


# -- CLI ------------------------------------------------------------------------------------


def test_the_cli_gives_feedback_and_status_shows_it(sqlite_settings: Settings) -> None:
    from orchestration.bootstrap import open_runtime

    rt = open_runtime(sqlite_settings)
    rt.journal.ensure_schema(upgrade=True)
    run = rt.create_run("toolbox", "hi", tenant="acme")
    env = {"CHORDLINE_DATA_DIR": str(sqlite_settings.data_dir), "CHORDLINE_AGENTS_DIR": AGENT_DIRS}

    given = cli(
        env,
        "feedback",
        run.id[:8],
        "--up",
        "--comment",
        "nice",
        "--label",
        "fast",
        "--giver",
        "ann",
    )
    assert given.returncode == 0, given.stderr
    assert f"feedback on run {run.id} by ann: up" in given.stdout
    replaced = cli(env, "feedback", run.id, "--score", "0.3", "--giver", "ann", "--json")
    assert replaced.returncode == 0, replaced.stderr
    document = json.loads(replaced.stdout)
    assert (document["giver"], document["score"], document["comment"]) == ("ann", 0.3, None)
    assert document["created_at"] != document["updated_at"]

    shown = json.loads(cli(env, "status", run.id, "--json").stdout)
    assert [(f["giver"], f["score"]) for f in shown["feedback"]] == [("ann", 0.3)]
    table = cli(env, "status", run.id).stdout
    assert "Feedback" in table and "ann" in table and "0.30" in table

    for args, says in (
        (("--score", "2"), "Fix: send 1 (up), -1 (down)"),
        (("--up", "--down"), "exactly one of --up, --down or --score"),
        ((), "exactly one of --up, --down or --score"),
        (("--up", "--tenant", "globex"), f"no run {run.id!r}"),
        # "\udcff" reaches the process as the byte 0xff: a mis-encoded shell argument.
        (("--up", "--comment", "\udcff"), "comment: contains a lone surrogate"),
    ):
        refused = cli(env, "feedback", run.id, *args)
        assert refused.returncode == 2 and says in refused.stderr, (args, refused.stderr)
    assert [f.score for f in feedback_of(rt.journal, run.id)] == [0.3]
