"""The in-process BM25 index: scores, add/replace/remove, filters."""

from __future__ import annotations

import math

import pytest
from benchmarks.bm25 import BM25Index

pytestmark = pytest.mark.unit


def _index(**docs: str) -> BM25Index:
    index = BM25Index()
    index.add_many((doc_id, text.split()) for doc_id, text in docs.items())
    return index


def test_score_matches_the_bm25_formula() -> None:
    index = _index(a="pump seal pump", b="valve", c="motor bearing")
    ((doc, score),) = index.search(["pump"], k=5)
    n, df, tf, dl, avgdl, k1, b = 3, 1, 2, 3, 2.0, 1.2, 0.75
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    expected = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
    assert doc == "a"
    assert score == pytest.approx(expected)


def test_rarer_terms_and_shorter_documents_rank_higher() -> None:
    index = _index(
        a="pump pump pump",
        b="pump seal",
        c="pump impeller casing shaft coupling base",
        d="seal kit",
    )
    ranked = [doc for doc, _ in index.search(["pump"], k=10)]
    assert ranked == ["a", "b", "c"]
    # "impeller" is in one document, "pump" in three: the rare term decides.
    assert index.search(["pump", "impeller"], k=1)[0][0] == "c"


def test_unknown_terms_empty_index_and_k_zero() -> None:
    assert BM25Index().search(["pump"]) == []
    index = _index(a="pump")
    assert index.search(["nothing"]) == []
    assert index.search([]) == []
    assert index.search(["pump"], k=0) == []


def test_duplicate_query_terms_count_once() -> None:
    index = _index(a="pump seal", b="seal")
    assert index.search(["pump", "pump"], k=1) == index.search(["pump"], k=1)


def test_add_replaces_and_remove_forgets() -> None:
    index = _index(a="pump", b="valve")
    index.add("a", ["compressor"])
    assert len(index) == 2
    assert index.search(["pump"]) == []
    assert index.search(["compressor"])[0][0] == "a"
    assert index.remove("a") is True
    assert index.remove("a") is False
    assert "a" not in index
    assert index.search(["compressor"]) == []
    assert index.vocabulary_size == 1  # "valve"; removed terms leave no postings behind
    index.add("c", ["valve", "valve"])  # reuses the freed slot
    assert [d for d, _ in index.search(["valve"])] == ["c", "b"]
    assert index.remove_many(["b", "c", "zzz"]) == 2
    assert len(index) == 0


def test_statistics_follow_removal() -> None:
    index = _index(a="pump seal", b="pump", c="valve")
    before = index.search(["pump"], k=5)
    index.add("d", ["pump"] * 50)
    index.remove("d")
    after = index.search(["pump"], k=5)
    assert [d for d, _ in after] == [d for d, _ in before]
    assert [s for _, s in after] == pytest.approx([s for _, s in before])


def test_filters_by_id_set_and_predicate() -> None:
    index = _index(a="pump pump", b="pump", c="pump seal", d="valve")
    assert [d for d, _ in index.search(["pump"], ids={"b", "c", "zz"})] == ["b", "c"]
    assert [d for d, _ in index.search(["pump"], predicate=lambda d: d != "a")] == ["b", "c"]
    assert index.search(["pump"], ids=set()) == []
    # The predicate is applied before cutting to k, so a filtered top-1 is still found.
    assert index.search(["pump"], k=1, predicate=lambda d: d == "c")[0][0] == "c"


def test_ties_are_ordered_by_insertion_and_k_limits() -> None:
    index = _index(z="pump", y="pump", x="pump")
    assert [d for d, _ in index.search(["pump"], k=2)] == ["z", "y"]


def test_clear_and_bad_parameters() -> None:
    index = _index(a="pump")
    index.clear()
    assert len(index) == 0
    assert index.search(["pump"]) == []
    with pytest.raises(ValueError, match="k1"):
        BM25Index(k1=-1)
    with pytest.raises(ValueError, match="b <= 1"):
        BM25Index(b=2)
