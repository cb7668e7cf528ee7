"""Rebuild the embeddings of the agents' knowledge bases: incremental, atomic, resumable.

``chordline admin run rebuild-embeddings [--agent A] [--full]`` by hand, with a progress bar and
a summary; Beat runs the same function nightly (``CHORDLINE_KNOWLEDGE_REBUILD_CRON``) through
the ``chordline.admin.rebuild_embeddings`` task on the admin queue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import click
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from admin_jobs.commands import as_json, echo_json, jobs
from orchestration.cli.tables import Column, fitted
from orchestration.config import Settings, load_settings
from orchestration.knowledge.backends import open_store, store_url
from orchestration.knowledge.bases import declared_bases
from orchestration.knowledge.embeddings import embedding_model
from orchestration.knowledge.rebuild import RebuildOptions, RebuildReport, rebuild

__all__ = ["rebuild_embeddings", "summary_table"]

ProgressFor = Callable[[str], Callable[[int, int], None]]


def rebuild_embeddings(
    settings: Settings,
    *,
    agent: str | None = None,
    full: bool = False,
    progress_for: ProgressFor | None = None,
) -> list[RebuildReport]:
    """Rebuild the knowledge base of ``agent`` (of every agent when None).

    Args:
        settings: the model, store and chunking settings.
        agent: one agent, or None for all that declare a knowledge base.
        full: re-embed every chunk instead of only the changed ones.
        progress_for: given a knowledge base's name, a ``progress(done, total)`` callback.

    Returns:
        One report per knowledge base.

    Raises:
        KnowledgeError: a base failed; the bases before it are rebuilt, its live index is
            untouched, and the next run resumes its pending one.
    """
    model = embedding_model(settings.knowledge, settings.llm)
    store = open_store(store_url(settings.knowledge, settings.data_dir))
    options = RebuildOptions(
        chunk_chars=settings.knowledge_chunk_chars,
        overlap=settings.knowledge_chunk_overlap,
        batch_size=settings.embedding_batch_size,
        full=full,
    )
    try:
        return [
            rebuild(kb, store, model, options, progress_for(kb.name) if progress_for else None)
            for kb in declared_bases(settings.core, agent)
        ]
    finally:
        store.close()


def summary_table(reports: list[RebuildReport], width: int) -> RenderableType:
    """The reports as a table within ``width`` columns: chunks embedded, skipped, deleted, time."""
    models = ", ".join(sorted({r.model for r in reports})) or "no knowledge base"
    columns = [Column("knowledge base")]
    columns += [
        Column(c, right=True)
        for c in ("gen", "chunks", "embedded", "skipped", "deleted", "calls", "secs")
    ]
    rows = [
        [
            r.kb,
            str(r.generation) if r.published else f"{r.generation} (same)",
            str(r.chunks),
            str(r.embedded),
            str(r.skipped),
            str(r.deleted),
            str(r.embedding_calls),
            f"{r.seconds:.2f}",
        ]
        for r in reports
    ]
    return fitted(columns, rows, width, title=f"embeddings rebuilt ({models})")


@jobs.command("rebuild-embeddings")
@click.option("--agent", default=None, help="only this agent's knowledge base")
@click.option("--full", is_flag=True, help="re-embed every chunk, not only the changed ones")
@as_json
def rebuild_embeddings_command(agent: str | None, full: bool, as_json: bool) -> None:
    """Rebuild the knowledge bases' embeddings (incremental unless --full)."""
    settings = load_settings()
    # With --json the progress goes to stderr: stdout holds the document alone.
    console = Console(stderr=as_json)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:

        def progress_for(kb: str) -> Callable[[int, int], None]:
            task = bar.add_task(kb, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)

        reports = rebuild_embeddings(settings, agent=agent, full=full, progress_for=progress_for)
    if as_json:
        echo_json({"knowledge_bases": [dataclasses.asdict(r) for r in reports]})
        return
    console.print(summary_table(reports, console.width))
