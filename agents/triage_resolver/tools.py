"""Resolution: the next action for the ticket, from what it asks for."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool

_ACTIONS = (
    (("refund", "charged twice", "overcharged"), "refund the charge after checking the order"),
    (("down", "outage", "error", "crash"), "page the on-call engineer and link the incident"),
    (("password", "login", "locked"), "send a password reset link and verify the identity"),
)


class Ticket(BaseModel):
    text: str = Field(..., description="the ticket")


@tool(read_only=True, timeout_s=10)
def resolve(args: Ticket, ctx: ToolContext) -> dict[str, Any]:
    """Propose the next action that resolves the ticket."""
    text = args.text.lower()
    action = next(
        (action for words, action in _ACTIONS if any(w in text for w in words)),
        "answer the customer with the knowledge-base article that fits",
    )
    return {"summary": f"resolution: {action}", "resolution": action}
