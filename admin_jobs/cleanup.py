"""The cleanup: finished runs, eval results and cached LLM answers past their retention.

Beat schedules it (``chordline.admin.cleanup`` on the admin queue, at
``CHORDLINE_CLEANUP_CRON``); ``chordline admin run cleanup`` runs it once. Runs that ended more
than ``CHORDLINE_RETENTION_DAYS`` ago go with their steps, and so do eval results stored before
then; cached answers go after ``CHORDLINE_LLM_CACHE_TTL_SECONDS``. Live runs are never touched.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import timedelta

import click

from admin_jobs.commands import as_json, echo_json, jobs
from orchestration.config import Settings, current_settings
from orchestration.evals import store
from orchestration.journal import open_journal
from orchestration.journal.tables import utcnow
from orchestration.reducer.response_cache import purge_expired

__all__ = ["CleanupReport", "cleanup"]

log = logging.getLogger("chordline.admin")


@dataclass(frozen=True)
class CleanupReport:
    """How many rows the cleanup deleted."""

    runs: int
    steps: int
    eval_results: int
    cached_answers: int


def cleanup(settings: Settings) -> CleanupReport:
    """Delete what is past its retention.

    Args:
        settings: retention days, cache TTL and the journal.

    Returns:
        The counts deleted.
    """
    journal = open_journal(settings.journal_url)
    cutoff = utcnow() - timedelta(days=settings.retention_days)
    runs, steps = journal.delete_ended_before(cutoff)
    report = CleanupReport(
        runs=runs,
        steps=steps,
        eval_results=store.delete_before(journal, cutoff),
        cached_answers=purge_expired(journal, settings.llm_cache_ttl_seconds),
    )
    log.info("cleanup: %s", report)
    return report


@jobs.command("cleanup")
@as_json
def cleanup_command(as_json: bool) -> None:
    """Delete runs and eval results past CHORDLINE_RETENTION_DAYS, and expired cached answers."""
    report = cleanup(current_settings())
    if as_json:
        echo_json(dataclasses.asdict(report))
        return
    click.echo(
        f"deleted {report.runs} runs ({report.steps} steps), {report.eval_results} eval "
        f"results, {report.cached_answers} cached answers"
    )
