"""Test agent: the scripted model calls `remember` when the input says "remember"."""

from pathlib import Path

from orchestration import Agent
from orchestration.memory import remember

agent = Agent.from_files(
    name="memo",
    description="Remembers facts for its session.",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[remember],
    max_steps=10,
)
