"""Fine-tune a model on an agent's good runs: ``chordline admin run finetune --agent A``.

Exports the data, uploads it and creates the job through the OpenAI SDK, then hands the job to
a chain of ``chordline.admin.finetune_follow`` tasks, each scheduled with a countdown of
``CHORDLINE_FINETUNE_POLL_SECONDS``: no worker sleeps while the job trains. The model it makes is
recorded as a candidate for the agent; the agent's pin is never changed here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import click
from rich.console import Console

from admin_jobs.commands import as_json, echo_json, jobs
from admin_jobs.finetune_export import describe, finetune_export
from orchestration import canvas
from orchestration.config import Settings, load_settings
from orchestration.journal import open_journal
from orchestration.knowledge.finetune_data import ExportReport
from orchestration.knowledge.finetune_jobs import JobCheck, candidates, check_job, submit_job

__all__ = ["Started", "follow_finetune", "start_finetune"]


@dataclass(frozen=True)
class Started:
    """A fine-tune started: the data it trains on and the job."""

    export: ExportReport
    job: JobCheck


def start_finetune(settings: Settings, agent: str) -> Started:
    """Export, upload, create the job, and schedule its first check on the admin queue."""
    journal = open_journal(settings.journal_url)
    export = finetune_export(settings, agent)
    job = submit_job(
        settings.knowledge, settings.llm, journal, agent, path=export.path, examples=export.examples
    )
    canvas.schedule_finetune_check(
        canvas.producer(settings), job.job_id, job.checks, settings.finetune_poll_seconds
    )
    return Started(export, job)


def follow_finetune(settings: Settings, job_id: str, checks: int) -> JobCheck:
    """Check a job once; schedule the next check while it runs (the chain of admin tasks)."""
    found = check_job(settings.llm, open_journal(settings.journal_url), job_id, checks)
    if found.again:
        canvas.schedule_finetune_check(
            canvas.producer(settings), job_id, found.checks, settings.finetune_poll_seconds
        )
    return found


@jobs.command("finetune")
@click.option("--agent", required=True, help="the agent to fine-tune a model for")
@as_json
def finetune_command(agent: str, as_json: bool) -> None:
    """Fine-tune on AGENT's good runs; the model becomes a candidate, never the pin."""
    settings = load_settings()
    started = start_finetune(settings, agent)
    if as_json:
        echo_json(dataclasses.asdict(started))
        return
    console = Console()
    console.print(describe(started.export), highlight=False)
    console.print(
        f"job {started.job.job_id}: {started.job.status}; an admin worker checks it every "
        f"{settings.finetune_poll_seconds:g}s and records its model as a candidate for {agent}.",
        highlight=False,
    )
    console.print("The pin stays as it is. To evaluate a candidate:", highlight=False)
    # On a line of its own and never wrapped, so it can be copied whole from any log.
    command = f"CHORDLINE_LLM_PROVIDER=openai:CANDIDATE chordline eval run {agent}"
    console.print(f"  {command}", highlight=False, markup=False, soft_wrap=True)


@jobs.command("finetune-candidates")
@click.option("--agent", default=None, help="only this agent's candidates")
@as_json
def candidates_command(agent: str | None, as_json: bool) -> None:
    """List the fine-tuned models recorded as candidates (none of them is pinned)."""
    found = candidates(open_journal(load_settings().journal_url), agent)
    if as_json:
        echo_json({"candidates": [dataclasses.asdict(c) for c in found]})
        return
    console = Console()
    for candidate in found:
        console.print(f"{candidate.agent}\t{candidate.model}\t{candidate.source}", highlight=False)
    if not found:
        console.print("no candidates yet", highlight=False)
