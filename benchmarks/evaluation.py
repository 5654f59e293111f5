"""Ranking metrics for retrieval evaluation: Recall@k, MRR@k and nDCG@k with graded relevance.

``ranked`` is a list of passage ids, best first; ``relevant`` maps passage id -> grade (> 0 is
relevant). nDCG uses linear gain (grade / log2(rank + 1)), as trec_eval and BEIR do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import fmean


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    """Share of the relevant passages found in the top ``k``."""
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    if not wanted:
        raise ValueError("recall needs at least one relevant passage")
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def mrr_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    """1 / rank of the first relevant passage in the top ``k`` (0 when none)."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    """Discounted cumulative gain of the top ``k`` over that of the ideal ordering."""
    gains = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    if not gains:
        raise ValueError("nDCG needs at least one relevant passage")
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    seen: set[str] = set()
    dcg = 0.0
    for i, doc in enumerate(ranked[:k]):
        if doc in seen:  # a duplicate id must not earn its gain twice
            continue
        seen.add(doc)
        dcg += max(relevant.get(doc, 0), 0) / math.log2(i + 2)
    return dcg / ideal


def evaluate(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, float]],
    k: int = 10,
) -> dict[str, float]:
    """Mean Recall@k, MRR@k and nDCG@k over every judged query (a query with no run scores 0)."""
    judged = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not judged:
        raise ValueError("no query has a relevant passage")
    per_query = [
        (
            recall_at_k(run.get(q, ()), qrels[q], k),
            mrr_at_k(run.get(q, ()), qrels[q], k),
            ndcg_at_k(run.get(q, ()), qrels[q], k),
        )
        for q in judged
    ]
    return {
        f"recall@{k}": fmean(r for r, _, _ in per_query),
        f"mrr@{k}": fmean(m for _, m, _ in per_query),
        f"ndcg@{k}": fmean(n for _, _, n in per_query),
        "queries": float(len(judged)),
    }
