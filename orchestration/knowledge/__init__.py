"""Knowledge bases: local or OpenAI embeddings, vector stores by URL, atomic rebuilds.

Heavy packages (NumPy, tokenizers, safetensors, sqlite-vec, chromadb) are imported only when a
model or store is opened, so the quick start without the ``knowledge`` extra stays fast.
"""

from orchestration.knowledge._chunking import Chunk, Document, chunk_documents, chunk_text
from orchestration.knowledge._vectors import Hit, IndexInfo, VectorStore
from orchestration.knowledge.backends import open_store, store_url
from orchestration.knowledge.bases import KnowledgeBase, declared_bases, read_markdown
from orchestration.knowledge.embeddings import EmbeddingModel, OpenAIEmbeddings, embedding_model
from orchestration.knowledge.rebuild import RebuildOptions, RebuildReport, rebuild
from orchestration.knowledge.search import IndexUnavailable, SearchResult, search, search_index

__all__ = [
    "Chunk",
    "Document",
    "EmbeddingModel",
    "Hit",
    "IndexInfo",
    "IndexUnavailable",
    "KnowledgeBase",
    "OpenAIEmbeddings",
    "RebuildOptions",
    "RebuildReport",
    "SearchResult",
    "VectorStore",
    "chunk_documents",
    "chunk_text",
    "declared_bases",
    "embedding_model",
    "open_store",
    "read_markdown",
    "rebuild",
    "search",
    "search_index",
    "store_url",
]
