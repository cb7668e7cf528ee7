"""Test agent: approval-requiring tools with approval timeouts and edit rules.

Its model is the scripted one, so tests script exact calls with ``CALL name {json}`` lines.
"""

from pathlib import Path

from orchestration import Agent, ToolContext, tool
from tests.agents.toolbox.tools import Label, _record, guarded_effect, sleep_read


@tool(requires_approval=True, timeout_s=10, approval_timeout_s=0.5, approval_timeout="reject")
def hasty_effect(args: Label, ctx: ToolContext) -> dict[str, object]:
    """Insert a keyed row after approval; rejected when nobody decides within 0.5 s."""
    return _record(args, ctx, ctx.idempotency_key)


@tool(
    requires_approval=True,
    timeout_s=10,
    approval_timeout_s=0.5,
    approval_timeout="fail",
    allow_edits=False,
)
def strict_effect(args: Label, ctx: ToolContext) -> dict[str, object]:
    """Insert a keyed row after approval as asked (no edits); the run fails when nobody decides
    within 0.5 s."""
    return _record(args, ctx, ctx.idempotency_key)


agent = Agent.from_files(
    name="gatekeeper",
    description="Scripted calls that wait for approval, some with timeouts.",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[guarded_effect, hasty_effect, strict_effect, sleep_read],
    max_steps=20,
)
