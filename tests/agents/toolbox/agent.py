"""Test agent: tools that fail, sleep, count raw executions, or need approval.

Its model is the scripted one, so tests script exact calls with ``CALL name {json}`` lines.
"""

from pathlib import Path

from orchestration import Agent

from . import tools

agent = Agent.from_files(
    name="toolbox",
    description="Scripted test calls.",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[
        tools.explode,
        tools.sleep_read,
        tools.slow_timeout,
        tools.record_effect,
        tools.keyed_effect,
        tools.guarded_effect,
        tools.rendezvous,
        tools.odd_text,
        tools.echo,
    ],
    max_steps=40,
)
