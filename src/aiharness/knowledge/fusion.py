"""Fuse ranked lists from several retrieval modes (keyword, vector) into one ranking.

``rrf``: weighted reciprocal rank fusion, sum of w / (rrf_k + rank). ``minmax`` and ``zscore``:
weighted sums of per-list normalised scores (a document missing from a list gets 0 for min-max
and that list's lowest z for z-scores). Defaults come from
``benchmarks/bench_retrieval_quality.py --tune``
(tuned on autorag-ko + emanual, checked on msmarco-ko + msmarco-en; see docs/retrieval.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import fmean, pstdev
from typing import Literal

FusionMethod = Literal["rrf", "minmax", "zscore"]
METHODS: tuple[FusionMethod, ...] = ("rrf", "minmax", "zscore")

# Chosen by the benchmark's grid (3 methods x keyword weights 0.1-0.9) on autorag-ko + emanual,
# maximising the worst margin over the better single mode. Held out, it is +/-0.01 of the better
# mode on msmarco-ko but 0.05 below vector on msmarco-en: no fixed weighting fits every set.
DEFAULT_METHOD: FusionMethod = "zscore"
DEFAULT_WEIGHTS: Mapping[str, float] = {"keyword": 0.7, "vector": 0.3}
DEFAULT_RRF_K = 60.0
# How many results each mode should contribute before fusion (more than k: a passage ranked 15th
# by both modes can beat one ranked 1st by only one of them).
DEFAULT_CANDIDATES = 100


class FusionError(ValueError):
    """Bad fusion arguments (unknown method, negative weight)."""


def fuse(
    results_by_mode: Mapping[str, Sequence[tuple[str, float]]],
    method: FusionMethod = DEFAULT_METHOD,
    weights: Mapping[str, float] | None = None,
    k: int | None = None,
    *,
    rrf_k: float = DEFAULT_RRF_K,
) -> list[tuple[str, float]]:
    """One ranking of ``(id, fused score)``, best first, at most ``k`` long (``None``: all).

    Each input list is ``(id, score)`` best first. Modes missing from ``weights`` weigh 1.
    Ties keep the order in which ids were first seen (mode order, then rank).
    """
    if method not in METHODS:
        raise FusionError(f"unknown fusion method {method!r}; choose one of {', '.join(METHODS)}")
    weights = weights if weights is not None else DEFAULT_WEIGHTS
    if any(w < 0 for w in weights.values()):
        raise FusionError("fusion weights must be >= 0")
    if rrf_k < 0:
        raise FusionError("rrf_k must be >= 0")
    normalised: dict[str, dict[str, float]] = {}
    order: dict[str, int] = {}
    for mode, results in results_by_mode.items():
        ranked = _dedupe(results)
        if ranked:
            normalised[mode] = _normalise(ranked, method, rrf_k)
            for doc, _ in ranked:
                order.setdefault(doc, len(order))
    # A document a mode did not return earns nothing from it (RRF, min-max: 0) or, for z-scores,
    # the lowest z of that list (a z-score floor of 0 would rank it above the list's tail).
    floors = {
        mode: min(values.values()) if method == "zscore" else 0.0
        for mode, values in normalised.items()
    }
    fused = {
        doc: sum(
            weights.get(mode, 1.0) * values.get(doc, floors[mode])
            for mode, values in normalised.items()
        )
        for doc in order
    }
    ranking = sorted(fused.items(), key=lambda item: (-item[1], order[item[0]]))
    return ranking if k is None else ranking[:k]


def _dedupe(results: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    seen: set[str] = set()
    out = []
    for doc, score in results:
        if doc not in seen:
            seen.add(doc)
            out.append((doc, float(score)))
    return out


def _normalise(
    ranked: list[tuple[str, float]], method: FusionMethod, rrf_k: float
) -> dict[str, float]:
    if method == "rrf":
        return {doc: 1.0 / (rrf_k + rank) for rank, (doc, _) in enumerate(ranked, start=1)}
    scores = [s for _, s in ranked]
    if method == "minmax":
        low, high = min(scores), max(scores)
        span = high - low
        # A single result (or all equal) carries no spread: treat every one as a full match.
        return {doc: (s - low) / span if span > 0 else 1.0 for doc, s in ranked}
    mean, std = fmean(scores), pstdev(scores)
    return {doc: (s - mean) / std if std > 0 else 0.0 for doc, s in ranked}
