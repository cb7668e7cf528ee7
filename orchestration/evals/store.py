"""Storing evals: a row of ``eval_results`` per eval with its JSON and Markdown files, the
``releases`` rows, and the final-state queries of eval cases.

The only module of the evals that speaks SQL (their tables: :mod:`orchestration.evals.tables`).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, desc, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from orchestration.config import EvalSettings
from orchestration.errors import EvalError
from orchestration.evals.report import markdown
from orchestration.evals.results import EvalRecord, Metrics, TrialOutcome
from orchestration.evals.tables import EvalResult, Release
from orchestration.journal import Journal

__all__ = [
    "StateQueryFailed",
    "delete_before",
    "insert_release",
    "latest",
    "mark_regression",
    "output_dir",
    "save",
    "state_rows",
]


class StateQueryFailed(EvalError):
    """A case's final-state query did not run; the message is the database's first line."""


def output_dir(settings: EvalSettings, data_dir: Path) -> Path:
    """Where result files go: ``CHORDLINE_EVAL_OUTPUT_DIR``, else ``<data_dir>/evals``."""
    return settings.eval_output_dir or data_dir / "evals"


def _write(journal: Journal) -> Any:
    # BEGIN IMMEDIATE on SQLite (the journal's write transactions), so writers queue.
    return journal.engine.execution_options(chordline_writes=True).begin()


def save(journal: Journal, record: EvalRecord, directory: Path) -> tuple[Path, Path]:
    """Insert ``record`` and write ``<directory>/<agent>/<time>-<id>.json`` and ``.md``.

    Returns:
        The JSON and Markdown files.
    """
    with _write(journal) as connection:
        connection.execute(
            insert(EvalResult).values(
                id=record.id,
                agent=record.agent,
                agent_version=record.agent_version,
                dataset_hash=record.dataset_hash,
                models=record.models,
                k=record.k,
                tenant=record.tenant,
                admin=record.admin,
                metrics=record.metrics_json(),
                cases={"trials": [t.to_json() for t in record.trials]},
                regression=record.regression,
                created_at=record.created_at,
            )
        )
    folder = directory / record.agent
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{record.created_at.strftime('%Y%m%dT%H%M%SZ')}-{record.id[:8]}"
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(json.dumps(record.to_json(), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(record), encoding="utf-8")
    return json_path, md_path


def _record(row: Any) -> EvalRecord:
    metrics: dict[str, Any] = row.metrics
    return EvalRecord(
        id=row.id,
        agent=row.agent,
        agent_version=row.agent_version,
        dataset_hash=row.dataset_hash,
        models=dict(row.models),
        k=row.k,
        tenant=row.tenant,
        admin=bool(row.admin),
        overall=Metrics.from_json(metrics["overall"]),
        by_category={n: Metrics.from_json(m) for n, m in metrics["by_category"].items()},
        trials=tuple(TrialOutcome.from_json(t) for t in row.cases["trials"]),
        created_at=row.created_at,
        regression=row.regression,
    )


def latest(journal: Journal, agent: str) -> EvalRecord | None:
    """The newest stored eval of ``agent``, or None."""
    query = (
        select(EvalResult)
        .where(EvalResult.agent == agent)
        .order_by(desc(EvalResult.created_at))
        .limit(1)
    )
    with journal.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else _record(row)


def mark_regression(journal: Journal, eval_id: str, regression: str) -> None:
    """Record on a stored eval what regressed against its baseline."""
    with _write(journal) as connection:
        connection.execute(
            update(EvalResult).where(EvalResult.id == eval_id).values(regression=regression)
        )


def delete_before(journal: Journal, cutoff: datetime) -> int:
    """Delete the evals stored before ``cutoff``; returns how many."""
    with _write(journal) as connection:
        result = connection.execute(delete(EvalResult).where(EvalResult.created_at < cutoff))
    return int(result.rowcount or 0)


def insert_release(
    journal: Journal,
    *,
    release_id: str,
    git_commit: str,
    lock_hash: str,
    agents: dict[str, Any],
    created_at: datetime,
) -> None:
    """Insert a release record."""
    with _write(journal) as connection:
        connection.execute(
            insert(Release).values(
                id=release_id,
                git_commit=git_commit[:64],
                lock_hash=lock_hash,
                agents=agents,
                created_at=created_at,
            )
        )


def state_rows(journal: Journal, query: str, params: dict[str, Any]) -> list[list[Any]]:
    """The rows a case's final-state query answers (a dataset's own SQL, run as written).

    Raises:
        StateQueryFailed: the query did not run (bad SQL, a missing table).
    """
    try:
        with journal.engine.connect() as connection:
            return [list(row) for row in connection.execute(text(query), params)]
    except SQLAlchemyError as exc:
        raise StateQueryFailed(str(getattr(exc, "orig", exc)).splitlines()[0]) from None
