"""Opening the vector store ``CHORDLINE_VECTOR_STORE_URL`` names: the factory over the backends.

It sits beside its callers (search, rebuilds), not beside the
:class:`~orchestration.knowledge._vectors.VectorStore` Protocol, so that the Protocol's module
imports no backend while every backend imports it. A backend's packages (sqlite-vec, chromadb)
load only when a store of its kind is opened.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.config import KnowledgeSettings
from orchestration.errors import KnowledgeError
from orchestration.knowledge._vectors import VectorStore

__all__ = ["open_store", "store_url"]


def store_url(settings: KnowledgeSettings, data_dir: Path) -> str:
    """The effective store URL: the setting, else a sqlite-vec file in ``data_dir`` (the
    process's data directory)."""
    if settings.vector_store_url:
        return settings.vector_store_url
    folder = data_dir.resolve()
    return f"sqlite-vec:///{folder / 'vectors.sqlite3'}"


def open_store(url: str) -> VectorStore:
    """Open the store at ``url`` (``sqlite-vec:///path`` or ``chroma://host:port``).

    Raises:
        KnowledgeError: the scheme is unknown or the store's packages are missing (with the fix).
        BackendUnreachable: a Chroma server does not answer.
    """
    if url.startswith("sqlite-vec:///"):
        from orchestration.knowledge._sqlite_store import SqliteVecStore

        return SqliteVecStore(Path(url.removeprefix("sqlite-vec://")))
    if url.startswith("chroma://"):
        from orchestration.knowledge._chroma_store import ChromaStore

        host, _, port = url.removeprefix("chroma://").rstrip("/").rpartition(":")
        return ChromaStore(host, int(port))
    raise KnowledgeError(
        f"vector store URL {url!r} is not supported. Fix: set CHORDLINE_VECTOR_STORE_URL to "
        "sqlite-vec:///path/vectors.sqlite3 or chroma://host:8000."
    )
