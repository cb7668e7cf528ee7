"""Analysis: counts the report's findings and sources and flags claims that rest on one."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool

_SOURCE = re.compile(r"\(([^()]+)\):")


class Findings(BaseModel):
    text: str = Field(..., description="the report to analyse")


@tool(read_only=True, timeout_s=10)
def analyse(args: Findings, ctx: ToolContext) -> dict[str, Any]:
    """Weigh a research report: its findings, their sources, and claims resting on one source."""
    # The whole report, not the model's excerpt of it: the run's input is the report.
    report = ctx.journal.get_run(ctx.run_id).input
    findings = [line.strip(" -") for line in report.splitlines() if line.strip().startswith("-")]
    sources = sorted({match.group(1) for match in _SOURCE.finditer(report)})
    single = [f for f in findings if len(_SOURCE.findall(f)) == 1]
    summary = (
        f"Analysis: {len(findings)} finding(s) from {len(sources)} source(s)"
        f" ({', '.join(sources) or 'none named'}); {len(single)} rest on a single source."
    )
    return {"summary": summary, "findings": findings[:10], "sources": sources}
