"""Report writing: lays an analysis out as a report with the conclusion first."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool


class Draft(BaseModel):
    text: str = Field(..., description="the analysis to write up")


@tool(read_only=True, timeout_s=10)
def draft(args: Draft, ctx: ToolContext) -> dict[str, Any]:
    """Lay an analysis out as a report: conclusion, evidence, open questions."""
    analysis = ctx.journal.get_run(ctx.run_id).input
    lines = [line.strip() for line in analysis.splitlines() if line.strip()]
    verdict = next((line for line in lines if "Analysis:" in line), lines[0] if lines else "")
    report = "\n".join(
        ["REPORT", f"Conclusion: {verdict.split('Analysis:', 1)[-1].strip()}", "Evidence:"]
        + [f"  {line}" for line in lines[1:8]]
    )
    return {"summary": report}
