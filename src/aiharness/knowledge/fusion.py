"""Fuse ranked lists from several retrieval modes (keyword, vector) into one ranking.

``rrf``: weighted reciprocal rank fusion, sum of w / (rrf_k + rank). ``minmax`` and ``zscore``:
weighted sums of per-list normalised scores (a document missing from a list gets 0 for min-max
and that list's lowest z for z-scores). ``zscore-adaptive``: z-scores with per-query weights, each
mode's weight scaled by how far its top hit stands above its own list (top z ** ``adapt_power``),
so the more confident mode leads on that query. Defaults come from
``benchmarks/bench_retrieval_quality.py --tune``
(tuned on two sets, checked on the other two, then swapped; see docs/retrieval.md).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from statistics import fmean, pstdev
from typing import Literal

FusionMethod = Literal["rrf", "minmax", "zscore", "zscore-adaptive"]
METHODS: tuple[FusionMethod, ...] = ("rrf", "minmax", "zscore", "zscore-adaptive")

# The fixed weights that the benchmark's grid (3 methods x keyword weights 0.1-0.9) chose on
# autorag-ko + emanual. Held out they miss the better single mode on msmarco-ko (-0.006) and
# msmarco-en (-0.052): no fixed weighting fits every set. Search uses them only when weights are
# configured; by default the weights follow the query's length (``query_length_weights``).
DEFAULT_METHOD: FusionMethod = "zscore"
DEFAULT_WEIGHTS: Mapping[str, float] = {"keyword": 0.7, "vector": 0.3}
# Keyword weight by the number of distinct analysed query terms: MIDPOINT at 8 terms, SLOPE more
# per doubling, kept within [FLOOR, CEILING]. Long questions share many exact terms with the
# passage that answers them (BM25 has more evidence); short ones are where meaning matters. The
# floor keeps a short code lookup (P-101A, KS-B-6311) keyword-led enough. Chosen on the four
# sets with the held-out protocol of docs/retrieval.md.
LENGTH_MIDPOINT = 0.5
LENGTH_SLOPE = 0.2
LENGTH_FLOOR = 0.4
LENGTH_CEILING = 0.9
DEFAULT_RRF_K = 60.0
# Exponent on the top-hit z-score in ``zscore-adaptive`` (0: plain ``zscore``). Held out, the
# adaptive weights did not beat the fixed default's worst case (docs/retrieval.md), so it is opt-in.
DEFAULT_ADAPT_POWER = 1.0
# Top z-scores below this count as this (a flat list still keeps a little weight).
_MIN_CONFIDENCE = 1e-3
# How many results each mode should contribute before fusion (more than k: a passage ranked 15th
# by both modes can beat one ranked 1st by only one of them).
DEFAULT_CANDIDATES = 100


# Keyword weight when the question and the passages that answer it are in different languages
# (``cross_language_weights``): BM25 then matches only names and codes the two share, and the
# multilingual vector side carries the search. Chosen with benchmarks/bench_cross_lingual.py.
CROSS_LANGUAGE_KEYWORD_WEIGHT = 0.1
# The bridge model's share of the vector score when the question and the passages are in
# different languages (``embedders.bridge``): 0.15 on msmarco-ko in both directions (English
# questions over Korean passages and the reverse), chosen with benchmarks/bench_cross_lingual.py.
CROSS_LANGUAGE_BRIDGE_WEIGHT = 0.15
# Added to the vector score of a passage in another language than the question when the
# collection holds another language than the question's (``languages``). The main model scores
# a question and a passage written in one language higher than the same pair across two
# (multilingual-e5-small: about 0.06 cosine), so in a bilingual collection the question's own
# language took the top ranks whatever they said.
# 0.05-0.07 are equally good on a bilingual msmarco-ko corpus (bench_cross_lingual.py, "mix").
CROSS_LANGUAGE_SCORE_OFFSET = 0.06


def is_cross_language(query_script: str | None, passage_scripts: Sequence[str | None]) -> bool:
    """Whether most of the passages (whose script is known) are in another script than the
    query; False when either is unknown."""
    known = [s for s in passage_scripts if s is not None]
    if query_script is None or not known:
        return False
    return 2 * sum(s != query_script for s in known) > len(known)


def cross_language_weights(
    weights: Mapping[str, float], query_script: str | None, passage_scripts: Sequence[str | None]
) -> dict[str, float]:
    """``weights`` with the keyword side cut to ``CROSS_LANGUAGE_KEYWORD_WEIGHT`` (the vector
    side taking the rest) when most top passages are in another script than the query."""
    out = dict(weights)
    if not is_cross_language(query_script, passage_scripts):
        return out
    total = out.get("keyword", 1.0) + out.get("vector", 1.0)
    keyword = min(out.get("keyword", 1.0), CROSS_LANGUAGE_KEYWORD_WEIGHT * total)
    out.update(keyword=keyword, vector=total - keyword)
    return out


def query_length_weights(
    n_terms: int,
    *,
    midpoint: float = LENGTH_MIDPOINT,
    slope: float = LENGTH_SLOPE,
    floor: float = LENGTH_FLOOR,
    ceiling: float = LENGTH_CEILING,
) -> dict[str, float]:
    """Keyword and vector weights (summing to 1) for a query of ``n_terms`` distinct terms."""
    keyword = midpoint + slope * math.log2(max(n_terms, 1) / 8)
    keyword = min(max(keyword, floor), ceiling)
    return {"keyword": keyword, "vector": 1.0 - keyword}


class FusionError(ValueError):
    """Bad fusion arguments (unknown method, negative weight)."""


def fuse(
    results_by_mode: Mapping[str, Sequence[tuple[str, float]]],
    method: FusionMethod = DEFAULT_METHOD,
    weights: Mapping[str, float] | None = None,
    k: int | None = None,
    *,
    rrf_k: float = DEFAULT_RRF_K,
    adapt_power: float = DEFAULT_ADAPT_POWER,
    complete: Mapping[str, int] | None = None,
    abstain: Mapping[str, Collection[str]] | None = None,
) -> list[tuple[str, float]]:
    """One ranking of ``(id, fused score)``, best first, at most ``k`` long (``None``: all).

    Each input list is ``(id, score)`` best first. Modes missing from ``weights`` weigh 1.
    Ties keep the order in which ids were first seen (mode order, then rank).

    ``complete`` maps a mode whose list holds every match (everything else scores 0, as BM25
    gives a chunk without any query term) to the length its list was asked for. A shorter list
    is then z-scored as if padded with zeros to that length: n scores alone reach a z of at most
    sqrt(n - 1), so the only exact match of a rare term got z = 0 (issue 14).

    ``abstain`` maps a mode to ids it cannot judge (the keyword side cannot match a passage in
    another language than the question): such an id is scored by the other modes alone, their
    weights scaled up to the same total, instead of counting the blind mode's floor against it.
    """
    if method not in METHODS:
        raise FusionError(f"unknown fusion method {method!r}; choose one of {', '.join(METHODS)}")
    weights = weights if weights is not None else DEFAULT_WEIGHTS
    if any(w < 0 for w in weights.values()):
        raise FusionError("fusion weights must be >= 0")
    if rrf_k < 0:
        raise FusionError("rrf_k must be >= 0")
    if adapt_power < 0:
        raise FusionError("adapt_power must be >= 0")
    normalised: dict[str, dict[str, float]] = {}
    # What a document a mode did not return earns from it (RRF, min-max: 0).
    floors: dict[str, float] = {}
    order: dict[str, int] = {}
    for mode, results in results_by_mode.items():
        ranked = _dedupe(results)
        if ranked:
            normalised[mode], floors[mode] = _normalise(
                ranked,
                "zscore" if method == "zscore-adaptive" else method,
                rrf_k,
                pad_to=(complete or {}).get(mode, 0),
            )
            for doc, _ in ranked:
                order.setdefault(doc, len(order))
    used = {mode: weights.get(mode, 1.0) for mode in normalised}
    if method == "zscore-adaptive":
        used = _adapt(used, normalised, adapt_power)
    blind = {mode: set(ids) for mode, ids in (abstain or {}).items() if mode in normalised}
    total = sum(used.values())
    fused = {}
    for doc in order:
        voting = [m for m in normalised if doc not in blind.get(m, ())] or list(normalised)
        weight = sum(used[m] for m in voting)
        scale = total / weight if weight > 0 else 0.0
        fused[doc] = scale * sum(used[m] * normalised[m].get(doc, floors[m]) for m in voting)
    ranking = sorted(fused.items(), key=lambda item: (-item[1], order[item[0]]))
    return ranking if k is None else ranking[:k]


def _adapt(
    weights: dict[str, float], normalised: dict[str, dict[str, float]], power: float
) -> dict[str, float]:
    """Per-query weights: each mode's weight times its top z-score ** ``power``, same total."""
    # The top hit's z-score says how far it stands out from the rest of its own list: a BM25 hit
    # matching rare query terms, or a dense hit well above the narrow cosine band, scores high.
    scaled = {
        mode: w * max(max(normalised[mode].values()), _MIN_CONFIDENCE) ** power
        for mode, w in weights.items()
    }
    total, scaled_total = sum(weights.values()), sum(scaled.values())
    if scaled_total <= 0:
        return weights
    return {mode: total * value / scaled_total for mode, value in scaled.items()}


