"""triage-resolution: part of the ticket-triage workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="triage-resolution",
    description="Propose a support ticket's resolution (ticket-triage branch).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.propose_resolution],
    max_steps=6,
    max_tokens=20_000,
    max_usd="0.10",
)
