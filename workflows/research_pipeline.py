"""research-pipeline: research, then analysis of the findings, then a written report."""

from orchestration.workflows import Workflow, agent, sequence

workflow = Workflow(
    name="research-pipeline",
    description="research-report, then an analysis agent, then a report writer.",
    root=sequence(
        agent("research-report", label="research"),
        agent("analysis"),
        agent("report-writer", label="report"),
    ),
    max_steps=30,
    max_tokens=150_000,
    max_usd="1.00",
)
