"""`chordline feedback RUN --up|--down|--score X`: what a person thought of a run."""

from __future__ import annotations

import os

import click

from orchestration.cli.base import console, main, open_cli_journal

__all__ = ["feedback"]


@main.command()
@click.argument("run_id")
@click.option("--up", is_flag=True, help="a thumbs up (score 1)")
@click.option("--down", is_flag=True, help="a thumbs down (score -1)")
@click.option("--score", type=float, default=None, help="a grade from 0 to 1 instead")
@click.option("--comment", default=None, help="what you want to say about the run")
@click.option("--label", "labels", multiple=True, help="a short tag, e.g. wrong-tool (repeatable)")
@click.option(
    "--giver",
    default=lambda: os.environ.get("USER", "cli"),
    show_default="$USER",
    help="who gives it; your later feedback on the run replaces this one",
)
@click.option("--tenant", default=None, help="the tenant the run must belong to")
@click.option("--json", "as_json", is_flag=True, help="print the stored feedback as JSON")
def feedback(
    *,
    run_id: str,
    up: bool,
    down: bool,
    score: float | None,
    comment: str | None,
    labels: tuple[str, ...],
    giver: str,
    tenant: str | None,
    as_json: bool,
) -> None:
    """Give feedback on a run: --up, --down or --score 0..1, with a comment and labels."""
    from orchestration.feedback import give_feedback

    given = [value for value, on in ((1.0, up), (-1.0, down), (score, score is not None)) if on]
    if len(given) != 1 or given[0] is None:
        raise click.UsageError("give exactly one of --up, --down or --score X (0 to 1)")
    value = given[0]
    journal = open_cli_journal()
    stored = give_feedback(
        journal,
        journal.resolve_run_id(run_id, tenant),
        tenant=tenant,
        giver=giver,
        score=value,
        comment=comment,
        labels=labels,
    )
    if as_json:
        from orchestration.cli.output import echo_json, feedback_document

        echo_json(feedback_document(stored))
        return
    from orchestration.cli.display import score_label

    replaced = (
        " (replacing your earlier feedback)" if stored.updated_at != stored.created_at else ""
    )
    console.print(
        f"feedback on run {stored.run_id} by {stored.giver}: {score_label(stored.score)}{replaced}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
