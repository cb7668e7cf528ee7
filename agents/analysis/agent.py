"""Analysis: stage 2 of the research-pipeline workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="analysis",
    description="Weigh a report's findings (research-pipeline).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.analyse],
    max_steps=6,
    max_tokens=30_000,
    max_usd="0.20",
)
