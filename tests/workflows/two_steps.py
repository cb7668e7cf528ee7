"""Test workflow: two toolbox runs in sequence under a small step budget."""

from orchestration.workflows import Workflow, agent, sequence

workflow = Workflow(
    name="two-steps",
    root=sequence(agent("toolbox", label="first"), agent("toolbox", label="second")),
    max_steps=4,
)