def _dedupe(results: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    seen: set[str] = set()
    out = []
    for doc, score in results:
        if doc not in seen:
            seen.add(doc)
            out.append((doc, float(score)))
    return out


def _normalise(
    ranked: list[tuple[str, float]], method: FusionMethod, rrf_k: float, *, pad_to: int = 0
) -> tuple[dict[str, float], float]:
    """Normalised scores and the floor a document missing from the list gets."""
    if method == "rrf":
        return {doc: 1.0 / (rrf_k + rank) for rank, (doc, _) in enumerate(ranked, start=1)}, 0.0
    scores = [s for _, s in ranked]
    if method == "minmax":
        low, high = min(scores), max(scores)
        span = high - low
        # A single result (or all equal) carries no spread: treat every one as a full match.
        return {doc: (s - low) / span if span > 0 else 1.0 for doc, s in ranked}, 0.0
    padded = scores + [0.0] * max(0, pad_to - len(scores))
    mean, std = fmean(padded), pstdev(padded)
    z = {doc: (s - mean) / std if std > 0 else 0.0 for doc, s in ranked}
    # Left out of a complete list means a score of 0; otherwise the list's lowest z (a floor of
    # 0 would rank a missing document above the list's tail).
    floor = (-mean / std if std > 0 else 0.0) if len(padded) > len(scores) else min(z.values())
    return z, floor
