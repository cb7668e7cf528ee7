"""The shared vector store: a Chroma server (``chroma run``) reached over HTTP.

Each generation is a collection ``<kb>-g<N>`` (cosine space) whose metadata records the model and
dimension. The pointers live in the metadata of a collection ``<kb>-index``, which one
``modify`` call rewrites whole: that write is the atomic swap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestration.errors import BackendUnreachable, KnowledgeError
from orchestration.knowledge._vectors import Hit, IndexInfo, StoredChunk

__all__ = ["ChromaStore"]

_MISSING = (
    "the Chroma store needs the `chroma` extra. Fix: pip install 'chordline[chroma]' (or leave "
    "CHORDLINE_VECTOR_STORE_URL empty for the embedded sqlite-vec store)"
)
_BATCH = 500


class ChromaStore:
    """A :class:`~orchestration.knowledge._vectors.VectorStore` on a Chroma server.

    Args:
        host: the server's host.
        port: its port.

    Raises:
        KnowledgeError: chromadb is not installed.
        BackendUnreachable: the server does not answer.
    """

    def __init__(self, host: str, port: int) -> None:
        try:
            import chromadb
        except ImportError:
            raise KnowledgeError(_MISSING) from None
        try:
            self._client: Any = chromadb.HttpClient(host=host, port=port)
            self._client.heartbeat()
        except Exception as exc:  # the client raises transport-specific errors
            raise BackendUnreachable(
                f"Chroma server chroma://{host}:{port} is unreachable ({type(exc).__name__}). "
                "Fix: start it (`chroma run --host HOST --port PORT --path DIR`) or correct "
                "CHORDLINE_VECTOR_STORE_URL."
            ) from None

    def _registry(self, kb: str) -> Any:
        return self._client.get_or_create_collection(f"{kb}-index", embedding_function=None)

    def _pointers(self, kb: str) -> dict[str, Any]:
        return dict(self._registry(kb).metadata or {})

    def _collection(self, index: IndexInfo) -> Any:
        return self._client.get_collection(index.collection, embedding_function=None)

    @staticmethod
    def _info(kb: str, pointers: dict[str, Any], state: str) -> IndexInfo | None:
        generation = int(pointers.get(state, 0))
        if generation <= 0:
            return None
        return IndexInfo(
            kb, generation, str(pointers[f"{state}_model"]), int(pointers[f"{state}_dim"])
        )

    def live(self, kb: str) -> IndexInfo | None:
        """The generation searches read."""
        return self._info(kb, self._pointers(kb), "live")

    def pending(self, kb: str) -> IndexInfo | None:
        """A generation written aside and not yet published."""
        return self._info(kb, self._pointers(kb), "pending")

    def _write_pointers(self, kb: str, pointers: dict[str, Any]) -> None:
        # Chroma merges metadata on modify, so every key is written every time.
        self._registry(kb).modify(metadata=pointers)

    def begin(self, kb: str, model: str, dimension: int) -> IndexInfo:
        """Create a new empty pending generation (dropping any pending one)."""
        pointers = self._pointers(kb)
        stale = self._info(kb, pointers, "pending")
        if stale is not None:
            self._drop(stale)
        generation = max(int(pointers.get(k, 0)) for k in ("live", "previous", "last")) + 1
        index = IndexInfo(kb, generation, model, dimension)
        self._client.create_collection(
            index.collection,
            metadata={"model": model, "dimension": dimension},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        pointers.update(pending=generation, pending_model=model, pending_dim=dimension)
        pointers["last"] = generation
        self._write_pointers(kb, _complete(pointers))
        return index

    def _drop(self, index: IndexInfo) -> None:
        try:
            self._client.delete_collection(index.collection)
        except Exception:  # already gone: what we wanted
            return

    def chunk_ids(self, index: IndexInfo) -> set[str]:
        """The ids of the chunks a generation holds."""
        collection = self._collection(index)
        ids: set[str] = set()
        offset = 0
        while True:
            page = collection.get(include=[], limit=_BATCH * 10, offset=offset)["ids"]
            ids.update(page)
            if len(page) < _BATCH * 10:
                return ids
            offset += len(page)

    def chunks(self, index: IndexInfo, ids: Sequence[str]) -> list[StoredChunk]:
        """The chunks with these ids, vectors included."""
        collection = self._collection(index)
        found: list[StoredChunk] = []
        for start in range(0, len(ids), _BATCH):
            got = collection.get(
                ids=list(ids[start : start + _BATCH]),
                include=["embeddings", "metadatas", "documents"],
            )
            for chunk_id, vector, meta, text in zip(
                got["ids"], got["embeddings"], got["metadatas"], got["documents"], strict=True
            ):
                found.append(
                    StoredChunk(
                        chunk_id,
                        tuple(float(x) for x in vector),
                        str(meta["source"]),
                        str(meta["title"]),
                        str(meta["grp"]),
                        text,
                    )
                )
        return found

    def upsert(self, index: IndexInfo, chunks: Sequence[StoredChunk]) -> None:
        """Write chunks."""
        collection = self._collection(index)
        for start in range(0, len(chunks), _BATCH):
            part = chunks[start : start + _BATCH]
            collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=[list(c.vector) for c in part],
                metadatas=[{"source": c.source, "title": c.title, "grp": c.group} for c in part],
                documents=[c.text for c in part],
            )

    def delete(self, index: IndexInfo, ids: Sequence[str]) -> None:
        """Remove chunks from a generation."""
        if ids:
            self._collection(index).delete(ids=list(ids))

    def publish(self, index: IndexInfo) -> None:
        """Rewrite the pointers (the swap), then drop the generation before the old live one."""
        pointers = self._pointers(index.kb)
        if int(pointers.get("pending", 0)) != index.generation:
            raise KnowledgeError(
                f"generation {index.generation} of {index.kb} is no longer pending (another "
                "rebuild replaced it). Fix: run the rebuild again."
            )
        retired = self._info(index.kb, pointers, "previous")
        old = self._info(index.kb, pointers, "live")
        if old is not None:
            pointers.update(previous=old.generation, previous_model=old.model)
            pointers["previous_dim"] = old.dimension
        pointers.update(live=index.generation, live_model=index.model, live_dim=index.dimension)
        pointers.update(pending=0, pending_model="", pending_dim=0)
        self._write_pointers(index.kb, _complete(pointers))
        if retired is not None:
            self._drop(retired)

    def search(
        self, index: IndexInfo, vector: Sequence[float], k: int, group: str | None = None
    ) -> list[Hit]:
        """The ``k`` nearest chunks, best first (score = 1 - cosine distance)."""
        found = self._collection(index).query(
            query_embeddings=[list(vector)],
            n_results=k,
            where={"grp": group} if group is not None else None,
            include=["distances", "metadatas", "documents"],
        )
        return [
            Hit(
                chunk_id,
                str(meta["source"]),
                str(meta["title"]),
                str(meta["grp"]),
                text,
                round(1.0 - float(distance), 4),
            )
            for chunk_id, distance, meta, text in zip(
                found["ids"][0],
                found["distances"][0],
                found["metadatas"][0],
                found["documents"][0],
                strict=True,
            )
        ]

    def close(self) -> None:
        """The HTTP client holds nothing that needs closing."""


def _complete(pointers: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "live": 0,
        "live_model": "",
        "live_dim": 0,
        "previous": 0,
        "previous_model": "",
        "previous_dim": 0,
        "pending": 0,
        "pending_model": "",
        "pending_dim": 0,
        "last": 0,
    }
    return defaults | pointers
