"""Category: billing, technical, account or other, by the ticket's vocabulary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool

_CATEGORIES = (
    ("billing", ("refund", "invoice", "charge", "charged", "payment", "price", "bill")),
    ("technical", ("error", "crash", "down", "outage", "bug", "slow", "api", "server")),
    ("account", ("password", "login", "log in", "account", "email", "2fa")),
)


class Ticket(BaseModel):
    text: str = Field(..., description="the ticket")


@tool(read_only=True, timeout_s=10)
def categorise(args: Ticket, ctx: ToolContext) -> dict[str, Any]:
    """Put the ticket in one category: billing, technical, account or other."""
    text = args.text.lower()
    scores = [(sum(word in text for word in words), name) for name, words in _CATEGORIES]
    score, name = max(scores)
    category = name if score else "other"
    return {"summary": f"category {category}", "category": category}
