"""A trivial agent for long runs: one read-only no-op tool per turn."""

from pathlib import Path

from pydantic import BaseModel

from orchestration import Agent, ToolContext, tool


class Tick(BaseModel):
    note: str = "tick"


@tool(read_only=True, timeout_s=5)
def tick(args: Tick, ctx: ToolContext) -> dict[str, int]:
    """Do nothing and return the step number."""
    return {"seq": ctx.seq}


agent = Agent.from_files(
    name="counter",
    description="Ticks N times (scale tests and benchmarks).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tick],
    max_steps=5000,
)
