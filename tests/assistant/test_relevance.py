"""The relevance check: refuses questions the passages do not answer, in both languages."""

from __future__ import annotations

import pytest

from aiharness.assistant.passages import Passage
from aiharness.assistant.relevance import answerable, not_found_text, relevance

pytestmark = pytest.mark.unit


def passage(n: int, text: str, similarity: float | None, heading: str | None = None) -> Passage:
    return Passage(
        n=n,
        chunk_id=n,
        document_id=n,
        source_path=f"/docs/{n}.md",
        file_name=f"{n}.md",
        page=None,
        heading=heading,
        score=1.0,
        text=text,
        collection="plant",
        similarity=similarity,
    )


# Similarities as the product's embedder gives them: about 0.85-0.93 for a passage that answers
# the question, about 0.77-0.83 for the best of unrelated passages.
CHILLER_KO = (
    "냉동기 CH-2의 응축기 튜브는 매년 10월에 브러시로 세척한다. 세척 후 접근 온도를 기록한다."
)
PRESS_EN = (
    "The hydraulic press HP-3 relief valve is set to 210 bar. Check the setting every six months."
)


def test_on_topic_korean_question_is_answerable() -> None:
    given = [passage(1, CHILLER_KO, 0.89, heading="냉동기 CH-2 정비")]
    assert answerable("CH-2 냉동기 응축기 튜브 세척 시기는?", given)


def test_off_topic_korean_question_is_refused() -> None:
    given = [passage(1, CHILLER_KO, 0.81), passage(2, PRESS_EN, 0.78)]
    assert not answerable("지게차 배터리 충전 시간은 얼마인가요?", given)


def test_on_topic_english_question_is_answerable() -> None:
    given = [passage(1, PRESS_EN, 0.9), passage(2, CHILLER_KO, 0.8)]
    assert answerable("What is the relief valve setting of press HP-3?", given)


def test_off_topic_english_question_is_refused() -> None:
    given = [passage(1, PRESS_EN, 0.8), passage(2, CHILLER_KO, 0.79)]
    assert not answerable("How often must the sprinkler system be flow-tested?", given)


def test_cross_language_question_relies_on_similarity() -> None:
    # English question, Korean passage: hardly any term in common, the vector side decides.
    close = [passage(1, CHILLER_KO, 0.87)]
    far = [passage(1, CHILLER_KO, 0.76)]
    question = "When are the CH-2 condenser tubes cleaned?"
    signals = relevance(question, close)
    assert signals.cross_language
    assert answerable(question, close)
    assert not answerable(question, far)


def test_keyword_only_passages_are_judged_on_coverage() -> None:
    given = [passage(1, PRESS_EN, None)]
    assert answerable("relief valve setting of press HP-3", given)
    assert not answerable("forklift battery charging time", given)


def test_no_passages_is_not_answerable() -> None:
    assert not answerable("anything", [])


def test_coverage_counts_heading_terms() -> None:
    given = [passage(1, "Clean them with a soft brush.", None, heading="Condenser tubes")]
    assert relevance("condenser tubes", given).coverage == pytest.approx(1.0)


def test_not_found_text_in_both_languages() -> None:
    assert not_found_text("en").startswith("The documents do not say")
    assert not_found_text("ko").startswith("문서에서 찾을 수 없습니다")


HX_KO = "판형 열교환기 HX-201의 전열판은 SUS316 121장이다. 전열판 두께 점검은 분해 정비 때 한다."


def test_a_value_asked_for_must_be_stated_near_the_question() -> None:
    # The passage is about the very thing asked, but states no length: "몇 mm" is not answered.
    given = [passage(1, HX_KO, 0.9, heading="HX-201 정비")]
    asked = relevance("HX-201 전열판 두께는 몇 mm인가요?", given)
    assert asked.value_missing and not answerable("HX-201 전열판 두께는 몇 mm인가요?", given)
    stated = [passage(1, HX_KO + " 전열판 두께는 0.5 mm이다.", 0.9, heading="HX-201 정비")]
    assert answerable("HX-201 전열판 두께는 몇 mm인가요?", stated)
    # The value may be stated in the other language's passage of a mixed collection.
    assert answerable(
        "What is the relief valve setting of press HP-3?", [passage(1, PRESS_EN, 0.9)]
    )
    english_cost = "What does the HP-3 relief valve cost?"
    assert relevance(english_cost, [passage(1, PRESS_EN, 0.9)]).value_missing


def test_a_question_about_one_machine_is_not_answered_from_another_machines_document() -> None:
    other = passage(1, "Change the oil filter element OF-118 every 2,000 hours.", 0.85)
    named = passage(2, "CV-03 belt conveyor: the belt is 800 mm wide.", 0.83)
    question = "What is the oil change interval for the CV-03 gearbox?"
    signals = relevance(question, [other, named])
    assert signals.missing_code == 0.0  # CV-03 is named, but not where the oil change is
    assert not answerable(question, [other, named])
    right = passage(3, "CV-03 gearbox: change the oil every 5,000 hours.", 0.88)
    assert answerable(question, [other, named, right])


def test_a_question_naming_two_machines_may_be_answered_from_either_document() -> None:
    first = passage(1, "P-101 bearing: regrease every 2,000 hours with 18 g.", 0.88)
    second = passage(2, "P-102 bearing: regrease every 4,000 hours with 12 g.", 0.87)
    assert answerable("How often are the P-101 and P-102 bearings regreased?", [first, second])
