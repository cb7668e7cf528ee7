"""Report writer: stage 3 of the research-pipeline workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="report-writer",
    description="Write an analysis up (research-pipeline).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.draft],
    max_steps=6,
    max_tokens=30_000,
    max_usd="0.20",
)
