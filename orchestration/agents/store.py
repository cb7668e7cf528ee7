"""Stored agent versions: each version's prompt, pins and tool schemas, by content hash.

A version is written once (idempotently) when a run of it is created and never changed, so a
process may keep what it read for as long as it lives. The only module of the agents that
speaks SQL (its table: :mod:`orchestration.agents.tables`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from orchestration.agents.definition import Agent
from orchestration.agents.tables import AgentVersion
from orchestration.agents.versions import StoredTool, StoredVersion, snapshot
from orchestration.journal.engine import write
from orchestration.journal.tables import utcnow

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["VersionStore"]


class VersionStore:
    """Reads and writes stored agent versions.

    Args:
        journal: the journal.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._saved: set[str] = set()
        self._loaded: dict[str, StoredVersion] = {}
        self._lock = threading.Lock()

    def save(self, agent: Agent) -> None:
        """Keep ``agent``'s version (a no-op when it is kept already)."""
        if agent.version in self._saved:
            return
        stored = snapshot(agent)
        try:
            with write(self.journal.engine) as connection:
                connection.execute(
                    insert(AgentVersion).values(
                        version=stored.version,
                        agent=stored.agent,
                        variant=stored.variant,
                        prompt_template=stored.prompt_template,
                        model=stored.model,
                        fallbacks=list(stored.fallbacks),
                        tools=[t.to_json() for t in stored.tools],
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            pass  # kept already, by this or another process: versions never change
        with self._lock:
            self._saved.add(agent.version)

    def load(self, version: str) -> StoredVersion | None:
        """The stored version, or None when no run of it was ever created here."""
        # A version's row never changes once written, so a hit is good for the process's life.
        found = self._loaded.get(version)
        if found is not None:
            return found
        with self.journal.engine.connect() as connection:
            row = connection.execute(
                select(AgentVersion).where(AgentVersion.version == version)
            ).first()
        if row is None:
            return None
        found = StoredVersion(
            version=row.version,
            agent=row.agent,
            variant=row.variant,
            prompt_template=row.prompt_template,
            model=row.model,
            fallbacks=tuple(row.fallbacks),
            tools=tuple(StoredTool.from_json(t) for t in row.tools),
        )
        with self._lock:
            self._loaded[version] = found
        return found
