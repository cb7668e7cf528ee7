"""Analysis: stage 2 of the research-pipeline workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="analysis",
    description="Weigh a research report's findings and sources (research-pipeline stage 2).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.analyse_findings],
    max_steps=6,
    max_tokens=30_000,
    max_usd="0.20",
)
