"""Token estimates for when a backend does not count (and for the context-length check).

No tokenizer ships for every served model, so this is a deliberately low estimate: about four
Latin characters or two Hangul syllables per token. A prompt refused for its length is then
certainly too long; one accepted may still be refused by the backend itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    other = len(text) - ascii_chars
    return max(1, ascii_chars // 4 + other // 2)


def message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    # A few tokens per message for the chat template's role markers.
    return sum(4 + estimate_tokens(message_text(m)) for m in messages)
