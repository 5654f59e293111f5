"""Keyword analyzers: text in, index/query terms out, for BM25 and PostgreSQL full-text search.

``kiwi`` (the default) keeps Korean content morphemes so that 정비를/정비는/정비가 all index as
정비, stems English words with Snowball (Porter2), and keeps part codes such as ``P-101A`` whole.
``whitespace`` is the naive baseline the benchmark compares against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any, Protocol, runtime_checkable

import numpy as np

from aiharness.knowledge.kiwi import get_kiwi


@runtime_checkable
class KeywordAnalyzer(Protocol):
    """Turns text into index/query terms (in order, duplicates kept; never empty, never containing
    whitespace, so stores may keep them space-joined). ``terms_batch`` is the fast path for many."""

    name: str

    def terms(self, text: str) -> list[str]: ...

    def terms_batch(self, texts: Sequence[str]) -> list[list[str]]: ...


class AnalyzerError(ValueError):
    """Unknown analyzer name."""


# Kiwi tags of content morphemes (the part before any "-I"/"-R" irregularity suffix).
# Nouns (general, proper), numerals, verb/adjective stems, roots, foreign words, hanja and
# numbers carry meaning; particles (J*), endings (E*), affixes (X[PS]*), dependent nouns (NNB),
# pronouns (NP), auxiliaries (VX), copulas (VC*), adverbs and symbols are noise for keyword
# search. Latin (SL), digits (SN) and joiners inside codes are handled by ``_group_codes``.
_CONTENT_TAGS = frozenset({"NNG", "NNP", "NR", "VV", "VA", "XR", "SH"})
_CODE_TAGS = frozenset({"SL", "SN", "W_SERIAL"})
# Whole URLs, e-mail addresses, hashtags and mentions: kept whole plus their word parts.
_WEB_TAGS = frozenset({"W_URL", "W_EMAIL", "W_HASHTAG", "W_MENTION"})
# Joiners that may sit inside a code: P-101A, KS_B_6311, 10/20, v2.5 (Kiwi keeps "2.5" whole).
_CODE_JOINERS = frozenset({"-", "_", "/", ".", "+", "#"})

# Lucene's classic English stop set: dependable, tiny, and not tuned on our benchmark.
_EN_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_WORDS = re.compile(r"[a-z0-9]+")
_SEPARATORS = re.compile(r"[-_/,+#]")
_NUMERIC = re.compile(r"[0-9][0-9.,/:-]*")
# Code parts: split at non-alphanumerics and at letter/digit boundaries (10kW -> 10, kw).
_PARTS = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer  # type: ignore[import-untyped]

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem_english(word: str) -> str:
    """Porter2 stem of a lowercased English word (cached: words repeat a lot)."""
    stemmed: str = _stemmer().stemWord(word)
    return stemmed


def latin_terms(span: str) -> list[str]:
    """Terms for one run of latin letters/digits (a word, a number or a part code).

    A plain word is lowercased and stemmed; a code with digits or joiners (``P-101A``, ``M8``,
    ``10kW``) becomes its compact lowercase form (``p101a``) plus its parts of two or more
    characters, so both ``P101A`` and ``p-101a`` find it and ``101`` still matches.
    """
    lowered = span.lower()
    if _NUMERIC.fullmatch(lowered):
        # Numbers and numeric serials (3,600 / 2.5 / 5/8 / 2024-05-01): thousands separators go,
        # the rest stays so 5/8 is not 58; a date also yields its parts (2024, 05, 01).
        number = lowered.replace(",", "")
        parts = [p for p in re.split(r"[-/:]", number) if len(p) >= 2]
        return [number, *parts] if len(parts) > 1 else [number]
    if lowered.isalpha():
        if lowered in _EN_STOPWORDS:
            return []
        return [stem_english(lowered)] if lowered.isascii() else [lowered]
    # Thousands separators inside numbers go; "." stays only between digits (2.5 is not 25).
    compact = _SEPARATORS.sub("", lowered)
    compact = re.sub(r"\.(?![0-9])|(?<![0-9])\.", "", compact)
    if not compact:
        return []
    out = [compact]
    parts = [p for p in _PARTS.split(lowered.replace(",", "")) if len(p) >= 2]
    if len(parts) > 1 or (parts and parts[0] != compact):
        for part in parts:
            if part.isalpha():
                if part not in _EN_STOPWORDS:
                    out.append(stem_english(part))
            else:
                out.append(part)
    return out


class WhitespaceAnalyzer:
    """Baseline: lowercase, split on whitespace, strip punctuation at the ends of each token."""

    name = "whitespace"

    def terms(self, text: str) -> list[str]:
        out = []
        for raw in text.lower().split():
            token = raw.strip(".,;:!?\"'()[]{}<>«»“”‘’·…")
            if token:
                out.append(token)
        return out

    def terms_batch(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.terms(t) for t in texts]


class KiwiAnalyzer:
    """Korean morphemes from Kiwi plus stemmed English and whole part codes."""

    name = "kiwi"

    def terms(self, text: str) -> list[str]:
        return self.terms_batch([text])[0]

    def terms_batch(self, texts: Sequence[str]) -> list[list[str]]:
        if not texts:
            return []
        kiwi = get_kiwi()
        # Kiwi copes badly with NUL and other control characters; they carry no terms.
        cleaned = [_CONTROL.sub(" ", t) for t in texts]
        # One tokenize call over the list lets Kiwi pipeline the batch internally.
        return [
            _terms_from_tokens(text, tokens)
            for text, tokens in zip(cleaned, kiwi.tokenize(cleaned), strict=True)
        ]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _terms_from_tokens(text: str, tokens: Iterable[Any]) -> list[str]:
    out: list[str] = []
    run_start = -1  # start offset of the current latin/digit run, -1 when none
    run_end = -1
    pending_joiner = False
    for tok in tokens:
        tag = tok.tag.split("-", 1)[0]
        start, end = tok.start, tok.start + tok.len
        if tag in _CODE_TAGS:
            if run_start >= 0 and start == run_end:
                run_end = end
            else:
                if run_start >= 0:
                    out.extend(latin_terms(text[run_start:run_end]))
                run_start, run_end = start, end
            pending_joiner = False
            continue
        if run_start >= 0 and start == run_end and tok.form in _CODE_JOINERS and not pending_joiner:
            # Tentatively join; a joiner not followed by latin/digits is trimmed below.
            run_end = end
            pending_joiner = True
            continue
        if run_start >= 0:
            out.extend(latin_terms(text[run_start:run_end].rstrip("".join(_CODE_JOINERS))))
            run_start = run_end = -1
            pending_joiner = False
        if tag in _WEB_TAGS:
            lowered = tok.form.lower()
            out.append(lowered)
            out.extend(t for w in _WORDS.findall(lowered) for t in latin_terms(w))
        elif tag in _CONTENT_TAGS:
            out.append(tok.form.lower() if tok.form.isascii() else tok.form)
    if run_start >= 0:
        out.extend(latin_terms(text[run_start:run_end].rstrip("".join(_CODE_JOINERS))))
    return out


_ANALYZERS: dict[str, type[KiwiAnalyzer] | type[WhitespaceAnalyzer]] = {
    "kiwi": KiwiAnalyzer,
    "whitespace": WhitespaceAnalyzer,
}


def get_analyzer(name: str = "kiwi") -> KeywordAnalyzer:
    """The analyzer registered under ``name`` (``kiwi`` or ``whitespace``)."""
    try:
        return _ANALYZERS[name]()
    except KeyError:
        raise AnalyzerError(
            f"unknown keyword analyzer {name!r}; choose one of {', '.join(sorted(_ANALYZERS))}"
        ) from None


Script = str  # "hangul" or "latin"


def text_script(text: str) -> Script | None:
    """The script most of ``text``'s letters are written in (``None``: no Hangul or Latin).

    Korean passages quote English names and codes, English ones rarely Hangul: the majority of
    letters tells which language a question or a passage is in well enough to notice that a
    question and the passages that answer it are in different languages. Counted with numpy
    over the code points: search asks this of every candidate passage of a bilingual collection.
    """
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    hangul = int(
        np.count_nonzero(
            ((points >= 0xAC00) & (points <= 0xD7A3)) | ((points >= 0x3131) & (points <= 0x318E))
        )
    )
    folded = points | 0x20  # ASCII upper case onto lower case; nothing else lands in a-z
    latin = int(np.count_nonzero((folded >= 0x61) & (folded <= 0x7A)))
    if not hangul and not latin:
        return None
    # A Hangul syllable carries about three Latin letters' worth of text.
    return "hangul" if 3 * hangul >= latin else "latin"


@dataclass(frozen=True)
class TextSentence:
    """One sentence of a text: where it is (character offsets) and its keyword terms."""

    text: str
    start: int
    end: int
    terms: tuple[str, ...]


def split_sentences_batch(texts: Sequence[str]) -> list[list[TextSentence]]:
    """Each text's sentences, in order, with the Kiwi analyzer's terms of each (one Kiwi pass).

    Lines are split first (a Markdown heading, a list item or a table row never runs into the
    next line), then Kiwi splits each line into sentences, Korean and English alike.
    """
    lines: list[tuple[int, int, int]] = []  # (text index, start offset, end offset)
    for ti, text in enumerate(texts):
        offset = 0
        previous = ""
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            if body.strip():
                if lines and lines[-1][0] == ti and _continues(previous, body):
                    # A wrapped line (PDF text, hard-wrapped prose) goes on the sentence before.
                    lines[-1] = (ti, lines[-1][1], offset + len(body))
                else:
                    lines.append((ti, offset, offset + len(body)))
            previous = body
            offset += len(line)
    out: list[list[TextSentence]] = [[] for _ in texts]
    if not lines:
        return out
    bodies = [
        _CONTROL.sub(" ", texts[ti][a:b]).replace("\r", " ").replace("\n", " ")
        for ti, a, b in lines
    ]
    split = get_kiwi().split_into_sents(bodies, return_tokens=True)
    for (ti, start, _), body, sentences in zip(lines, bodies, split, strict=True):
        for sentence in _rejoin_numbers(body, list(sentences)):
            tokens = list(sentence.tokens or [])
            # Kiwi leaves some English full stops unsplit ("Check the oil. It must ..."):
            # cut there too, giving each part the tokens that start inside it.
            bounds = [sentence.start]
            bounds += [
                sentence.start + m.end()
                for m in _LATIN_STOP.finditer(body[sentence.start : sentence.end])
            ]
            bounds.append(sentence.end)
            for a, b in pairwise(bounds):
                raw = body[a:b]
                if not raw.strip():
                    continue
                lead = len(raw) - len(raw.lstrip())
                trail = len(raw.rstrip())
                out[ti].append(
                    TextSentence(
                        text=texts[ti][start + a + lead : start + a + trail],
                        start=start + a + lead,
                        end=start + a + trail,
                        terms=tuple(
                            _terms_from_tokens(body, [t for t in tokens if a <= t.start < b])
                        ),
                    )
                )
    return out


@dataclass
class _Span:
    start: int
    end: int
    tokens: list[Any]


def _rejoin_numbers(body: str, sentences: list[Any]) -> list[_Span]:
    """Kiwi sometimes ends a sentence on a number whose unit opens the next one
    ("... 다시 잰다. 50" + "mm를 넘으면 ..."): such a number goes back with its unit."""
    spans = [_Span(s.start, s.end, list(s.tokens or [])) for s in sentences]
    for i in range(len(spans) - 1):
        current, following = spans[i], spans[i + 1]
        tail = _TRAILING_NUMBER.search(body[current.start : current.end])
        if tail is None or not body[following.start : following.end][:1].isalpha():
            continue
        cut = current.start + tail.start(1)
        moved = [t for t in current.tokens if t.start >= cut]
        current.tokens = [t for t in current.tokens if t.start < cut]
        current.end = cut
        following.start = cut
        following.tokens = moved + following.tokens
    return [s for s in spans if body[s.start : s.end].strip()]


# A sentence that ends with a full stop and then a bare number.
_TRAILING_NUMBER = re.compile(r"[.!?]\s+([0-9][0-9.,]*)\s*$")


# Lines that stand on their own: headings, list items, table rows, key: value records, columns.
_BLOCK_LINE = re.compile(
    r"^\s*(#{1,6}\s|[-*+•·▪]\s|\d{1,2}(\.\d{1,2})*[.)]?\s|\(?\d{1,2}\)\s|\|)|\s\|\s|\S\s{3,}\S"
)
_SENTENCE_END = tuple(".!?。:;…")


def _continues(previous: str, line: str) -> bool:
    """Whether ``line`` wraps on from ``previous`` (no blank line between them)."""
    if not previous.strip() or previous.rstrip().endswith(_SENTENCE_END):
        return False
    if line.lstrip()[:1].isupper():
        return False  # an English line starting with a capital starts a sentence (or a row)
    return not _BLOCK_LINE.search(previous) and not _BLOCK_LINE.search(line)


# A full stop (or ! ?) after a lowercase word, a digit or a bracket, then a capital letter.
_LATIN_STOP = re.compile(r"(?<=[a-z0-9)\]%][.!?])\s+(?=[A-Z])")
