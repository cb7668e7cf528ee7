"""Research tools: search by meaning over the corpus shipped in ``data/corpus.json``.

The corpus's rows are the agent's knowledge base (see ``agent.py``); without a vector index (or
without the ``knowledge`` extra) the tools fall back to tf-idf keyword search and say so.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool
from orchestration.knowledge import Document, IndexUnavailable, search

CORPUS = Path(__file__).parent / "data" / "corpus.json"
KB_NAME = "research-report"
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "what",
        "how",
    ]
)


class SearchQuery(BaseModel):
    query: str = Field(min_length=2, max_length=300, description="what to search for")
    limit: int = Field(3, ge=1, le=10, description="how many results")


def _terms(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP]


@functools.cache
def _documents() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return documents


def corpus_documents() -> list[Document]:
    """The corpus's rows as knowledge-base documents, grouped by kind (papers, news, notes)."""
    return [Document(d["ref"], d["title"], d["text"], group=d["source"]) for d in _documents()]


def _search(source: str, args: SearchQuery, ctx: ToolContext) -> dict[str, Any]:
    try:
        found = search(
            ctx.knowledge,
            ctx.llm,
            KB_NAME,
            args.query,
            k=args.limit,
            group=source,
            data_dir=ctx.data_dir,
        )
    except IndexUnavailable as exc:
        return _keyword_search(source, args) | {"search": f"keyword fallback: {exc}"}
    results = [
        {"title": h.title, "source": h.source, "snippet": h.text, "score": h.score}
        for h in found.hits
    ]
    return {
        "results": results,
        "search": f"vector ({found.model})",
        "summary": f"{len(results)} {source} result(s)",
    }


def _keyword_search(source: str, args: SearchQuery) -> dict[str, Any]:
    documents = [d for d in _documents() if d["source"] == source]
    frequency = Counter(t for d in _documents() for t in set(_terms(d["title"] + " " + d["text"])))
    query = set(_terms(args.query))
    scored = []
    for document in documents:
        terms = Counter(_terms(document["title"] + " " + document["text"]))
        # tf-idf over the whole corpus: rare shared words count for more than common ones.
        score = sum(
            terms[t] * math.log(len(_documents()) / frequency[t]) for t in query if terms[t]
        )
        if score > 0:
            scored.append((score, document))
    scored.sort(key=lambda pair: -pair[0])
    results = [
        {"title": d["title"], "source": d["ref"], "snippet": d["text"]}
        for _, d in scored[: args.limit]
    ]
    return {"results": results, "summary": f"{len(results)} {source} result(s)"}


@tool(read_only=True, timeout_s=10)
def search_papers(args: SearchQuery, ctx: ToolContext) -> dict[str, Any]:
    """Search peer-reviewed papers; returns titles, references and findings."""
    return _search("papers", args, ctx)


@tool(read_only=True, timeout_s=10)
def search_news(args: SearchQuery, ctx: ToolContext) -> dict[str, Any]:
    """Search news coverage; returns headlines, outlets and dates."""
    return _search("news", args, ctx)


@tool(read_only=True, timeout_s=10)
def search_notes(args: SearchQuery, ctx: ToolContext) -> dict[str, Any]:
    """Search the team's internal notes and checklists."""
    return _search("notes", args, ctx)
