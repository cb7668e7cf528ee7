"""Documents cut into overlapping chunks, each named by a hash of its content.

A chunk's id is a hash of its source, title and text, so a rebuild recognises the chunks it
has embedded before and embeds only the new ones; the overlap keeps a sentence that straddles
a boundary whole in at least one chunk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Chunk", "Document", "chunk_documents", "chunk_text"]


@dataclass(frozen=True)
class Document:
    """One document of a knowledge base.

    Attributes:
        source: where it came from (a file name, a row id), shown with each result.
        title: its title, embedded with every chunk so that short chunks keep their topic.
        text: its body.
        group: a label a search may filter on (e.g. ``papers``); empty for none.
    """

    source: str
    title: str
    text: str
    group: str = ""


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, as stored in the index."""

    chunk_id: str
    source: str
    title: str
    group: str
    text: str
    ordinal: int

    @property
    def embedded_text(self) -> str:
        """What the model embeds: the title, then the text."""
        return f"{self.title}\n{self.text}" if self.title else self.text


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``size`` characters, cut at word boundaries.

    Each piece after the first starts with up to ``overlap`` characters of the previous one.
    """
    words = re.findall(r"\S+", text)
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for word in words:
        if current and length + 1 + len(word) > size:
            pieces.append(" ".join(current))
            current = _tail(current, overlap)
            length = len(" ".join(current))
        current.append(word[:size])
        length += len(word[:size]) + (1 if length else 0)
    if current and (not pieces or " ".join(current) != pieces[-1]):
        pieces.append(" ".join(current))
    return pieces


def _tail(words: list[str], overlap: int) -> list[str]:
    kept: list[str] = []
    length = 0
    for word in reversed(words):
        if length + len(word) + 1 > overlap:
            break
        kept.insert(0, word)
        length += len(word) + 1
    return kept


def chunk_documents(documents: Iterable[Document], size: int, overlap: int) -> list[Chunk]:
    """Chunk every document; a chunk repeated verbatim within one source is kept once."""
    chunks: dict[str, Chunk] = {}
    for document in documents:
        for ordinal, piece in enumerate(chunk_text(document.text, size, overlap)):
            digest = hashlib.sha256(
                "\0".join((document.source, document.group, document.title, piece)).encode()
            ).hexdigest()[:32]
            chunks.setdefault(
                digest,
                Chunk(digest, document.source, document.title, document.group, piece, ordinal),
            )
    return list(chunks.values())
