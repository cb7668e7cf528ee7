"""Fine-tuning jobs: submit through the OpenAI SDK, follow by repeated checks, record candidates.

Nothing here waits: :func:`check_job` looks once and says whether to look again; the admin task
that calls it schedules the next check with a countdown. A finished job's model is recorded as a
*candidate* for its agent. Chordline never changes an agent's pin: a person evaluates the
candidate (``chordline eval run AGENT --model CANDIDATE``) and edits the pin in ``agent.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.config import KnowledgeSettings, LlmSettings
from orchestration.errors import KnowledgeError
from orchestration.journal import Journal
from orchestration.journal.tables import utcnow
from orchestration.knowledge import store
from orchestration.knowledge.store import Candidate, candidates

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["Candidate", "JobCheck", "candidates", "check_job", "submit_job"]

_DONE = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class JobCheck:
    """What one check of a job found.

    Attributes:
        job_id: the provider's job id.
        agent: the agent it trains for.
        status: the provider's status (``validating_files``, ``queued``, ``running``,
            ``succeeded``, ``failed``, ``cancelled``).
        checks: checks made so far, this one included.
        model: the fine-tuned model, once succeeded.
        again: True when the job is still going and should be checked again.
        stale: True when another check got there first (a duplicate delivery): stop this chain.
    """

    job_id: str
    agent: str
    status: str
    checks: int
    model: str | None
    again: bool
    stale: bool = False


def _client(settings: LlmSettings) -> OpenAI:
    from openai import OpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return OpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        max_retries=2,
        timeout=settings.llm_timeout_seconds,
    )


def _failed(action: str, exc: Exception) -> KnowledgeError:
    return KnowledgeError(
        f"{action} failed ({type(exc).__name__}: {exc}). Fix: check CHORDLINE_OPENAI_API_KEY, "
        "CHORDLINE_OPENAI_BASE_URL and CHORDLINE_FINETUNE_BASE_MODEL."
    )


def submit_job(
    settings: KnowledgeSettings,
    llm: LlmSettings,
    journal: Journal,
    agent: str,
    *,
    path: Path,
    examples: int,
) -> JobCheck:
    """Upload ``path`` with ``llm``'s key and create a fine-tuning job of ``settings``' base
    model on it; record the job.

    Raises:
        KnowledgeError: the upload or the job creation was refused (with the provider's reason).
    """
    import openai

    client = _client(llm)
    try:
        with path.open("rb") as handle:
            uploaded = client.files.create(file=handle, purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            model=settings.finetune_base_model, training_file=uploaded.id, suffix=agent[:18]
        )
    except openai.APIError as exc:
        raise _failed(f"fine-tuning {agent}", exc) from None
    store.insert_job(
        journal,
        job_id=job.id,
        agent=agent,
        base_model=settings.finetune_base_model,
        training_file=uploaded.id,
        examples=examples,
        status=job.status,
        now=utcnow(),
    )
    return JobCheck(job.id, agent, str(job.status), 0, None, again=job.status not in _DONE)


def check_job(
    settings: LlmSettings, journal: Journal, job_id: str, expected_checks: int
) -> JobCheck:
    """Look at a job once; record a finished job's model as a candidate.

    Args:
        settings: the OpenAI key and base URL.
        journal: where the job and candidates are recorded.
        job_id: the provider's job id.
        expected_checks: the checks recorded before this one; a different count means another
            check already ran (a redelivered message), and this chain stops.

    Raises:
        KnowledgeError: the job is unknown here or the provider refused the request.
    """
    import openai

    row = store.find_job(journal, job_id)
    if row is None:
        raise KnowledgeError(f"no fine-tuning job {job_id} was submitted from here")
    if row.checks != expected_checks or row.status in _DONE:
        return JobCheck(
            job_id, row.agent, row.status, row.checks, row.fine_tuned_model, again=False, stale=True
        )
    try:
        job = _client(settings).fine_tuning.jobs.retrieve(job_id)
    except openai.APIError as exc:
        raise _failed(f"checking fine-tuning job {job_id}", exc) from None
    status, model = str(job.status), job.fine_tuned_model
    error = getattr(job.error, "message", None) if job.error else None
    moved = store.record_check(
        journal, row, expected_checks=expected_checks, status=status, model=model, error=error
    )
    if not moved:
        return JobCheck(job_id, row.agent, status, expected_checks, model, again=False, stale=True)
    return JobCheck(
        job_id, row.agent, status, expected_checks + 1, model, again=status not in _DONE
    )
