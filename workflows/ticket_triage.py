"""ticket-triage: urgency, category and resolution decided at once, then one synthesis."""

from orchestration.workflows import Workflow, agent, parallel

workflow = Workflow(
    name="ticket-triage",
    description="Urgency, category and resolution in parallel, then a synthesis.",
    root=parallel(
        agent("triage-urgency", label="urgency"),
        agent("triage-category", label="category"),
        # A ticket still gets triaged when no resolution could be proposed.
        agent("triage-resolver", label="resolution", on_failure="continue"),
        synthesis=agent("triage-summary", label="synthesis"),
    ),
    max_steps=30,
    max_tokens=80_000,
    max_usd="0.40",
)
