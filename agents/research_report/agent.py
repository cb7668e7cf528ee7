"""Research report: several read-only searches in parallel, then a written report."""

from pathlib import Path

from orchestration import Agent
from orchestration.knowledge import KnowledgeBase

from . import tools

stable = Agent.from_files(
    name="research-report",
    description="Search papers, news and team notes in parallel; write a cited report.",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.search_papers, tools.search_news, tools.search_notes],
    max_steps=12,
    max_tokens=60_000,
    max_usd="0.50",
)

# A canary candidate: the same tools and model with a terser prompt. It gets runs only through a
# rollout (`chordline rollout start research-report --variant brief`).
agent = stable.with_variants(
    stable.variant_of("brief", prompt_path=Path(__file__).parent / "prompt_brief.md"),
)

# The corpus's rows (a table, here a JSON file), embedded by `chordline admin run
# rebuild-embeddings`; the searches filter on each row's kind.
knowledge = KnowledgeBase.from_rows(tools.KB_NAME, tools.corpus_documents, origin=str(tools.CORPUS))
