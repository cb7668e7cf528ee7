"""Test agent: one read-only tool and no patience for failed turns (``max_tool_errors=1``)."""

from pathlib import Path

from pydantic import BaseModel, Field

from orchestration import Agent, ToolContext, tool


class Sleep(BaseModel):
    seconds: float = Field(ge=0, le=5)


@tool(read_only=True, timeout_s=10)
def sleep_read(args: Sleep, ctx: ToolContext) -> dict[str, float]:
    """Return at once with the seconds asked for."""
    return {"slept": args.seconds}


agent = Agent.from_files(
    name="strict-toolbox",
    description="Fails a run after one turn whose tool calls all failed.",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[sleep_read],
    max_steps=10,
    max_tool_errors=1,
)
