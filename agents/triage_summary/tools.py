"""Synthesis: reads the triagers' answers from its input and combines them."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool

# A triager's tool outcome, as its answer lists it: "rate_urgency: urgency high (...)".
_OBSERVATION = re.compile(r"^(\w+): (.*)$")


class Combine(BaseModel):
    text: str = Field(..., description="the ticket and the triagers' answers")


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None and line.strip():
            current.append(line.strip(" -"))
    return sections


@tool(read_only=True, timeout_s=10)
def combine(args: Combine, ctx: ToolContext) -> dict[str, Any]:
    """Combine the triagers' answers into one triage, naming any that is missing."""
    # The whole input: the model's argument is cut short, the branches come after the ticket.
    merged = ctx.journal.get_run(ctx.run_id).input
    parts: list[str] = []
    missing: list[str] = []
    for title, lines in _sections(merged).items():
        if any(line.startswith("FAILED") for line in lines):
            missing.append(title)
            continue
        decided = [found.group(2) for found in map(_OBSERVATION.match, lines) if found]
        parts.append(f"{title}: {'; '.join(decided) or 'no answer'}")
    summary = "Triage. " + " | ".join(parts)
    if missing:
        summary += f" | missing: {', '.join(missing)} (failed; triaged without it)"
    return {"summary": summary, "missing": missing}
