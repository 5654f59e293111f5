"""Score fusion: weighted RRF, normalised weighted sums and query-adaptive z-score weights."""

from __future__ import annotations

import pytest

from aiharness.knowledge.fusion import (
    DEFAULT_METHOD,
    DEFAULT_WEIGHTS,
    LENGTH_CEILING,
    LENGTH_FLOOR,
    METHODS,
    FusionError,
    fuse,
    query_length_weights,
)

pytestmark = pytest.mark.unit

KEYWORD = [("a", 12.0), ("b", 8.0), ("c", 2.0)]
VECTOR = [("c", 0.91), ("d", 0.90), ("a", 0.50)]


def test_rrf_rewards_documents_found_by_both_modes() -> None:
    fused = fuse({"keyword": KEYWORD, "vector": VECTOR}, "rrf", {"keyword": 1, "vector": 1})
    by_id = dict(fused)
    assert by_id["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert by_id["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert by_id["d"] == pytest.approx(1 / 62)
    # a and c tie: the order first seen (keyword list first) breaks it.
    assert [d for d, _ in fused] == ["a", "c", "b", "d"]


def test_rrf_constant_and_weights() -> None:
    fused = fuse(
        {"keyword": KEYWORD, "vector": VECTOR}, "rrf", {"keyword": 3, "vector": 1}, rrf_k=0
    )
    assert dict(fused)["b"] == pytest.approx(3 / 2)
    assert fused[0][0] == "a"


def test_zero_weight_reproduces_the_other_mode() -> None:
    for method in METHODS:
        fused = fuse({"keyword": KEYWORD, "vector": VECTOR}, method, {"keyword": 0, "vector": 1})
        assert [d for d, _ in fused][:3] == ["c", "d", "a"], method


def test_minmax_is_a_weighted_sum_of_normalised_scores() -> None:
    fused = dict(
        fuse({"keyword": KEYWORD, "vector": VECTOR}, "minmax", {"keyword": 0.5, "vector": 0.5})
    )
    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert fused["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    assert fused["b"] == pytest.approx(0.5 * 0.6 + 0.5 * 0.0)  # missing from vector: its floor
    assert fused["d"] == pytest.approx(0.5 * 0.0 + 0.5 * (0.40 / 0.41))


def test_zscore_missing_documents_get_the_lowest_z() -> None:
    fused = dict(fuse({"keyword": [("a", 3.0), ("b", 1.0)], "vector": [("c", 1.0)]}, "zscore", {}))
    # keyword z: a=+1, b=-1; vector has one score (no spread): c=0 and floor 0.
    assert fused == pytest.approx({"a": 1.0, "b": -1.0, "c": -1.0 + 0.0})


# One clear keyword hit (k1) far above a flat tail; vector scores in a narrow cosine band.
STANDOUT = [("k1", 20.0), ("k2", 2.0), ("k3", 1.9), ("k4", 1.8), ("s", 1.7)]
BAND = [("v1", 0.84), ("s", 0.835), ("v3", 0.83), ("v4", 0.83), ("k1", 0.80)]


def _z(results: list[tuple[str, float]]) -> dict[str, float]:
    values = [score for _, score in results]
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return {doc: (score - mean) / std for doc, score in results}


def test_adaptive_weights_scale_with_each_modes_top_z() -> None:
    weights = {"keyword": 0.3, "vector": 0.7}
    fused = dict(fuse({"keyword": STANDOUT, "vector": BAND}, "zscore-adaptive", weights))
    zk, zv = _z(STANDOUT), _z(BAND)
    a, b = 0.3 * max(zk.values()), 0.7 * max(zv.values())
    wk, wv = a / (a + b), b / (a + b)  # same total (1.0) as the configured weights
    assert fused["k1"] == pytest.approx(wk * zk["k1"] + wv * zv["k1"])
    assert fused["v1"] == pytest.approx(wk * min(zk.values()) + wv * zv["v1"])
    assert wk > 0.3  # the keyword list's top stands further out, so it gains weight


def test_adaptive_lifts_the_confident_modes_top_hit() -> None:
    weights = {"keyword": 0.3, "vector": 0.7}
    fixed = [d for d, _ in fuse({"keyword": STANDOUT, "vector": BAND}, "zscore", weights)]
    adaptive = [
        d for d, _ in fuse({"keyword": STANDOUT, "vector": BAND}, "zscore-adaptive", weights)
    ]
    assert adaptive.index("k1") < fixed.index("k1")


def test_adaptive_with_power_zero_is_plain_zscore() -> None:
    weights = {"keyword": 0.3, "vector": 0.7}
    modes = {"keyword": STANDOUT, "vector": BAND}
    plain = fuse(modes, "zscore", weights)
    adaptive = fuse(modes, "zscore-adaptive", weights, adapt_power=0)
    assert [d for d, _ in adaptive] == [d for d, _ in plain]
    assert dict(adaptive) == pytest.approx(dict(plain))


def test_adaptive_survives_flat_and_single_result_lists() -> None:
    # No spread in either list: every top z is 0, so the configured weights stay as they are.
    fused = fuse({"keyword": [("a", 1.0), ("b", 1.0)], "vector": [("b", 0.5)]}, "zscore-adaptive")
    assert {d for d, _ in fused} == {"a", "b"}


def test_single_result_and_equal_scores_do_not_divide_by_zero() -> None:
    fused = fuse({"keyword": [("a", 5.0), ("b", 5.0)], "vector": [("b", 0.3)]}, "minmax", {})
    assert [d for d, _ in fused] == ["b", "a"]


def test_k_empty_modes_and_duplicates() -> None:
    assert fuse({}, "rrf") == []
    assert fuse({"keyword": [], "vector": []}, "minmax") == []
    assert len(fuse({"keyword": KEYWORD, "vector": VECTOR}, "rrf", k=2)) == 2
    fused = dict(fuse({"keyword": [("a", 2.0), ("a", 1.0), ("b", 0.5)]}, "rrf", {}))
    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62})


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(FusionError, match="unknown fusion method"):
        fuse({"keyword": KEYWORD}, "borda")  # type: ignore[arg-type]
    with pytest.raises(FusionError, match=">= 0"):
        fuse({"keyword": KEYWORD}, "rrf", {"keyword": -1})
    with pytest.raises(FusionError, match="adapt_power"):
        fuse({"keyword": KEYWORD}, "zscore-adaptive", adapt_power=-1)


