"""The extractive answer: the 1-3 sentences of the retrieved passages that best answer a question.

Used when no LLM is configured or reachable. Passages are split into sentences (lines first, then
Kiwi's sentence splitter, so Korean and English alike), each sentence is scored by the question's
content terms it holds (Kiwi morphemes and stemmed English from the knowledge base's analyzer),
weighted by their rarity among the given passages' sentences (IDF) and by the passage's rank, and
favoured when it holds the kind of fact asked for (a number with a unit for "how many / 몇 /
주기", a step for "how / 절차", a cause for "why / 원인"...). The heading a sentence sits under
counts half, so "A-14 alarm: what to do?" finds the steps under the "A-14 ..." heading.
The chosen sentences keep their source order, each followed by its passage's ``[n]`` marker.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from aiharness.assistant.dimensions import asked_dimensions, states
from aiharness.assistant.passages import Passage
from aiharness.knowledge.public import TextSentence, predicate_words, split_sentences

# Question words and asking verbs: they say what kind of fact is wanted (see ``answer_kinds``),
# not what it is about, so they never count as evidence. English entries are analyzer stems.
_QUESTION_TERMS = frozenset(
    {
        # English (Snowball stems of the analyzer)
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "whi",
        "why",
        "how",
        "mani",
        "much",
        "long",
        "often",
        "frequent",
        "mean",
        "step",
        "do",
        "doe",
        "did",
        "done",
        "should",
        "can",
        "could",
        "would",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "we",
        "you",
        "me",
        "my",
        "our",
        "your",
        "tell",
        "explain",
        "describ",
        "pleas",
        "give",
        "list",
        "need",
        "have",
        "has",
        "happen",
        "say",
        "doc",
        "document",
        # Korean (Kiwi content morphemes)
        "몇",
        "얼마",
        "무엇",
        "어떤",
        "어느",
        "언제",
        "어디",
        "어떻",
        "왜",
        "하",
        "되",
        "있",
        "없",
        "알",
        "알리",
        "주",
        "설명",
        "말하",
        "경우",
        "대하",
        "관하",
        "위하",
        "가지",
        "문서",
        "내용",
        "이유",
        "순서",
        "방법",
        # How often / roughly: the frequency or amount asked for is the fact, not a topic word.
        "자주",
        "대략",
        "보통",
    }
)

# What kind of fact a question asks for, by its wording (Korean and English).
_KIND_PATTERNS: dict[str, re.Pattern[str]] = {
    "quantity": re.compile(
        r"\bhow (many|much|long|often|far|big|large|high|low|hot|cold|fast|thick|wide|deep)\b"
        r"|\b(limit|interval|threshold|torque|temperature|pressure|frequency|tolerance|"
        r"clearance|setting|rating|capacity|dose|dosage|concentration|value|size|speed|flow|"
        r"current|voltage|duration|minimum|maximum|criteria|criterion)\b"
        r"|몇|얼마|주기|기준|한계|허용|온도|압력|토크|간격|수치|용량|유량|속도|전류|전압|농도|"
        r"최소|최대|이상|이하|시간|두께|길이|치수|값",
        re.IGNORECASE,
    ),
    "date": re.compile(r"\bwhen\b|\bdate\b|\bwhat day\b|언제|날짜|일자|며칠|몇 ?월", re.IGNORECASE),
    "procedure": re.compile(
        r"\bhow (do|does|to|should|can|is|are|must)\b|\bsteps?\b|\bprocedure\b|\bwhat should\b"
        r"|\bwhat to do\b|어떻게|절차|방법|순서|단계|하려면|조치",
        re.IGNORECASE,
    ),
    "reason": re.compile(r"\bwhy\b|\bcause|\breason|왜|이유|원인", re.IGNORECASE),
    "location": re.compile(r"\bwhere\b|어디|위치|장소", re.IGNORECASE),
}
# The marks of each kind of fact in a sentence.
_UNIT = (
    r"(%|°\s?C|℃|mm/s|mm|cm|km|m³/h|m3/h|m³|m3|m/s|m|kW|MW|W|kV|V|A|Hz|bar|MPa|kPa|Pa|N·m|Nm|"
    r"rpm|h|hours?|min(utes?)?|s|sec(onds?)?|days?|weeks?|months?|years?|mg/L|ppm|µS/cm|uS/cm|"
    r"CFU|MΩ|kΩ|Ω|L|kg|g|t|시간|분|초|일|주|개월|년|회|장|개|명|방울|단계|°)"
)
_FACT_PATTERNS: dict[str, re.Pattern[str]] = {
    "quantity": re.compile(r"\d(?:[\d,.]*\d)?\s?" + _UNIT + r"(?![A-Za-z])"),
    "date": re.compile(
        r"\b\d{4}-\d{1,2}-\d{1,2}\b|\d{1,2}월 ?\d{1,2}일|\d{4}년|\b(jan|feb|mar|apr|may|jun|jul|"
        r"aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|매(년|월|주|일)|every|daily|weekly|monthly|"
        r"yearly|quarterly|분기",
        re.IGNORECASE,
    ),
    "procedure": re.compile(
        r"^(step\s*)?\d{1,2}[.)]\s|^[-*•]\s|한다\.?$|하십시오|하세요|(^|\. )[A-Z][a-z]+ the\b"
    ),
    "reason": re.compile(
        r"because|due to|caus|since|result|때문|원인|으로 인해|므로|이유|하면", re.IGNORECASE
    ),
    "location": re.compile(
        r"위치|창고|선반|구역|보관|located|stored|warehouse|shelf|room|server|cabinet",
        re.IGNORECASE,
    ),
}
# Sentences that lean on the one before them for their subject.
_ANAPHORA = re.compile(
    r"^(it|this|these|that|those|they|such|here|then|also|however|otherwise)\b"
    r"|^(이는|이것|이것은|이때|이 경우|그|그것|그러나|따라서|또한|그러므로|이를|이)\s",
    re.IGNORECASE,
)

# Markdown and list markup stripped from the sentences shown.
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_BULLET = re.compile(r"^\s*(?:[-*+•·▪]|\d{1,2}(?:\.\d{1,2})*[.)]?|\(?\d{1,2}\)|[a-z][.)])\s+")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")

# Passage rank discount: the k-th passage's sentences count 1 / (1 + RANK_DISCOUNT * (k - 1)).
RANK_DISCOUNT = 0.15
# Sentences of the heading a sentence sits under count this much of a sentence's own terms.
CONTEXT_WEIGHT = 0.5
# Score factor for a sentence holding (or missing) the kind of fact the question asks for.
FACT_BONUS = 1.3
FACT_MISSING = 0.8
# A further sentence joins the best one when it scores this share of it (same passage / other).
SAME_PASSAGE_SHARE = 0.6
OTHER_PASSAGE_SHARE = 0.8
LONG_SENTENCE_CHARS = 320


@dataclass
class Candidate:
    """One sentence of one passage, ready to be scored and shown."""

    passage_index: int  # position in the given passages (rank order)
    order: int  # position within the passage
    passage: Passage
    display: str
    terms: frozenset[str]
    context: frozenset[str]
    line_start: bool
    score: float = 0.0
    matched: set[str] = field(default_factory=set)


@lru_cache(maxsize=32)
def sentences_of(texts: tuple[str, ...]) -> list[list[TextSentence]]:
    """``split_sentences`` remembered for the last few texts: the relevance check and the
    extractive answer look at the same passages one after the other."""
    return split_sentences(list(texts))


def question_terms(question: str) -> list[str]:
    """The question's content terms: the analyzer's terms less the question words."""
    sentences = sentences_of((question,))[0]
    seen: dict[str, None] = {}
    for sentence in sentences:
        for term in sentence.terms:
            if term not in _QUESTION_TERMS and not _is_punct(term):
                seen.setdefault(term, None)
    # A part code comes with its parts (P-101 -> p101, 101): one name should count once.
    codes = [t for t in seen if t.isascii() and any(ch.isdigit() for ch in t)]
    return [t for t in seen if not (t.isascii() and any(t != c and t in c for c in codes))]


_PARTICLES = sorted(
    [
        "에서는",
        "으로는",
        "에게는",
        "에서",
        "으로",
        "에게",
        "까지",
        "부터",
        "보다",
        "처럼",
        "마다",
        "이나",
        "라는",
        "이란",
        "에는",
        "은",
        "는",
        "이",
        "가",
        "을",
        "를",
        "에",
        "의",
        "로",
        "와",
        "과",
        "도",
        "만",
        "시",
    ],
    key=len,
    reverse=True,
)
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]{2,}")


def surface_terms(question: str, terms: Sequence[str]) -> list[str]:
    """Korean words of the question (particles cut off) that no Kiwi term spells out, matched
    by their written form: Kiwi reads some words differently in a question and in a passage."""
    known = set(terms)
    out: dict[str, None] = {}
    # Verbs and adjectives with their endings (쓰면, 되는) are how the question is put.
    predicates = {w for p in predicate_words(question) for w in _HANGUL_WORD.findall(p)}
    for word in _HANGUL_WORD.findall(question):
        if word in predicates:
            continue
        for particle in _PARTICLES:
            if word.endswith(particle) and len(word) - len(particle) >= 2:
                word = word[: -len(particle)]
                break
        if any(len(t) >= 2 and t in word for t in known):
            continue  # Kiwi already has (part of) it: 밀폐공간 -> 밀폐, 공간
        if word not in known and word not in _QUESTION_TERMS and not _QUESTION_WORD.match(word):
            out.setdefault(word, None)
    return list(out)


# Korean question and request words (their written forms).
_QUESTION_WORD = re.compile(
    r"^(무엇|어떻|어떤|어느|언제|어디|얼마|몇|왜|누가|누구|하나요|인가|알려|설명|말해|해야|되나|있나|합니까|입니까)"
)


def written_in(term: str, text: str) -> bool:
    """Whether a Korean term of two or more syllables appears in ``text`` as written."""
    return len(term) >= 2 and "\uac00" <= term[0] <= "\ud7a3" and term in text


def _term_weight(term: str) -> float:
    """One Hangul syllable (인, 시) is a weak clue; everything else counts fully."""
    return 0.3 if len(term) == 1 and "\uac00" <= term <= "\ud7a3" else 1.0


def answer_kinds(question: str) -> set[str]:
    """The kinds of fact the question asks for (quantity, date, procedure, reason, location)."""
    return {kind for kind, pattern in _KIND_PATTERNS.items() if pattern.search(question)}


def clean_sentence(text: str) -> str:
    """A sentence without Markdown heading marks, bullets, numbering, emphasis or link syntax."""
    out = _HEADING.sub("", text)
    out = _BULLET.sub("", out)
    out = _LINK.sub(r"\1", out)
    out = _EMPHASIS.sub("", out)
    return " ".join(out.split())


def _is_punct(term: str) -> bool:
    return not any(ch.isalnum() for ch in term)


def _table_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """Every sentence of the passages (duplicates from overlapping chunks once, best rank first),
    with the terms of the heading and table header it sits under as context; headings themselves
    are context only."""
    texts = [p.text for p in passages] + [p.heading or "" for p in passages]
    split = sentences_of(tuple(texts))
    by_text, by_heading = split[: len(passages)], split[len(passages) :]
    out: list[Candidate] = []
    seen: set[str] = set()
    for pi, (passage, sentences) in enumerate(zip(passages, by_text, strict=True)):
        heading_terms = {t for s in by_heading[pi] for t in s.terms}
        heading_parts = {
            clean_sentence(part).lower() for part in (passage.heading or "").split(">")
        }
        section_terms: set[str] = set()
        intro_terms: set[str] = set()  # the sentence that introduces a list, for its items
        header: list[str] | None = None
        header_terms: set[str] = set()
        lines = _line_starts(passage.text)
        previous_line = ""
        for order, sentence in enumerate(sentences):
            line = _line_of(passage.text, lines, sentence)
            raw = sentence.text
            at_line_start = sentence.start == line[0]
            if _TABLE_RULE.match(raw):
                continue
            if raw.lstrip().startswith("|") and at_line_start:
                cells = _table_cells(raw)
                if header is None and _TABLE_RULE.match(_next_line(passage.text, line[1])):
                    header, header_terms = cells, set(sentence.terms)
                    continue
                display = _render_row(header, cells)
                context = heading_terms | section_terms | header_terms
            else:
                if not previous_line.lstrip().startswith("|"):
                    header, header_terms = None, set()
                display = clean_sentence(raw)
                whole_line = at_line_start and sentence.end == line[1]
                is_heading = bool(_HEADING.match(raw)) or (
                    whole_line
                    and (display.lower() in heading_parts or _looks_like_title(raw, display))
                )
                if is_heading:
                    section_terms = set(sentence.terms)
                    intro_terms = set()
                    previous_line = raw
                    continue
                context = heading_terms | section_terms
                if at_line_start and _BULLET.match(raw):
                    context |= intro_terms
                else:
                    intro_terms = set(sentence.terms)
            previous_line = raw
            if not display or len(display) < 2:
                continue
            key = re.sub(r"\W+", "", display.lower())
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Candidate(
                    passage_index=pi,
                    order=order,
                    passage=passage,
                    display=display,
                    terms=frozenset(sentence.terms),
                    context=frozenset(context - set(sentence.terms)),
                    line_start=at_line_start,
                )
            )
    return out


def _looks_like_title(raw: str, display: str) -> bool:
    """A short line without a sentence's end or a label (``1. Scope``, a document's title)."""
    if len(display) > 60 or ":" in display or "|" in display or raw.lstrip()[:1] in "-*•+":
        return False
    if _FACT_PATTERNS["quantity"].search(display):
        return False  # a measurement: a row of a table laid out with spaces, not a title
    return not display.rstrip().endswith(tuple(".!?。;…다요")) or display.isupper()


def _line_starts(text: str) -> list[tuple[int, int]]:
    spans = []
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((offset, offset + len(body)))
        offset += len(line)
    return spans


def _line_of(text: str, lines: list[tuple[int, int]], sentence: TextSentence) -> tuple[int, int]:
    for start, end in lines:
        if start <= sentence.start <= end:
            return start, end
    return sentence.start, sentence.end


def _next_line(text: str, end: int) -> str:
    rest = text[end:].lstrip("\r\n")
    return rest.split("\n", 1)[0]


def _render_row(header: list[str] | None, cells: list[str]) -> str:
    """A table row as ``header: cell`` pairs (or its cells joined) for reading as a sentence."""
    cells = [clean_sentence(c) for c in cells]
    if header and len(header) == len(cells):
        pairs = [f"{clean_sentence(h)}: {c}" for h, c in zip(header, cells, strict=True) if c]
        return ", ".join(pairs)
    return ", ".join(c for c in cells if c)


def score_candidates(question: str, found: list[Candidate]) -> list[Candidate]:
    """Score each candidate in place (see the module docstring); returns them, best first."""
    terms = question_terms(question)
    surface = surface_terms(question, terms)
    if not (terms or surface) or not found:
        return sorted(found, key=lambda c: (c.passage_index, c.order))
    terms = terms + surface
    for c in found:
        # A Korean word Kiwi reads differently in the question and the passage (인계는 -> 인 + 계,
        # 냉동기 -> 냉동 + 기) still matches as written.
        c.terms = c.terms | {t for t in terms if written_in(t, c.display)}
    n = len(found)
    df = {t: sum(1 for c in found if t in c.terms or t in c.context) for t in terms}
    idf = {t: math.log(1.0 + (n + 1) / (df[t] + 0.5)) * _term_weight(t) for t in terms}
    total = sum(idf.values())
    kinds = answer_kinds(question)
    dimensions = asked_dimensions(question)
    for c in found:
        own = {t for t in terms if t in c.terms}
        ctx = {t for t in terms if t in c.context and t not in own}
        c.matched = own | ctx
        match = (sum(idf[t] for t in own) + CONTEXT_WEIGHT * sum(idf[t] for t in ctx)) / total
        if not own:
            match *= 0.7  # a sentence should hold some of the question itself
        factor = 1.0 / (1.0 + RANK_DISCOUNT * c.passage_index)
        for kind in kinds:
            if _FACT_PATTERNS[kind].search(c.display):
                factor *= FACT_BONUS
            elif kind in ("quantity", "date"):
                factor *= FACT_MISSING
        for wanted in dimensions:  # "몇 A": a current, not any number
            factor *= FACT_BONUS if states(c.display, wanted) else FACT_MISSING
        if len(c.display) > LONG_SENTENCE_CHARS:
            factor *= 0.9
        c.score = match * factor
    return sorted(found, key=lambda c: (-c.score, c.passage_index, c.order))


def _similar(a: Candidate, b: Candidate) -> bool:
    if not a.terms or not b.terms:
        return a.display == b.display
    overlap = len(a.terms & b.terms) / min(len(a.terms), len(b.terms))
    return overlap >= 0.8


def select(question: str, found: list[Candidate], max_sentences: int) -> list[Candidate]:
    """The best sentence, its neighbour when it leans on one, then further good sentences."""
    ranked = score_candidates(question, found)
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    same = [c for c in found if c.passage_index == best.passage_index]
    position = same.index(best)
    if _ANAPHORA.match(best.display) and position > 0:
        chosen.append(same[position - 1])
    elif best.display.rstrip().endswith(":") and position + 1 < len(same):
        chosen.append(same[position + 1])
    kinds = answer_kinds(question)
    for c in ranked[1:]:
        if len(chosen) >= max_sentences or best.score <= 0:
            break
        share = SAME_PASSAGE_SHARE if c.passage_index == best.passage_index else OTHER_PASSAGE_SHARE
        if "procedure" in kinds and c.passage_index == best.passage_index:
            share *= 0.75  # steps come in runs
        if c.score < share * best.score or c in chosen:
            continue
        if any(_similar(c, other) for other in chosen):
            continue
        chosen.append(c)
    chosen = chosen[:max_sentences]
    return sorted(chosen, key=lambda c: (c.passage_index, c.order))


def extract_answer(question: str, passages: Sequence[Passage], *, max_sentences: int = 3) -> str:
    """1-3 sentences from the passages that answer the question, each followed by its [n] marker."""
    if not passages:
        return ""
    limit = max(1, min(max_sentences, 3))
    chosen = select(question, candidates(passages), limit)
    if not chosen:
        first = passages[0]
        text = clean_sentence(first.text.strip().split("\n", 1)[0])[:300]
        return f"{text} [{first.n}]" if text else ""
    return " ".join(f"{_terminated(c.display)} [{c.passage.n}]" for c in chosen)


def _terminated(text: str) -> str:
    return text.rstrip()
