"""Titles and headings count in keyword ranking: ``keyword_text`` puts the heading path first."""

from __future__ import annotations

import pytest

from aiharness.knowledge.analysis import get_analyzer
from aiharness.knowledge.chunking import chunk_document, keyword_text
from aiharness.knowledge.documents import Chunk, ParsedDocument, ParsedSection

pytestmark = pytest.mark.unit


def chunk(text: str, heading: str | None) -> Chunk:
    return Chunk(index=0, text=text, token_count=10, page=None, heading=heading, metadata={})


def test_the_heading_path_is_indexed_once_with_the_text() -> None:
    body = "3.2 베어링 교체\n\n유도 가열기로 110도까지 가열한다."
    text = keyword_text(chunk(body, "원심 펌프 P-101 정비 매뉴얼 > 3. 정비 절차 > 3.2 베어링 교체"))
    # The section's own heading is already the text's first line: not repeated.
    assert text == f"원심 펌프 P-101 정비 매뉴얼\n3. 정비 절차\n{body}"
    assert keyword_text(chunk("본문", None)) == "본문"
    terms = get_analyzer("kiwi").terms(text)
    assert "펌프" in terms and "베어링" in terms


def test_every_chunk_of_a_long_section_carries_the_document_title() -> None:
    sentences = " ".join(f"베어링 하우징 볼트 {i}번을 규정 토크로 조인다." for i in range(80))
    doc = ParsedDocument(
        sections=[ParsedSection(text=f"3.1 분해\n\n{sentences}", heading="펌프 매뉴얼 > 3.1 분해")],
        page_count=None,
        metadata={},
    )
    chunks = chunk_document(doc)
    assert len(chunks) > 2
    assert all(keyword_text(c).startswith("펌프 매뉴얼\n") for c in chunks)
    # The text shown and embedded is untouched.
    assert not any(c.text.startswith("펌프 매뉴얼") for c in chunks)
