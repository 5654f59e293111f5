"""The passages an answer may cite: numbered in the order the generator is given them.

Both generators (the LLM's prompt and the extractive composer) and the citation check work on
these, so a marker ``[n]`` can only ever point at a passage the generator actually saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["ko", "en"]


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk as the generator sees it; ``n`` is its 1-based citation number."""

    n: int
    chunk_id: int
    document_id: int
    source_path: str
    file_name: str
    page: int | None
    heading: str | None
    score: float
    text: str
    collection: str
    token_count: int = 0
    # Cosine similarity of the question and the passage from the vector search (None when the
    # search ran without vectors); unlike ``score`` it compares across searches.
    similarity: float | None = None

    @property
    def label(self) -> str:
        """How the passage is named to the generator and the reader: file, page, heading."""
        parts = [self.file_name]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.heading:
            parts.append(self.heading)
        return " · ".join(parts)


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e"


def question_language(text: str) -> Language:
    """Korean when Hangul makes up a fair share of the letters, else English."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    hangul = sum(1 for ch in letters if _is_hangul(ch))
    return "ko" if hangul / len(letters) >= 0.3 else "en"
