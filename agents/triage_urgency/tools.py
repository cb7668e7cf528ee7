"""Urgency: high for outages, security and deadlines; medium for errors; else low."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool

_HIGH = re.compile(r"\b(down|outage|urgent|asap|immediately|security|breach|data loss|deadline)")
_MEDIUM = re.compile(r"\b(error|broken|cannot|can't|fail|crash|wrong|refund)")


class Ticket(BaseModel):
    text: str = Field(..., description="the ticket")


@tool(read_only=True, timeout_s=10)
def rate_urgency(args: Ticket, ctx: ToolContext) -> dict[str, Any]:
    """Rate the ticket's urgency: high, medium or low, with the words that decided it."""
    text = args.text.lower()
    for level, rule in (("high", _HIGH), ("medium", _MEDIUM)):
        found = rule.search(text)
        if found:
            return {"summary": f"urgency {level} (mentions {found.group(1)!r})", "urgency": level}
    return {"summary": "urgency low (no sign of an outage or an error)", "urgency": "low"}
