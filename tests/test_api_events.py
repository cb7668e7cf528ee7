"""The run's event stream as docs/api.md promises it: ids that sort by time, the run's end
last, and a client that reconnects with ``Last-Event-ID`` sent every event after that id again,
starting 10 s earlier. In process on an embedded journal; the run is driven here to its end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The API is an optional extra: without it these tests skip locally and fail in CI (conftest).
pytest.importorskip("fastapi", reason="the API extra is not installed (pip install -e '.[api]')")

from fastapi.testclient import TestClient

from orchestration.api import create_app, create_key
from orchestration.config import Settings
from tests.support import drain

LOOK_BACK_US = 10_000_000  # docs/api.md's 10 s, in the microseconds an id starts with
READ = 'CALL sleep_read {"seconds": 0}'
SCRIPT = f"{READ}\n{READ}\n\n{READ}"  # two calls in one turn, then one more turn


@pytest.fixture
def http(sqlite_settings: Settings) -> Iterator[TestClient]:
    app = create_app(sqlite_settings)
    key = create_key(app.state.chordline.client.runtime.journal, tenant="acme", name="t").secret
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


@pytest.fixture
def ended_run(http: TestClient) -> str:
    """A run of several turns and tool calls, driven to its end in this process."""
    created = http.post("/v1/runs", json={"agent": "toolbox", "input": SCRIPT})
    assert created.status_code == 201, created.text
    run_id: str = created.json()["id"]
    drain(http.app.state.chordline.client.runtime, run_id)
    assert http.get(f"/v1/runs/{run_id}").json()["status"] == "succeeded"
    return run_id


def _events(http: TestClient, run_id: str, last_event_id: str | None = None) -> list[str]:
    """The ``id: event`` of each event the stream sends (it ends with the ended run)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    answer = http.get(f"/v1/runs/{run_id}/events", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    frames = [frame.splitlines() for frame in answer.text.split("\n\n") if frame.strip()]
    return [
        f"{lines[0].removeprefix('id: ')} {lines[1].removeprefix('event: ')}" for lines in frames
    ]


def _at(event: str) -> int:
    """The microseconds an event's id starts with (when it happened)."""
    return int(event.split(".", 1)[0])


def test_event_ids_are_unique_sort_by_time_and_the_run_ends_the_stream(
    http: TestClient, ended_run: str
) -> None:
    seen = _events(http, ended_run)
    assert len(seen) >= 12, seen  # three turns and three calls: created, started, finished
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert [e.split()[1] for e in seen] == ["step"] * (len(seen) - 1) + ["run"]


def test_reconnecting_with_last_event_id_resends_from_10_s_before_it(
    http: TestClient, ended_run: str
) -> None:
    seen = _events(http, ended_run)
    # A moment in the second half that has earlier moments before it.
    k = next(i for i in range(len(seen) // 2, len(seen)) if _at(seen[i - 1]) < _at(seen[i]))

    # A client whose last event came 10 s after that moment is sent everything from that moment
    # on (an event there may have become visible after the client's last), and nothing earlier.
    later = f"{_at(seen[k]) + LOOK_BACK_US:017d}.0000000.0"
    assert _events(http, ended_run, later) == seen[k:]

    # With an id it was sent: everything after it, and all of the 10 s before it again.
    midway = seen[k].split()[0]
    again = _events(http, ended_run, midway)
    assert again == [e for e in seen if _at(e) >= _at(midway) - LOOK_BACK_US]
    assert set(seen[k + 1 :]) <= set(again)

    # An id that is not one of ours: the whole stream.
    assert _events(http, ended_run, "not-an-event-id") == seen
