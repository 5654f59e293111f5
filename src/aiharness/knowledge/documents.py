"""Shapes shared by parsing, chunking and storage: sections, documents, chunks, ParseError."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ParseError(Exception):
    """A file cannot be turned into text; the message is user-facing and says what is wrong."""


@dataclass(frozen=True)
class ParsedSection:
    """A run of text with its location: 1-based page/slide/sheet and the heading path above it."""

    text: str
    page: int | None = None
    heading: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedDocument:
    """Everything a parser extracted: sections in reading order plus document-level metadata."""

    sections: list[ParsedSection]
    page_count: int | None
    metadata: dict[str, Any]

    @property
    def text(self) -> str:
        """All section texts joined by blank lines (for hashing, previews and tests)."""
        return "\n\n".join(s.text for s in self.sections)


@dataclass(frozen=True)
class Chunk:
    """One embeddable passage: a run of whole sentences from one section, with its location."""

    index: int
    text: str
    token_count: int
    page: int | None
    heading: str | None
    metadata: dict[str, Any]
