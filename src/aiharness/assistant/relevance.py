"""Whether the retrieved passages can answer the question at all, or the assistant should refuse.

Search always returns its ``k`` best passages, relevant or not. These signals say whether the
best of them is about the question:

- **coverage**: the share of the question's content terms (Kiwi morphemes, stemmed English,
  part codes; question words left out) that the best sentence holds, with the headings it sits
  under; **union**: the share found anywhere in the passages. Terms weigh by their rarity among
  the passages' sentences: search brings passages about the question's subject, so its name is
  everywhere and says little, while the attribute asked for must be found;
- **missing code**: the question names a code (CV-05) that no passage holds; and when some do,
  coverage counts only sentences of documents naming one of the codes that are found;
- **length**: log2 of the number of question terms (a many-part question is covered less);
- **value missing**: the question asks for a dimension (a time, a length, a current, a price:
  "몇 mm", "how long", "비용") and none of the sentences that cover it well states one. This one
  is not fitted: it takes ``VALUE_MISSING_PENALTY`` off z, a rule checked on the benchmark's
  splits rather than learned (the calibration sets hold too few such questions to fit it);
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

from aiharness.assistant.dimensions import asked_dimensions, states
from aiharness.assistant.extractive import candidates, question_terms, surface_terms, written_in
from aiharness.assistant.passages import Language, Passage, question_language
from aiharness.knowledge.public import text_script

# Fitted by `bench_assistant.py --calibrate` (see the module docstring); z > 0 answers.
# Same language: z = W_COVERAGE * coverage + W_UNION * union + W_SIMILARITY * similarity
# + W_MISSING_CODE * missing_code + W_LENGTH * log2(terms) + BIAS.
W_COVERAGE = 5.69
W_UNION = 6.46
W_SIMILARITY = 1.68
BIAS = -11.75
W_MISSING_CODE = -0.53
W_LENGTH = 1.74
# Across languages:
CROSS_W_SIMILARITY = 6.46
CROSS_BIAS = -5.13
# Passages without a similarity (keyword-only search): the same rule fitted without it.
KW_COVERAGE = 5.76
KW_UNION = 6.58
KW_MISSING_CODE = -0.55
KW_LENGTH = 1.76
KW_BIAS = -10.43
# Taken off z when the value asked for is stated nowhere near the question's words (see above).
VALUE_MISSING_PENALTY = 3.0
# Sentences covering at least this share of the best one's coverage may hold the value asked.
VALUE_SEARCH_SHARE = 0.5

_NOT_FOUND: dict[Language, str] = {
    "en": "The documents do not say. No passage in the searched collections answers this "
    "question; try other words, or check that the right documents are indexed.",
    "ko": "문서에서 찾을 수 없습니다. 검색한 컬렉션에 이 질문에 답하는 내용이 없습니다. "
    "다른 표현으로 물어보거나 필요한 문서가 색인되었는지 확인해 주세요.",
}


@dataclass(frozen=True)
class Relevance:
    """The signals behind the decision (the benchmark calibrates on them)."""

    coverage: float  # best sentence's share of the question's terms (with its headings), 0..1
    union: float  # share of the question's terms found anywhere in the passages, 0..1
    similarity: float | None  # best vector similarity among the passages
    cross_language: bool  # the nearest passage is in another script than the question
    n_terms: int
    # Best similarity among passages in the other script (a collection of both languages may
    # answer in the other one even when its nearest passage is in the question's language).
    other_similarity: float | None = None
    # 1 when the question names a part or equipment code (CV-05, R-134a) that no passage holds:
    # codes are names, and a question about something the documents never name is not answered.
    missing_code: float = 0.0
    # The question asks for a time, length, current... that no well-covering sentence states;
    # and that no sentence of the passages in the other script states (judged by similarity).
    value_missing: bool = False
    value_missing_other: bool = False

    def score(self) -> float:
        """The logistic rule's z (> 0: answerable)."""
        if self.n_terms == 0 and self.similarity is None:
            return -1.0
        if self.cross_language and self.similarity is not None:
            return CROSS_W_SIMILARITY * self.similarity + CROSS_BIAS - self._other_penalty
        return self._same_language(VALUE_MISSING_PENALTY if self.value_missing else 0.0)

    def _same_language(self, penalty: float) -> float:
        """z of the same-language rule less ``penalty`` (the value asked for is not stated);
        a collection's passages in the other language are judged by similarity alone."""
        if self.similarity is None:
            return (
                KW_COVERAGE * self.coverage
                + KW_UNION * self.union
                + KW_MISSING_CODE * self.missing_code
                + KW_LENGTH * self.length
                + KW_BIAS
                - penalty
            )
        same = (
            W_COVERAGE * self.coverage
            + W_UNION * self.union
            + W_SIMILARITY * self.similarity
            + W_MISSING_CODE * self.missing_code
            + W_LENGTH * self.length
        )
        if self.other_similarity is None:
            return same + BIAS - penalty
        other = CROSS_W_SIMILARITY * self.other_similarity + CROSS_BIAS - self._other_penalty
        return max(same + BIAS - penalty, other)

    @property
    def _other_penalty(self) -> float:
        return VALUE_MISSING_PENALTY if self.value_missing_other else 0.0

    @property
    def length(self) -> float:
        """log2 of the number of question terms: a long, many-part question is rarely covered
        by one passage as fully as a short one."""
        return math.log2(max(1, self.n_terms))

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
    # Across languages when the passage nearest in meaning is in another script than the
    # question (a collection may hold both languages: its runners-up say little).
    nearest = max(passages, key=lambda p: p.similarity or 0.0) if similarities else None
    script = text_script(nearest.text) if nearest is not None else None
    wanted = "hangul" if question_language(question) == "ko" else "latin"
    cross = script is not None and script != wanted
    others = [
        p.similarity
        for p in passages
        if p.similarity is not None and text_script(p.text) not in (None, wanted)
    ]
    other = max(others) if others and not cross else None
    all_terms = terms + surface
    total = sum(_weight(t) for t in all_terms)
    if not passages or total == 0:
        return Relevance(0.0, 0.0, similarity, cross, len(all_terms), other)
    found_in: list[set[str]] = []
    sentences = candidates(passages)
    for c in sentences:
        held = c.terms | c.context
        label = f"{c.passage.heading or ''} {c.display}"
        found_in.append({t for t in all_terms if t in held or written_in(t, label)})
    # Rarity among the passages' sentences: search brings passages about the question's subject
    # (P-101, AC-2), so its name is everywhere and says little; the attribute asked for (a price,
    # a noise level) is what must be found. A term found nowhere weighs most.
    n = len(found_in)
    weights = {
        t: _weight(t) * math.log(1.0 + (n + 1) / (sum(t in f for f in found_in) + 0.5))
        for t in all_terms
    }
    total = sum(weights.values()) or 1.0
    anywhere = set().union(*found_in) if found_in else set()
    covered = [sum(weights[t] for t in f) / total for f in found_in]
    union = sum(weights[t] for t in anywhere) / total
    codes = [t for t in terms if t.isascii() and any(ch.isdigit() for ch in t) and len(t) >= 3]
    missing = float(any(code not in anywhere for code in codes))
    # A question about CV-03 is answered from a document that names CV-03, not from the AC-2
    # manual next to it: sentences of documents naming none of the codes found drop out.
    named = {code for code in codes if code in anywhere}
    if named:
        holds: dict[int, set[str]] = {}
        for c, f in zip(sentences, found_in, strict=True):
            holds.setdefault(c.passage.document_id, set()).update(f & named)
        covered = [
            share if holds[c.passage.document_id] else 0.0
            for c, share in zip(sentences, covered, strict=True)
        ]
    best = max(covered, default=0.0)
    near = [
        c.display
        for c, share in zip(sentences, covered, strict=True)
        if best > 0 and share >= VALUE_SEARCH_SHARE * best
    ]
    # Across languages coverage says nothing: any sentence of the other script may hold it.
    scripts = [text_script(p.text) for p in passages]
    elsewhere = [c.display for c in sentences if scripts[c.passage_index] not in (None, wanted)]
    dimensions = asked_dimensions(question)
    value_missing = any(not any(states(t, d) for t in near) for d in dimensions)
    value_missing_other = any(not any(states(t, d) for t in elsewhere) for d in dimensions)
    return Relevance(
        best,
        union,
        similarity,
        cross,
        len(all_terms),
        other,
        missing,
        value_missing,
        value_missing_other,
    )


def answerable(question: str, passages: Sequence[Passage]) -> bool:
    """False when no passage is relevant enough (calibrated) -> the assistant refuses."""
    if not passages:
        return False
    return relevance(question, passages).score() > 0


def not_found_text(language: Language) -> str:
    """What the assistant says when the documents do not answer the question."""
    return _NOT_FOUND[language]
