"""Whether the retrieved passages can answer the question at all, or the assistant should refuse.

Search always returns its ``k`` best passages, relevant or not. Two signals say whether the best
of them is about the question:

- **coverage**: the share of the question's content terms (Kiwi morphemes, stemmed English,
  part codes; question words left out) that the best passage holds, in its text or heading;
  a term found in no passage at all is the surest sign the documents do not say;
- **similarity**: the vector search's cosine similarity of the question and the best passage,
  the only usable signal when the question and the passages are in different languages (an
  English question over Korean manuals shares only codes with them).

They are combined by a logistic rule whose weights ``benchmarks/bench_assistant.py
--calibrate`` fits on a calibration split (autorag-ko questions with their gold passages and
without them, plus the first half of the sample-doc questions) and reports on the held-out
rest. Passages that come without a similarity (keyword-only search) are judged on coverage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aiharness.assistant.extractive import question_terms, surface_terms
from aiharness.assistant.passages import Language, Passage, question_language
from aiharness.knowledge.public import split_sentences, text_script

# Fitted by `bench_assistant.py --calibrate` (see the module docstring); z > 0 answers.
# Same language: z = W_COVERAGE * coverage + W_SIMILARITY * similarity + BIAS.
W_COVERAGE = 9.0
W_SIMILARITY = 10.0
BIAS = -11.5
# Across languages (and when a passage has no similarity, coverage alone):
CROSS_W_SIMILARITY = 30.0
CROSS_BIAS = -25.0
COVERAGE_ONLY_THRESHOLD = 0.6

_NOT_FOUND: dict[Language, str] = {
    "en": "The documents do not say. No passage in the searched collections answers this "
    "question; try other words, or check that the right documents are indexed.",
    "ko": "문서에서 찾을 수 없습니다. 검색한 컬렉션에 이 질문에 답하는 내용이 없습니다. "
    "다른 표현으로 물어보거나 필요한 문서가 색인되었는지 확인해 주세요.",
}


@dataclass(frozen=True)
class Relevance:
    """The signals behind the decision (the benchmark calibrates on them)."""

    coverage: float  # best passage's share of the question's content terms, 0..1
    similarity: float | None  # best vector similarity among the passages
    cross_language: bool  # most passages are in another script than the question
    n_terms: int

    def score(self) -> float:
        """The logistic rule's z (> 0: answerable)."""
        if self.n_terms == 0 and self.similarity is None:
            return -1.0
        if self.cross_language and self.similarity is not None:
            return CROSS_W_SIMILARITY * self.similarity + CROSS_BIAS
        if self.similarity is None:
            return 10.0 * (self.coverage - COVERAGE_ONLY_THRESHOLD)
        return W_COVERAGE * self.coverage + W_SIMILARITY * self.similarity + BIAS

    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.score()))


def _weight(term: str) -> float:
    return 0.3 if len(term) == 1 and "\uac00" <= term <= "\ud7a3" else 1.0


def relevance(question: str, passages: Sequence[Passage]) -> Relevance:
    """Coverage and similarity of the best passage (see the module docstring)."""
    terms = question_terms(question)
    surface = surface_terms(question, terms)
    similarities = [p.similarity for p in passages if p.similarity is not None]
    similarity = max(similarities) if similarities else None
    language = question_language(question)
    scripts = [text_script(p.text) for p in passages]
    known = [s for s in scripts if s is not None]
    wanted = "hangul" if language == "ko" else "latin"
    cross = bool(known) and 2 * sum(s != wanted for s in known) > len(known)
    all_terms = terms + surface
    total = sum(_weight(t) for t in all_terms)
    if not passages or total == 0:
        return Relevance(0.0, similarity, cross, len(all_terms))
    texts = [p.text for p in passages] + [p.heading or "" for p in passages]
    split = split_sentences(texts)
    best = 0.0
    for i, passage in enumerate(passages):
        held = {t for s in split[i] for t in s.terms} | {
            t for s in split[len(passages) + i] for t in s.terms
        }
        body = f"{passage.heading or ''}\n{passage.text}"
        found = sum(_weight(t) for t in terms if t in held)
        found += sum(_weight(t) for t in surface if t in body)
        best = max(best, found / total)
    return Relevance(best, similarity, cross, len(all_terms))


def answerable(question: str, passages: Sequence[Passage]) -> bool:
    """False when no passage is relevant enough (calibrated) -> the assistant refuses."""
    if not passages:
        return False
    return relevance(question, passages).score() > 0


def not_found_text(language: Language) -> str:
    """What the assistant says when the documents do not answer the question."""
    return _NOT_FOUND[language]
