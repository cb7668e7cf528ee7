"""Benchmark workflow: three sleeper branches at once, then a sleeper synthesis."""

from orchestration.workflows import Workflow, agent, parallel

workflow = Workflow(
    name="naps-in-parallel",
    description="Three branches that nap, then a synthesis that naps (bench/workflows.py).",
    root=parallel(
        agent("sleeper", label="a"),
        agent("sleeper", label="b"),
        agent("sleeper", label="c"),
        synthesis=agent("sleeper", label="synthesis"),
    ),
    max_steps=100,
)
