"""Retrieval metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest
from benchmarks.evaluation import evaluate, mrr_at_k, ndcg_at_k, recall_at_k

pytestmark = pytest.mark.unit


def test_recall_counts_relevant_found_in_top_k() -> None:
    relevant = {"a": 1, "b": 2, "z": 0}
    assert recall_at_k(["x", "a", "y", "b"], relevant, 10) == 1.0
    assert recall_at_k(["x", "a", "y", "b"], relevant, 2) == 0.5
    assert recall_at_k([], relevant, 10) == 0.0


def test_mrr_uses_the_first_relevant_rank_within_k() -> None:
    assert mrr_at_k(["x", "y", "a"], {"a": 1}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "a"], {"a": 1}, 2) == 0.0
    assert mrr_at_k(["z"], {"z": 0}, 10) == 0.0  # grade 0 is judged non-relevant


def test_ndcg_with_graded_relevance() -> None:
    relevant = {"a": 3, "b": 1}
    ranked = ["b", "x", "a"]
    dcg = 1 / math.log2(2) + 3 / math.log2(4)
    ideal = 3 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(ranked, relevant, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["a", "b"], relevant, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "a", "a"], {"a": 1, "b": 1}, 10) == pytest.approx(
        1 / (1 + 1 / math.log2(3))
    )


def test_ndcg_ideal_is_cut_at_k() -> None:
    assert ndcg_at_k(["a"], {"a": 1, "b": 1, "c": 1}, 1) == pytest.approx(1.0)


def test_metrics_need_a_relevant_passage() -> None:
    with pytest.raises(ValueError, match="relevant"):
        recall_at_k(["a"], {"a": 0}, 10)
    with pytest.raises(ValueError, match="relevant"):
        ndcg_at_k(["a"], {}, 10)


def test_evaluate_averages_over_judged_queries() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    result = evaluate({"q1": ["a"], "q2": ["x", "b"]}, qrels, k=10)
    assert result["queries"] == 2
    assert result["recall@10"] == 1.0
    assert result["mrr@10"] == pytest.approx((1 + 0.5) / 2)
    missing_run = evaluate({"q1": ["a"]}, qrels, k=10)
    assert missing_run["recall@10"] == 0.5
    with pytest.raises(ValueError, match="no query"):
        evaluate({}, {"q": {}}, k=10)
