"""Test workflow: a branch that fails under each policy, nested in a sequence."""

from orchestration.workflows import Workflow, agent, parallel, sequence

workflow = Workflow(
    name="fragile-pipeline",
    root=sequence(
        parallel(
            agent("toolbox", label="steady"),
            agent("strict-toolbox", label="shaky", on_failure="continue"),
            synthesis=agent("toolbox", label="merge"),
        ),
        agent("report-writer", label="after"),
    ),
    max_steps=60,
)
