"""Score fusion: weighted RRF and normalised weighted sums."""

from __future__ import annotations

import pytest

from aiharness.knowledge.fusion import (
    DEFAULT_METHOD,
    DEFAULT_WEIGHTS,
    METHODS,
    FusionError,
    fuse,
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


def test_defaults_are_usable() -> None:
    assert DEFAULT_METHOD in METHODS
    assert set(DEFAULT_WEIGHTS) == {"keyword", "vector"}
    fused = fuse({"keyword": KEYWORD, "vector": VECTOR})
    assert {d for d, _ in fused} == {"a", "b", "c", "d"}
