"""What a question asks for (a time, a length, a current, a price) and whether a sentence
states it, in Korean and English."""

from __future__ import annotations

import pytest

from aiharness.assistant.dimensions import asked_dimensions, states

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("HX-201 전열판 두께는 몇 mm인가요?", {"length"}),
        ("AC-2 주 전동기의 전부하 전류는 몇 A인가요?", {"current"}),
        ("윤활유는 얼마나 자주 교체하나요?", {"time"}),
        ("냉각탑 충전재 교체 비용은 얼마인가요?", {"money"}),
        ("How long must the space be ventilated?", {"time", "length"}),
        ("What is the relief valve pressure?", {"pressure"}),
        ("What is the torque for the P-101 impeller nut?", {"torque"}),
    ],
)
def test_the_dimension_asked_for(question: str, wanted: set[str]) -> None:
    assert set().union(*asked_dimensions(question)) == wanted


def test_questions_without_a_dimension() -> None:
    assert asked_dimensions("Who is the vendor's service contact?") == []
    assert asked_dimensions("LOTO 절차를 알려 주세요") == []


def test_a_sentence_states_a_value_with_its_unit() -> None:
    assert states("the full-load current is 138 A.", frozenset({"current"}))
    assert not states("Check it 2 a day.", frozenset({"current"}))  # not a unit
    assert states("윤활유는 3개월마다 교체한다.", frozenset({"time"}))
    assert states("Clean the strainer weekly.", frozenset({"time"}))
    assert states("길이 35 mm의 들뜸", frozenset({"length"}))
    assert not states("전열판 SUS316 121장", frozenset({"length"}))
    for money in ("교체 비용은 5천만원이다", "1억 원", "$1,200 per unit", "USD 300"):
        assert states(money, frozenset({"money"})), money
    assert not states("The pump runs at 1,780 rpm.", frozenset({"money"}))
    assert states("임펠러 너트 | M24 왼나사 | 95 N·m", frozenset({"torque"}))
    assert not states("a 5 nm film", frozenset({"torque"}))
