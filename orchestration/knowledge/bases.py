"""Knowledge bases as code: an agent declares where its documents come from.

An agent's ``agent.py`` sets ``knowledge = KnowledgeBase.from_directory(...)`` (Markdown files,
e.g. ``agents/<agent>/knowledge/*.md``) or ``KnowledgeBase.from_rows(...)`` (a function that
returns rows of a table as :class:`~orchestration.knowledge._chunking.Document`). A directory
``knowledge/`` beside an agent without a declaration is its knowledge base too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.agents.registry import import_agent_module, load_registry
from orchestration.config import CoreSettings
from orchestration.errors import KnowledgeError
from orchestration.knowledge._chunking import Document
from orchestration.knowledge._vectors import check_kb_name

__all__ = ["KnowledgeBase", "declared_bases", "read_markdown"]


def read_markdown(path: Path) -> Document:
    """A Markdown file as a document: its first ``# heading`` is the title."""
    text = path.read_text(encoding="utf-8")
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    title = heading.group(1).strip() if heading else path.stem
    body = text[heading.end() :] if heading else text
    # Lines wrapped inside a paragraph are one line of text; blank lines still part paragraphs.
    body = re.sub(r"(?<!\n)\n(?!\n)", " ", body.strip())
    return Document(source=path.name, title=title, text=body)


@dataclass(frozen=True)
class KnowledgeBase:
    """Where an agent's knowledge comes from.

    Attributes:
        name: the index's name (2-48 lowercase letters, digits, dashes), usually the agent's.
        load: returns the documents as they are now (read at each rebuild).
        origin: a description for listings (a directory, a table).
    """

    name: str
    load: Callable[[], Sequence[Document]] = field(repr=False)
    origin: str = ""

    def __post_init__(self) -> None:
        check_kb_name(self.name)

    @classmethod
    def from_directory(cls, name: str, directory: Path, pattern: str = "*.md") -> KnowledgeBase:
        """Every file matching ``pattern`` in ``directory`` is a document."""

        def load() -> list[Document]:
            if not directory.is_dir():
                raise KnowledgeError(
                    f"knowledge base {name}: {directory} is not a directory. Fix: create it "
                    "and put the documents there, one Markdown file each."
                )
            return [read_markdown(p) for p in sorted(directory.glob(pattern)) if p.is_file()]

        return cls(name, load, origin=str(directory / pattern))

    @classmethod
    def from_rows(
        cls, name: str, rows: Callable[[], Sequence[Document]], origin: str = "rows"
    ) -> KnowledgeBase:
        """The documents are rows of a table, read by ``rows`` at each rebuild."""
        return cls(name, rows, origin=origin)

    def documents(self) -> list[Document]:
        """The documents now."""
        return list(self.load())


def declared_bases(settings: CoreSettings, agent: str | None = None) -> list[KnowledgeBase]:
    """The knowledge bases of the agents in ``CHORDLINE_AGENTS_DIR`` (of one agent if named).

    Raises:
        AgentNotFound: ``agent`` names no agent.
        KnowledgeError: ``agent`` exists but declares no knowledge base.
    """
    registry = load_registry(settings.agent_dirs)
    if agent is not None:
        registry.get(agent)  # a clear error for an unknown name
    found: list[KnowledgeBase] = []
    for directory in settings.agent_dirs:
        for child in sorted(p for p in directory.iterdir() if (p / "agent.py").is_file()):
            module = import_agent_module(child)
            if agent is not None and getattr(module, "agent", None) is not registry.get(agent):
                continue
            declared = getattr(module, "knowledge", None)
            if isinstance(declared, KnowledgeBase):
                found.append(declared)
            elif (child / "knowledge").is_dir():
                name = registry.get(module.agent.name).name
                found.append(KnowledgeBase.from_directory(name, child / "knowledge"))
    if agent is not None and not found:
        raise KnowledgeError(
            f"agent {agent} declares no knowledge base. Fix: add documents under its "
            "knowledge/ directory or set `knowledge = KnowledgeBase...` in its agent.py."
        )
    return found
