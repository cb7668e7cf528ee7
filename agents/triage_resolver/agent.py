"""triage-resolver: part of the ticket-triage workflow."""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="triage-resolver",
    description="Ticket resolution (ticket-triage).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.resolve],
    max_steps=6,
    max_tokens=20_000,
    max_usd="0.10",
)
