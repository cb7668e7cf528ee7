"""Test workflow: three toolbox branches at once, then a toolbox synthesis (scripted calls)."""

from orchestration.workflows import Workflow, agent, parallel

workflow = Workflow(
    name="effects-fanout",
    root=parallel(
        agent("toolbox", label="a"),
        agent("toolbox", label="b"),
        agent("toolbox", label="c"),
        synthesis=agent("toolbox", label="synthesis"),
    ),
    max_steps=60,
)
