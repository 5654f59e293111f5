"""Context packing: budget, near-duplicates, source order, numbering."""

from __future__ import annotations

import pytest

from aiharness.assistant.packing import budget, overlap, pack
from aiharness.knowledge.public import SearchHit

pytestmark = pytest.mark.unit


def hit(
    chunk_id: int, document_id: int, index: int, score: float, text: str, tokens: int = 50
) -> SearchHit:
    return SearchHit(
        chunk_id=chunk_id,
        document_id=document_id,
        source_path=f"/docs/{document_id}.md",
        file_name=f"{document_id}.md",
        page=index + 1,
        heading=None,
        chunk_index=index,
        score=score,
        text=text,
        collection="demo",
        token_count=tokens,
    )


PUMP = "Grease the pump bearings every 2000 running hours with 18 g of lithium grease per bearing."
VALVE = "Close the suction and discharge valves and drain the casing to zero pressure first."


def test_near_duplicates_of_one_document_are_dropped() -> None:
    hits = [
        hit(1, 10, 0, 0.9, PUMP),
        hit(2, 10, 1, 0.8, PUMP + " Check the seal."),  # the overlap of the next chunk
        hit(3, 11, 0, 0.7, PUMP + " Other plant."),  # overlapping text of another document stays
        hit(4, 10, 2, 0.6, VALVE),
        hit(5, 12, 0, 0.5, PUMP),  # the very same text indexed twice does not
    ]
    packed = pack(hits, budget_tokens=10_000, duplicate_overlap=0.6)
    assert [p.chunk_id for p in packed.passages] == [1, 4, 3]
    assert packed.numbering == {1: 1, 2: None, 3: 3, 4: 2, 5: None}
    assert overlap(PUMP, PUMP + " Check the seal.") == 1.0 and overlap(PUMP, VALVE) < 0.2


def test_source_order_and_numbering() -> None:
    hits = [
        hit(7, 20, 5, 0.9, "fifth chunk of twenty " + VALVE),
        hit(8, 21, 0, 0.8, "first chunk of twenty-one " + PUMP),
        hit(9, 20, 1, 0.7, "first chunk of twenty, unrelated words here and there"),
    ]
    passages = pack(hits, budget_tokens=10_000, duplicate_overlap=0.6).passages
    # Documents by their best passage; chunks of one document in reading order.
    assert [(p.document_id, p.chunk_id) for p in passages] == [(20, 9), (20, 7), (21, 8)]
    assert [p.n for p in passages] == [1, 2, 3]
    assert passages[0].label == "20.md · p. 2"


def test_budget_keeps_the_best_that_fit() -> None:
    hits = [
        hit(1, 1, 0, 0.9, PUMP, tokens=300),
        hit(2, 2, 0, 0.8, VALVE, tokens=300),
        hit(3, 3, 0, 0.7, "short note on pumps", tokens=20),
    ]
    packed = pack(hits, budget_tokens=400, duplicate_overlap=0.6)
    assert {p.chunk_id for p in packed.passages} == {1, 3}
    assert packed.tokens <= 400
    # A best passage larger than the whole budget is cut, never dropped.
    huge = pack(
        [hit(1, 1, 0, 0.9, PUMP * 40, tokens=900)], budget_tokens=100, duplicate_overlap=0.6
    )
    assert len(huge.passages) == 1 and len(huge.passages[0].text) < len(PUMP * 40)


def test_budget_fits_the_model_window() -> None:
    assert (
        budget(context_tokens=3000, model_context=None, answer_tokens=512, prompt_tokens=400)
        == 3000
    )
    assert (
        budget(context_tokens=3000, model_context=2048, answer_tokens=512, prompt_tokens=400)
        == 1136
    )
    assert (
        budget(context_tokens=3000, model_context=600, answer_tokens=512, prompt_tokens=400) == 64
    )
