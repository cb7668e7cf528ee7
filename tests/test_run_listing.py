"""The one run listing (``chordline runs`` by page number, ``GET /v1/runs`` by cursor): one
filter, newest first with ties broken by id, a tenant's listing never holding another's runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from orchestration.errors import RunRequestError
from orchestration.journal import Journal, RunFilter
from orchestration.journal.records import NewRun
from orchestration.journal.tables import Run, RunStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _run(journal: Journal, run_id: str, tenant: str, agent: str, at: datetime) -> None:
    journal.create_run(
        NewRun(
            run_id=run_id,
            tenant=tenant,
            agent=agent,
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
    with journal.engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == run_id).values(created_at=at))


@pytest.fixture
def listed(journal: Journal) -> Journal:
    """Two tenants' runs; three of acme's share one creation instant (ties broken by id)."""
    for n in range(3):
        _run(journal, f"acme-tie-{n}", "acme", "triage", T0)
    for n in range(4):
        _run(journal, f"acme-{n}", "acme", "report", T0 + timedelta(minutes=n + 1))
    for n in range(3):
        _run(journal, f"globex-{n}", "globex", "triage", T0 + timedelta(minutes=n))
    journal.finish_run("acme-1", RunStatus.FAILED, error="boom")
    return journal


def _ids(journal: Journal, where: RunFilter) -> list[str]:
    return [run.id for run in journal.list_runs(where, per_page=100).runs]


def test_newest_first_with_ties_by_id_and_one_tenant_only(listed: Journal) -> None:
    assert _ids(listed, RunFilter(tenant="acme")) == [
        "acme-3",
        "acme-2",
        "acme-1",
        "acme-0",
        "acme-tie-2",
        "acme-tie-1",
        "acme-tie-0",
    ]
    assert all(i.startswith("globex") for i in _ids(listed, RunFilter(tenant="globex")))
    assert len(_ids(listed, RunFilter())) == 10


def test_cursor_pages_and_numbered_pages_hold_the_same_runs(listed: Journal) -> None:
    where = RunFilter(tenant="acme")
    by_cursor: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = listed.list_runs(where, per_page=2, cursor=cursor)
        by_cursor.append([run.id for run in page.runs])
        assert page.total is None  # a cursor page is not counted
        cursor = page.next_cursor
        if cursor is None:
            break
    by_number = []
    for number in range(1, 5):
        page = listed.list_runs(where, per_page=2, page=number, count=True)
        assert (page.page, page.pages, page.total) == (number, 4, 7)
        assert page.has_next == (number < 4)
        by_number.append([run.id for run in page.runs])
    assert by_cursor == by_number
    assert [i for page_ids in by_number for i in page_ids] == _ids(listed, where)
    beyond = listed.list_runs(where, per_page=2, page=5, count=True)
    assert beyond.runs == () and not beyond.has_next


def test_a_cursor_never_crosses_into_another_tenants_runs(listed: Journal) -> None:
    # Globex's newest run is older than acme's newest: acme's cursor must not reach it.
    first = listed.list_runs(RunFilter(tenant="acme"), per_page=1)
    assert first.next_cursor is not None
    rest = listed.list_runs(RunFilter(tenant="acme"), per_page=100, cursor=first.next_cursor)
    assert {run.tenant for run in rest.runs} == {"acme"}
    assert len(rest.runs) == 6 and rest.next_cursor is None


def test_filters_agent_statuses_and_time_bounds(listed: Journal) -> None:
    assert _ids(listed, RunFilter(tenant="acme", agent="triage")) == [
        "acme-tie-2",
        "acme-tie-1",
        "acme-tie-0",
    ]
    assert _ids(listed, RunFilter(statuses=(RunStatus.FAILED,))) == ["acme-1"]
    both = RunFilter(statuses=(RunStatus.FAILED, RunStatus.QUEUED), tenant="acme")
    assert len(_ids(listed, both)) == 7
    # ``since`` (the CLI's) takes the instant itself; ``created_after`` (the API's) does not.
    assert "acme-tie-0" in _ids(listed, RunFilter(tenant="acme", since=T0))
    assert _ids(listed, RunFilter(tenant="acme", created_after=T0)) == [
        "acme-3",
        "acme-2",
        "acme-1",
        "acme-0",
    ]
    before = RunFilter(tenant="acme", created_before=T0 + timedelta(minutes=2))
    assert _ids(listed, before) == ["acme-0", "acme-tie-2", "acme-tie-1", "acme-tie-0"]
    # A time without a zone is UTC.
    naive = RunFilter(tenant="acme", created_after=(T0 + timedelta(minutes=3)).replace(tzinfo=None))
    assert _ids(listed, naive) == ["acme-3"]


def test_a_cursor_no_listing_gave_out_is_refused(listed: Journal) -> None:
    with pytest.raises(RunRequestError) as refused:
        listed.list_runs(RunFilter(tenant="acme"), cursor="not-a-cursor")
    assert refused.value.field == "cursor"
