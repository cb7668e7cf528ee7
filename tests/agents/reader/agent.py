"""A test agent whose tool returns long pages, to fill a model's context window."""

from pathlib import Path

from pydantic import BaseModel

from orchestration import Agent, ToolContext, tool

_PAGE = " ".join(f"word{i % 97}" for i in range(400))


class Page(BaseModel):
    note: str = "next"


@tool(read_only=True, timeout_s=5)
def read_page(args: Page, ctx: ToolContext) -> dict[str, object]:
    """Return the next page of a long document (about 2,500 characters)."""
    return {"seq": ctx.seq, "text": _PAGE}


agent = Agent.from_files(
    name="reader",
    description="Reads long pages (context window tests).",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[read_page],
    max_steps=60,
)
