"""Context packing: the retrieved passages that go into a prompt, within a token budget.

Best first decides what fits; near-duplicates (overlapping chunks of one document repeat up to
a sixth of their text, and the same paragraph can be indexed twice) are dropped; what is kept is
put back in source order (documents by their best passage, chunks of one document in reading
order) and numbered 1..n, the numbers the answer cites.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiharness.assistant.passages import Passage
from aiharness.knowledge.public import SearchHit

_WORD = re.compile(r"\w+", re.UNICODE)
# Tokens of a passage whose count the store did not record: about 3 characters per token
# for mixed Korean/English text (the tokenizer-free estimate the gateway uses too).
_CHARS_PER_TOKEN = 3
# Tokens the label line of each passage costs in the prompt.
_LABEL_TOKENS = 12


@dataclass(frozen=True)
class Packed:
    passages: list[Passage]
    # chunk id -> passage number, or None when the chunk was dropped (duplicate, over budget).
    numbering: dict[int, int | None]
    tokens: int


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN)


def _shingles(text: str) -> set[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return set(words)
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def overlap(a: str, b: str) -> float:
    """Share of the shorter text's word trigrams that the other one also has (0..1)."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def _trim(text: str, tokens: int) -> str:
    """The text cut to about ``tokens`` tokens, at a sentence or word end where possible."""
    limit = tokens * _CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("다. "), cut.rfind("\n"))
    if end > limit // 2:
        return cut[: end + 1].rstrip()
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + " …"


def pack(hits: Sequence[SearchHit], *, budget_tokens: int, duplicate_overlap: float) -> Packed:
    """The passages to give the generator, numbered in source order."""
    chosen: list[tuple[SearchHit, str, int]] = []
    numbering: dict[int, int | None] = {}
    used = 0
    for hit in sorted(hits, key=lambda h: -h.score):
        numbering.setdefault(hit.chunk_id, None)
        if any(c[0].chunk_id == hit.chunk_id for c in chosen):
            continue
        duplicate = any(
            c[0].document_id == hit.document_id
            and overlap(c[0].text, hit.text) >= duplicate_overlap
            for c in chosen
        ) or any(hit.text.strip() == c[0].text.strip() for c in chosen)
        if duplicate:
            continue
        tokens = (hit.token_count or estimate_tokens(hit.text)) + _LABEL_TOKENS
        text = hit.text
        if used + tokens > budget_tokens:
            if chosen:
                continue  # a smaller passage further down may still fit
            # The best passage alone is larger than the budget: give the model its start.
            text = _trim(hit.text, max(16, budget_tokens - _LABEL_TOKENS))
            tokens = estimate_tokens(text) + _LABEL_TOKENS
        chosen.append((hit, text, tokens))
        used += tokens
    # Source order: documents in the order of their best passage, chunks in reading order.
    first_seen: dict[int, int] = {}
    for i, (hit, _, _) in enumerate(chosen):
        first_seen.setdefault(hit.document_id, i)
    ordered = sorted(chosen, key=lambda c: (first_seen[c[0].document_id], c[0].chunk_index))
    passages: list[Passage] = []
    for n, (hit, text, tokens) in enumerate(ordered, start=1):
        numbering[hit.chunk_id] = n
        passages.append(
            Passage(
                n=n,
                chunk_id=hit.chunk_id,
                document_id=hit.document_id,
                source_path=hit.source_path,
                file_name=hit.file_name,
                page=hit.page,
                heading=hit.heading,
                score=hit.score,
                text=text,
                collection=hit.collection,
                token_count=tokens - _LABEL_TOKENS,
                similarity=hit.metadata.get("vector_score"),
            )
        )
    return Packed(passages=passages, numbering=numbering, tokens=used)


def budget(
    *, context_tokens: int, model_context: int | None, answer_tokens: int, prompt_tokens: int
) -> int:
    """Tokens left for passages: the configured budget, lowered to fit the model's window."""
    if model_context is None:
        return context_tokens
    room = model_context - answer_tokens - prompt_tokens
    return max(64, min(context_tokens, room))
