"""Chaos-test agent: LLM turns, a read-only fan-out, and a state-modifying charge.

Its model is the scripted one; :func:`tests.chaos.script` writes the calls of each run.
"""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="chaos",
    description="Looks items up together, then charges (the chaos suite's agent).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.lookup, tools.charge],
    max_steps=40,
)
