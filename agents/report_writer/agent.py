"""Report writer: stage 3 of the research-pipeline workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="report-writer",
    description="Write an analysis up as a short report (research-pipeline stage 3).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.draft_report],
    max_steps=6,
    max_tokens=30_000,
    max_usd="0.20",
)