def test_defaults_are_usable() -> None:
    assert DEFAULT_METHOD in METHODS
    assert set(DEFAULT_WEIGHTS) == {"keyword", "vector"}
    fused = fuse({"keyword": KEYWORD, "vector": VECTOR})
    assert {d for d, _ in fused} == {"a", "b", "c", "d"}


def test_query_length_weights_lean_on_keywords_as_queries_grow() -> None:
    weights = [query_length_weights(n)["keyword"] for n in (1, 4, 8, 16, 32, 200)]
    assert weights == sorted(weights)
    assert weights[0] == LENGTH_FLOOR and weights[-1] == LENGTH_CEILING
    assert query_length_weights(8) == pytest.approx({"keyword": 0.5, "vector": 0.5})
    assert query_length_weights(16)["keyword"] == pytest.approx(0.7)
    assert all(sum(query_length_weights(n).values()) == pytest.approx(1.0) for n in range(40))


def test_a_short_complete_keyword_list_keeps_its_exact_match_on_top() -> None:
    # Issue 14: one keyword match alone has no spread (z = 0) and n matches reach at most
    # sqrt(n - 1); a complete list is z-scored against the zeros of everything it left out.
    keyword = [("exact", 9.0)]
    vector = [(f"v{i}", 0.90 - i * 0.01) for i in range(20)] + [("exact", 0.60)]
    weights = {"keyword": 0.4, "vector": 0.6}
    plain = fuse({"keyword": keyword, "vector": vector}, "zscore", weights)
    assert plain[0][0] == "v0"  # the old way: the only exact match sinks
    padded = fuse(
        {"keyword": keyword, "vector": vector}, "zscore", weights, complete={"keyword": 100}
    )
    assert padded[0][0] == "exact"
    # Documents the complete list left out get the z of a zero score, not a bonus.
    by_id = dict(padded)
    assert by_id["v0"] == pytest.approx(
        0.4 * (-0.09 / (9 * 99**0.5 / 100))
        + 0.6 * dict(fuse({"vector": vector}, "zscore", {"vector": 1.0}))["v0"]
    )
    # A list already as long as asked for is unchanged; other methods ignore ``complete``.
    full = [(f"k{i}", float(100 - i)) for i in range(100)]
    assert fuse({"keyword": full}, "zscore", {}) == fuse(
        {"keyword": full}, "zscore", {}, complete={"keyword": 100}
    )
    assert fuse({"keyword": keyword, "vector": vector}, "rrf", weights) == fuse(
        {"keyword": keyword, "vector": vector}, "rrf", weights, complete={"keyword": 100}
    )


def test_cross_language_weights_lean_on_vectors_only_across_languages() -> None:
    from aiharness.knowledge.fusion import CROSS_LANGUAGE_KEYWORD_WEIGHT, cross_language_weights

    weights = {"keyword": 0.6, "vector": 0.4}
    across = cross_language_weights(weights, "latin", ["hangul", "hangul", "latin"])
    assert across["keyword"] == pytest.approx(CROSS_LANGUAGE_KEYWORD_WEIGHT)
    assert across["keyword"] + across["vector"] == pytest.approx(1.0)
    assert cross_language_weights(weights, "hangul", ["hangul", "latin", None]) == weights
    assert cross_language_weights(weights, None, ["hangul"]) == weights
    assert cross_language_weights(weights, "latin", [None, None]) == weights
    # Already vector-led: never raised.
    low = {"keyword": 0.05, "vector": 0.95}
    assert cross_language_weights(low, "latin", ["hangul"]) == low


def test_a_mode_that_cannot_judge_a_document_has_no_say_on_it() -> None:
    # "k" is a Korean passage for an English question: BM25 could not match it, the vector
    # side ranks it first. Counted as a keyword miss, the English passages that share a word
    # with the question win; with the keyword side abstaining, the vector side decides.
    keyword = [("e1", 9.0), ("e2", 7.0)]
    vector = [("k", 0.90), ("e1", 0.80), ("e2", 0.70), ("e3", 0.60)]
    weights = {"keyword": 0.5, "vector": 0.5}
    plain = fuse({"keyword": keyword, "vector": vector}, "zscore", weights)
    assert plain[0][0] == "e1"
    fair = dict(
        fuse({"keyword": keyword, "vector": vector}, "zscore", weights, abstain={"keyword": {"k"}})
    )
    assert max(fair, key=lambda d: fair[d]) == "k"
    # Its score is the vector side's alone, carrying the total weight.
    z_vector = dict(fuse({"vector": vector}, "zscore", {"vector": 1.0}))
    assert fair["k"] == pytest.approx(z_vector["k"])
    # Everyone else is scored as before.
    assert {d: s for d, s in fair.items() if d != "k"} == pytest.approx(
        {d: s for d, s in plain if d != "k"}
    )
