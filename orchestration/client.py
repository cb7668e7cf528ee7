"""The Python client: submit runs, wait for them, read them back, decide approvals."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestration import canvas
from orchestration.config import Settings, current_settings
from orchestration.errors import ChordlineError
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunStatus
from orchestration.reducer.loop import decide
from orchestration.runtime import Limits, Runtime

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["Client", "RunView", "WaitTimeout"]


class WaitTimeout(ChordlineError):
    """A run did not settle within the time the caller gave it."""


@dataclass(frozen=True)
class RunView:
    """A run with its steps, as ``chordline status`` shows it."""

    run: RunRecord
    steps: tuple[StepRecord, ...]


class Client:
    """Talks to the journal directly and to the broker through Celery.

    Args:
        settings: the settings to use; the environment's by default.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or current_settings()
        self.runtime = Runtime.open(self.settings)
        journal = self.runtime.journal
        journal.ping()
        # A SQLite journal is a developer's own file: bring it up to date. A shared database
        # is migrated by the one-off `chordline db upgrade`, never by whoever starts first.
        journal.ensure_schema(upgrade=journal.engine.dialect.name == "sqlite")
        self._app: Celery | None = None

    @property
    def app(self) -> Celery:
        """A Celery app configured like the workers' (built on first use)."""
        if self._app is None:
            self._app = canvas.producer(self.settings)
        return self._app

    def ping_broker(self) -> None:
        """Check the broker answers.

        Raises:
            BackendUnreachable: naming the broker (password masked) and the fix.
        """
        canvas.ping_broker(self.app, self.settings.broker_url)

    def submit(
        self,
        agent: str,
        text: str,
        *,
        tenant: str | None = None,
        limits: Limits | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Journal a run and enqueue its first turn.

        Raises:
            AgentNotFound: no such agent.
            BackendUnreachable: the broker is down (nothing is journaled then).
        """
        self.runtime.registry.get(agent)
        self.ping_broker()
        run = self.runtime.create_run(agent, text, tenant=tenant, limits=limits, run_id=run_id)
        canvas.start_run(self.app, run.id, run.agent)
        return run

    def get(self, run_id: str, tenant: str | None = None) -> RunView:
        """A run and its steps."""
        run = self.runtime.journal.get_run(run_id, tenant)
        return RunView(run, tuple(self.runtime.journal.steps(run_id)))

    def wait(
        self,
        run_id: str,
        timeout_s: float = 120.0,
        *,
        poll_s: float = 0.05,
        on_poll: Callable[[RunRecord], None] | None = None,
        sweep_every_s: float | None = None,
    ) -> RunRecord:
        """Poll the journal until the run ends or waits for a person.

        Args:
            run_id: the run.
            timeout_s: how long to wait.
            poll_s: seconds between reads of the journal.
            on_poll: called with the run after each read (progress display).
            sweep_every_s: when set, also re-drive stuck runs this often (used by ``demo``,
                where no Beat runs the sweeper).

        Raises:
            WaitTimeout: the run did not settle in time.
        """
        deadline = time.monotonic() + timeout_s
        next_sweep = time.monotonic() + (sweep_every_s or 0)
        while True:
            run = self.runtime.journal.get_run(run_id)
            if on_poll is not None:
                on_poll(run)
            if run.status.terminal or run.status == RunStatus.WAITING_FOR_APPROVAL:
                return run
            now = time.monotonic()
            if now > deadline:
                raise WaitTimeout(
                    f"run {run_id} is still {run.status.value} after {timeout_s:g}s. "
                    f"Fix: check workers are running (`chordline worker`), then "
                    f"`chordline status {run_id}`."
                )
            if sweep_every_s is not None and now >= next_sweep:
                self.sweep()
                next_sweep = now + sweep_every_s
            time.sleep(poll_s)

    def cancel(self, run_id: str, *, reason: str = "", tenant: str | None = None) -> bool:
        """Stop a run: steps not yet started are skipped; one in flight finishes but nothing
        follows it. False when the run had already ended.

        Raises:
            RunNotFound: no such run for that tenant.
        """
        run = self.runtime.journal.get_run(run_id, tenant)
        return self.runtime.journal.finish_run(
            run.id, RunStatus.CANCELLED, error=f"cancelled: {reason}" if reason else "cancelled"
        )

    def sweep(self) -> list[str]:
        """Re-drive stuck runs now; returns their ids."""
        return canvas.redrive_stuck(self.app, self.runtime)

    def decide(
        self,
        run_id: str,
        *,
        approved: bool,
        reviewer: str,
        reason: str = "",
        arguments: str | None = None,
        seq: int | None = None,
        tenant: str | None = None,
    ) -> None:
        """Approve or reject a waiting tool call (the first waiting one unless ``seq``).

        Raises:
            ApprovalError: nothing waits for a decision.
        """
        if seq is None:
            waiting = self.runtime.journal.waiting_approvals(run_id)
            seq = waiting[0].seq if waiting else 0
        plan = decide(
            self.runtime,
            run_id,
            seq,
            approved=approved,
            reviewer=reviewer,
            reason=reason,
            arguments=arguments,
            tenant=tenant,
        )
        if plan is not None and not plan.empty:
            canvas.dispatch(self.app, plan)
