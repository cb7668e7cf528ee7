"""`chordline approvals`, `approve ID` and `reject ID --reason`: each approval decided on its own.

``ID`` is an approval id (``<run_id>.<seq>``, from `chordline approvals`), or a run id: the
by-run shorthand decides that run's first waiting approval (``--seq`` picks another).
"""

from __future__ import annotations

import os
import re
from typing import Any

import click
from rich.markup import escape

from orchestration.cli.base import console, main, open_client
from orchestration.cli.tables import Column, fitted

__all__ = ["approvals", "approve", "reject"]

_APPROVAL_ID = re.compile(r"^.+\.\d+$")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print the approvals as JSON")
@click.option("--run", "run_id", default=None, help="only this run's")
@click.option("--tenant", default=None, help="only this tenant's")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "expired", "closed", "any"]),
    default="pending",
    show_default=True,
)
def approvals(as_json: bool, run_id: str | None, tenant: str | None, status: str) -> None:
    """List approvals (by default the tool calls waiting for a person)."""
    from orchestration.journal.approvals import list_approvals

    views = list_approvals(
        open_client().runtime.journal,
        tenant=tenant,
        state=None if status == "any" else status,  # type: ignore[arg-type]
        run_id=run_id,
    )
    if as_json:
        from orchestration.cli.output import echo_json

        listed = [
            {
                "id": view.id,
                "run_id": view.run_id,
                "tenant": view.tenant,
                "tool": view.tool,
                "arguments": view.arguments,
                "status": view.state,
                "decision": view.decision.model_dump(mode="json") if view.decision else None,
                "requested_at": view.requested_at.isoformat(),
            }
            for view in views
        ]
        echo_json({"approvals": listed})
        return
    columns = [
        Column("id"),
        Column("tenant"),
        Column("tool"),
        Column("arguments", prose=True),
        Column("status"),
        Column("requested"),
    ]
    rows = [
        [
            view.id,
            escape(view.tenant),
            escape(view.tool),
            escape(str(view.arguments or "")),
            view.state,
            f"{view.requested_at:%Y-%m-%d %H:%M:%S}",
        ]
        for view in views
    ]
    console.print(fitted(columns, rows, console.width, caption="times in UTC"))


def _decide(target: str, seq: int | None, **how: Any) -> None:
    from orchestration.journal.approvals import ApprovalDecision

    verdict = ApprovalDecision(**how)
    client = open_client()
    if seq is None and _APPROVAL_ID.match(target):
        decided = client.decide_approval(target, verdict)
    else:
        decided = client.decide(target, seq=seq, **verdict.model_dump(exclude={"decided_at"}))
    verb = "approved" if verdict.approved else "rejected"
    approval = decided.approval
    if decided.resumed:
        console.print(f"{verb} {approval.id}; run {approval.run_id} continues")
        return
    left = client.runtime.journal.get_run(approval.run_id)
    console.print(
        f"{verb} {approval.id}; run {approval.run_id} ({left.status.value}) still waits for "
        "its other approvals (`chordline approvals --run "
        f"{approval.run_id}`)"
    )


_reviewer = click.option(
    "--reviewer", default=lambda: os.environ.get("USER", "cli"), show_default="$USER"
)


@main.command()
@click.argument("target", metavar="ID")
@click.option("--seq", type=int, default=None, help="with a run id: the approval step")
@click.option("--reject", "rejected", is_flag=True, help="reject instead (prefer `reject`)")
@click.option("--reason", default="", help="why (the model sees it on a rejection)")
@click.option("--arguments", default=None, help="edited JSON arguments to run instead")
@_reviewer
def approve(
    *,
    target: str,
    seq: int | None,
    rejected: bool,
    reason: str,
    arguments: str | None,
    reviewer: str,
) -> None:
    """Approve the approval ID (or a run's first waiting one, given a run id)."""
    _decide(
        target, seq, approved=not rejected, reviewer=reviewer, reason=reason, arguments=arguments
    )


@main.command()
@click.argument("target", metavar="ID")
@click.option("--reason", required=True, help="why; the model reads it as the call's result")
@click.option("--seq", type=int, default=None, help="with a run id: the approval step")
@_reviewer
def reject(*, target: str, reason: str, seq: int | None, reviewer: str) -> None:
    """Reject the approval ID (or a run's first waiting one, given a run id) with a reason."""
    _decide(target, seq, approved=False, reviewer=reviewer, reason=reason)
