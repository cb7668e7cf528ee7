"""The Python client: submit runs, wait for them, read them back, decide approvals, give
feedback."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestration import canvas
from orchestration.bootstrap import open_runtime
from orchestration.config import Settings, current_settings
from orchestration.errors import ApprovalNotFound, ChordlineError, WorkflowError
from orchestration.feedback import FeedbackRecord, give_feedback
from orchestration.journal.approvals import (
    ApprovalDecision,
    Decided,
    approval_id,
    list_approvals,
)
from orchestration.journal.records import RunRecord, StepRecord
from orchestration.journal.tables import RunKind, RunStatus
from orchestration.memory.sessions import check_session
from orchestration.reducer.loop import decide_approval
from orchestration.runtime import Limits
from orchestration.workflows import (
    WorkflowRegistry,
    load_workflows,
    start_workflow,
    stuck_workflows,
    workflow_dirs,
)
from orchestration.workflows import store as workflow_store

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["Client", "RunView", "WaitTimeout"]

log = logging.getLogger("chordline.client")


class WaitTimeout(ChordlineError):
    """A run did not settle within the time the caller gave it."""


@dataclass(frozen=True)
class RunView:
    """A run with its steps, as ``chordline status`` shows it."""

    run: RunRecord
    steps: tuple[StepRecord, ...]
    children: tuple[RunRecord, ...] = ()


class Client:
    """Talks to the journal directly and to the broker through Celery.

    Args:
        settings: the settings to use; the environment's by default.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or current_settings()
        self.runtime = open_runtime(self.settings)
        self.runtime.journal.attach()
        self._app: Celery | None = None

    @property
    def app(self) -> Celery:
        """A Celery app configured like the workers' (built on first use)."""
        if self._app is None:
            self._app = canvas.producer(self.settings)
        return self._app

    @property
    def workflows(self) -> WorkflowRegistry:
        """The workflows in ``CHORDLINE_WORKFLOWS_DIR``."""
        return load_workflows(workflow_dirs(self.settings.workflows_dir))

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
        session: str | None = None,
    ) -> RunRecord:
        """Journal a run of an agent, or of a workflow, and enqueue its first move.

        Args:
            agent: an agent's or a workflow's name.
            text: the input.
            tenant: whose run it is (the default tenant when None).
            limits: budget overrides (a workflow's apply to all its agent runs together).
            run_id: an id of the caller's (idempotent).
            session: the session the run belongs to (its memory).

        Raises:
            AgentNotFound: no such agent (or a workflow's stage names none).
            BackendUnreachable: the broker is down (nothing is journaled then).
            MemoryStoreError: the session name does not fit (naming the fix).
            WorkflowError: the name is both an agent's and a workflow's.
        """
        check_session(session)
        if agent in self.workflows:
            if agent in self.runtime.registry.names():
                raise WorkflowError(
                    f"{agent!r} names both an agent and a workflow. Fix: rename one of them "
                    "(the workflow's `name=` in workflows/, or the agent's in agents/)."
                )
            workflow = self.workflows.get(agent)
            self.ping_broker()
            parent_id = start_workflow(
                self.runtime,
                workflow,
                text,
                tenant=tenant,
                limits=limits,
                run_id=run_id,
                session=session,
            )
            canvas.advance_workflow(self.app, parent_id)
            return self.runtime.journal.get_run(parent_id)
        self.runtime.registry.get(agent)
        self.ping_broker()
        run = self.runtime.create_run(
            agent, text, tenant=tenant, limits=limits, run_id=run_id, session=session
        )
        canvas.start_run(self.app, run.id, run.agent)
        return run

    def get(self, run_id: str, tenant: str | None = None) -> RunView:
        """A run and its steps."""
        run = self.runtime.journal.get_run(run_id, tenant)
        kids: tuple[RunRecord, ...] = ()
        if run.kind == RunKind.WORKFLOW:
            kids = tuple(workflow_store.child_runs(self.runtime.journal, run_id))
        return RunView(run, tuple(self.runtime.journal.steps(run_id)), kids)

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
        why = f"cancelled: {reason}" if reason else "cancelled"
        ended = self.runtime.journal.finish_run(run.id, RunStatus.CANCELLED, error=why)
        if run.kind == RunKind.WORKFLOW:
            # Children first seen live are cancelled too; their steps in flight finish, nothing
            # follows them (the same rule as one run's).
            workflow_store.cancel_children(self.runtime.journal, run.id, why)
        return ended

    def give_feedback(
        self,
        run_id: str,
        score: float,
        *,
        giver: str,
        comment: str | None = None,
        labels: Iterable[str] = (),
        tenant: str | None = None,
    ) -> FeedbackRecord:
        """Record ``giver``'s feedback on a run; their later feedback replaces this one.

        Args:
            run_id: the run.
            score: 1 (up), -1 (down) or a grade from 0 to 1.
            giver: who gives it (the HTTP API records the key's name).
            comment: what they want to say.
            labels: short tags such as ``wrong-tool``.
            tenant: the tenant the run must belong to (None: any).

        Raises:
            RunNotFound: no such run for that tenant.
            FeedbackError: the score, comment or labels are invalid, naming the fix.
        """
        return give_feedback(
            self.runtime.journal,
            run_id,
            tenant=tenant,
            giver=giver,
            score=score,
            comment=comment,
            labels=labels,
        )

    def sweep(self) -> list[str]:
        """Re-drive stuck runs and workflows now; returns their ids."""
        redriven = canvas.redrive_stuck(self.app, self.runtime)
        for parent_id in stuck_workflows(self.runtime):
            canvas.advance_workflow(self.app, parent_id, recovery=True)
            redriven.append(parent_id)
        return redriven

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
    ) -> Decided:
        """Approve or reject a waiting tool call of a run (the first waiting one unless ``seq``).

        Raises:
            ApprovalNotFound: the run has no approval waiting.
            ApprovalConflict: the approval was decided already, or the run has ended.
        """
        if seq is None:
            seq = self._first_open_approval(run_id, tenant)
        verdict = ApprovalDecision(
            approved=approved, reviewer=reviewer, reason=reason, arguments=arguments
        )
        return self.decide_approval(approval_id(run_id, seq), verdict, tenant=tenant)

    def _first_open_approval(self, run_id: str, tenant: str | None) -> int:
        """The seq of the run's first waiting approval, or an error that says why there is none."""
        run = self.runtime.journal.get_run(run_id, tenant)
        waiting = list_approvals(self.runtime.journal, tenant=tenant, state=None, run_id=run_id)
        for approval in waiting:
            if approval.state == "pending":
                return approval.seq
        if waiting:
            # Deciding it again explains itself: decided already, or the run has ended.
            return waiting[-1].seq
        raise ApprovalNotFound(
            f"run {run_id} ({run.status.value}) has no approval waiting. Fix: check "
            f"`chordline status {run_id}` or list them with `chordline approvals`."
        )

    def decide_approval(
        self, approval: str, decision: ApprovalDecision, *, tenant: str | None = None
    ) -> Decided:
        """Record a decision on one approval by id; enqueue the run's next steps when it was
        the last one open.

        Raises:
            ApprovalNotFound: no such approval for that tenant.
            ApprovalConflict: decided already (with the first decision), or the run has ended.
            ApprovalError: edited arguments the tool refuses.
        """
        decided, plan = decide_approval(self.runtime, approval, decision, tenant=tenant)
        if plan is not None and not plan.empty:
            try:
                canvas.dispatch(self.app, plan)
            except Exception as exc:  # kombu raises transport-specific errors
                # The decision is journaled: the sweeper enqueues the run's next steps once the
                # broker answers again (a live run with queued work and no activity).
                log.warning(
                    "run %s decided but not enqueued (%s); the sweeper will move it on",
                    decided.approval.run_id,
                    type(exc).__name__,
                )
        return decided
