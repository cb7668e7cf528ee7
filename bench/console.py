"""The console's pages: server time of a run page with 500 steps, and of the runs, approvals and
agents pages over a journal holding many runs.

Each page is rendered in this process through the ASGI app (FastAPI's test client: no network,
so the figure is the server's time: queries, view and template). The baseline is the API's JSON
for the same data in the same process (``GET /v1/runs/{id}/steps`` for the run page,
``GET /v1/runs?limit=25`` for the listing), so the ratio is what drawing the page adds.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Table as SqlTable
from sqlalchemy import insert, select, text

from bench.report import Row, Table
from bench.session import Session
from orchestration.api import create_app, create_key
from orchestration.journal.tables import Run, utcnow

__all__ = ["run"]

_TARGET_MS = 1000.0
_REPEATS = 7


def _median_ms(call: Callable[[], object]) -> float:
    call()  # warm: templates compiled, connections open
    times = []
    for _ in range(_REPEATS):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _fill(session: Session, template_id: str, count: int) -> None:
    """Copy one finished run ``count`` times (without its steps), spread over 30 days, so the
    listing pages through a journal of that many runs."""
    table = Run.__table__
    assert isinstance(table, SqlTable)
    with session.journal.engine.connect() as connection:
        query = select(table).where(table.c.id == template_id)
        columns = dict(connection.execute(query).mappings().one())
    now = utcnow()
    batch = []
    for i in range(count):
        at = now - timedelta(seconds=30 * 86400 * i / max(count, 1))
        batch.append(
            {
                **columns,
                "id": str(uuid.uuid4()),
                "input": f"bulk run {i}",
                "created_at": at,
                "updated_at": at,
                "finished_at": at,
                "idempotency_key": None,
            }
        )
        if len(batch) == 2000 or i == count - 1:
            with session.journal.engine.begin() as connection:
                connection.execute(insert(table), batch)
            batch = []
    # The planner's statistics, as autovacuum would refresh them after months of growth (a
    # bulk insert outruns it, and stale counts pick a plan that reads every row of the tenant).
    with session.journal.engine.begin() as connection:
        connection.execute(text("ANALYZE runs"))


def _check(answer: object) -> None:
    status = getattr(answer, "status_code", 0)
    if status != 200:
        raise RuntimeError(f"the page answered {status}: {getattr(answer, 'text', '')[:300]}")


def run(session: Session) -> Table:
    """Measure and return the table."""
    size = session.size
    session.shared_workers()
    ticks = 20 if size.name == "tiny" else 250  # full: a page of 501 steps
    (run_id,) = session.submit("counter", f"tick {ticks} times")
    session.wait([run_id], timeout=120 + ticks)
    steps = len(session.journal.steps(run_id))
    bulk = 500 if size.name == "tiny" else 50_000
    _fill(session, run_id, bulk)
    app = create_app(session.settings)
    key = create_key(session.journal, tenant="default", name="bench").secret
    rows: list[Row] = []
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:

        def page(path: str) -> Callable[[], object]:
            def get() -> object:
                answer = http.get(path)
                _check(answer)
                return answer

            return get

        run_page = _median_ms(page(f"/console/runs/{run_id}"))
        run_json = _median_ms(page(f"/v1/runs/{run_id}/steps"))
        rows.append(
            Row(
                f"run page, {steps} steps (ms)",
                run_page,
                run_json,
                f"< {_TARGET_MS:g} ms",
                run_page < _TARGET_MS,
            )
        )
        listing = _median_ms(page("/console/runs"))
        listing_json = _median_ms(page("/v1/runs?limit=25"))
        rows.append(
            Row(
                f"runs page, 25 of {bulk + 1:,} runs (ms)",
                listing,
                listing_json,
                f"< {_TARGET_MS:g} ms",
                listing < _TARGET_MS,
            )
        )
        filtered = _median_ms(page("/console/runs?agent=counter&since=7d&q=bulk"))
        rows.append(
            Row(
                "runs page, filtered by agent, 7 days and input text (ms)",
                filtered,
                listing_json,
                f"< {_TARGET_MS:g} ms",
                filtered < _TARGET_MS,
            )
        )
        approvals = _median_ms(page("/console/approvals"))
        rows.append(
            Row(
                "approvals page (ms)",
                approvals,
                _median_ms(page("/v1/approvals")),
                f"< {_TARGET_MS:g} ms",
                approvals < _TARGET_MS,
            )
        )
        change = _median_ms(lambda: session.journal.last_change("default"))
        rows.append(Row("live listings' change poll, one query (ms)", change))
    return Table(
        title="10. Console pages: server time (ms)",
        baseline="the API's JSON for the same data, same process",
        rows=rows,
        notes=[
            f"median of {_REPEATS} renders after one warm-up, through the ASGI app in this process "
            f"(no network); the journal holds {bulk:,} more runs of the same tenant spread over "
            "30 days; the run page is one counter run of 501 steps."
        ],
    )
