"""triage-category: part of the ticket-triage workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="triage-category",
    description="Ticket category (ticket-triage).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.categorise],
    max_steps=6,
    max_tokens=20_000,
    max_usd="0.10",
)
