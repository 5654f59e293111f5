"""Citation markers: canonical form, markers of unseen passages removed, refusals recognised."""

from __future__ import annotations

import pytest

from aiharness.assistant import citations
from aiharness.assistant.passages import Language
from aiharness.assistant.relevance import not_found_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "valid", "answer", "cited"),
    [
        ("Oil every 3 months [1].", {1, 2}, "Oil every 3 months [1].", [1]),
        ("Both say so [1, 2].", {1, 2}, "Both say so [1][2].", [1, 2]),
        ("Both say so [2][1].", {1, 2}, "Both say so [2][1].", [2, 1]),
        ("Range [1-3] here.", {1, 2, 3}, "Range [1][2][3] here.", [1, 2, 3]),
        ("전각 괄호【2】와 ［1］.", {1, 2}, "전각 괄호[2]와 [1].", [2, 1]),
        ("Footnote style [^1].", {1}, "Footnote style [1].", [1]),
        ("Named [source 2] and [문서 1].", {1, 2}, "Named [2] and [1].", [2, 1]),
        ("Invented [7].", {1, 2}, "Invented.", []),
        ("Mixed [1, 9] here [9].", {1}, "Mixed [1] here.", [1]),
        ("Twice [1][1] is once.", {1}, "Twice [1] is once.", [1]),
        ("Not a marker: array[0] or [a].", {1}, "Not a marker: array or [a].", []),
    ],
)
def test_clean(raw: str, valid: set[int], answer: str, cited: list[int]) -> None:
    assert citations.clean(raw, valid) == (answer, cited)


def test_no_marker_survives_without_a_passage() -> None:
    raw = "A [1]. B [2, 3]. C 【4】. D [5-6]. E [12]."
    answer, cited = citations.clean(raw, {2, 5})
    assert set(citations.markers(answer)) == set(cited) == {2, 5}


@pytest.mark.parametrize(
    "text",
    [
        not_found_text("en"),
        not_found_text("ko"),
        "The documents do not mention the torque value.",
        "The passages don't say how often.",
        "This is not covered in the documents.",
        "문서에서 해당 내용을 찾을 수 없습니다.",
        "주어진 구절에는 관련 정보가 없습니다.",
        "",
    ],
)
def test_refusals_are_recognised(text: str) -> None:
    languages: tuple[Language, ...] = ("en", "ko")
    for language in languages:
        assert citations.says_not_found(text, not_found_text(language))


@pytest.mark.parametrize(
    "text",
    [
        "The compressor trips at 105 °C [1].",
        "베어링 그리스는 2,000 운전시간마다 보충한다 [2].",
        "Close the valve; the documents say nothing else is needed first [1].",
        "문서에는 예외가 없습니다 [1].",
    ],
)
def test_answers_are_not_refusals(text: str) -> None:
    assert not citations.says_not_found(text, not_found_text("en"))
