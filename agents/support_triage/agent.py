"""Support triage: customer, orders and knowledge base looked up together, then a refund."""

from pathlib import Path

from orchestration import Agent
from orchestration.knowledge import KnowledgeBase

from . import tools

agent = Agent.from_files(
    name="support-triage",
    description="Triage a support request; refunds need approval.",
    directory=Path(__file__).parent,
    model="scripted:planner-1",
    tools=[tools.lookup_customer, tools.lookup_orders, tools.search_kb, tools.issue_refund],
    max_steps=20,
    max_tokens=50_000,
    max_usd="0.50",
)

# The articles under knowledge/, chunked and embedded by `chordline admin run rebuild-embeddings`.
knowledge = KnowledgeBase.from_directory(tools.KB_NAME, Path(__file__).parent / "knowledge")
