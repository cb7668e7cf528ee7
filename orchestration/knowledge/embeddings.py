"""Embedding models behind one Protocol, chosen by ``CHORDLINE_EMBEDDING_MODEL``.

``local:all-MiniLM-L6-v2`` runs offline in NumPy (:mod:`orchestration.knowledge._minilm`);
``openai:MODEL`` calls the embeddings endpoint through the official SDK.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from orchestration.config import KnowledgeSettings, LlmSettings
from orchestration.errors import KnowledgeError

__all__ = ["EmbeddingModel", "OpenAIEmbeddings", "embedding_model"]

# The dimensions OpenAI documents per model; others are learnt from the first answer.
_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class EmbeddingModel(Protocol):
    """Turns texts into vectors of one fixed dimension.

    Attributes:
        name: the model's name, recorded with every index it builds.
        dimension: the length of each vector.
    """

    @property
    def name(self) -> str:
        """The model's name, recorded with the index."""

    @property
    def dimension(self) -> int:
        """The length of each vector."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (one call to the model for the whole batch)."""


class OpenAIEmbeddings:
    """OpenAI's embeddings endpoint through the official SDK.

    Args:
        model: e.g. ``text-embedding-3-small``.
        settings: the LLM settings: the API key, base URL and timeout come from here (or the
            SDK's environment).
    """

    def __init__(self, model: str, settings: LlmSettings) -> None:
        from openai import OpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        # Our callers batch and the rebuild resumes, so the SDK's own retries would only hide
        # a failing endpoint for longer.
        self._client = OpenAI(
            api_key=key,
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
        )
        self._model = model
        self._dimension = _OPENAI_DIMENSIONS.get(model, 0)

    @property
    def name(self) -> str:
        """``openai:MODEL``."""
        return f"openai:{self._model}"

    @property
    def dimension(self) -> int:
        """The model's dimension (asked of the endpoint once when not documented)."""
        if not self._dimension:
            self._dimension = len(self.embed(["dimension probe"])[0])
        return self._dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in one request.

        Raises:
            KnowledgeError: the endpoint refused or failed, with its reason.
        """
        if not texts:
            return []
        import openai

        try:
            answer = self._client.embeddings.create(model=self._model, input=list(texts))
        except openai.APIError as exc:
            raise KnowledgeError(
                f"OpenAI embeddings with {self._model} failed ({type(exc).__name__}: {exc}). "
                "Fix: check CHORDLINE_OPENAI_API_KEY and CHORDLINE_EMBEDDING_MODEL."
            ) from None
        vectors = [list(item.embedding) for item in sorted(answer.data, key=lambda d: d.index)]
        if vectors and not self._dimension:
            self._dimension = len(vectors[0])
        return vectors


def embedding_model(settings: KnowledgeSettings, llm: LlmSettings) -> EmbeddingModel:
    """The model ``CHORDLINE_EMBEDDING_MODEL`` names (the local one is loaded once a process;
    an OpenAI one is reached with ``llm``'s key, base URL and timeout).

    Raises:
        KnowledgeError: the local model's packages or weights are missing (with the fix).
    """
    provider, _, name = settings.embedding_model.partition(":")
    if provider == "openai":
        return OpenAIEmbeddings(name, llm)
    return _local(settings.embedding_model_dir)


@functools.cache
def _local(directory: Path | None) -> EmbeddingModel:
    from orchestration.knowledge._minilm import MiniLM

    return MiniLM(directory)
