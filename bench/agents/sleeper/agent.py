"""A benchmark agent: one read-only tool that sleeps for as long as it is told.

Its model is the scripted one, so ``CALL nap {"seconds": 0.5}`` lines in one paragraph are one
turn's calls (the fan-out benchmark sends ten of them; the recovery benchmark sends one).
"""

import time
from pathlib import Path

from pydantic import BaseModel, Field

from orchestration import Agent, ToolContext, tool


class Nap(BaseModel):
    seconds: float = Field(0.5, ge=0, le=60)


@tool(read_only=True, timeout_s=120)
def nap(args: Nap, ctx: ToolContext) -> dict[str, float]:
    """Sleep, change nothing, return how long."""
    time.sleep(args.seconds)
    return {"slept": args.seconds}


agent = Agent.from_files(
    name="sleeper",
    description="Naps on request (fan-out and recovery benchmarks).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[nap],
    max_steps=100,
)
