"""Extractive answers: the sentence holding the asked fact, valid markers, 1-3 clean sentences."""

from __future__ import annotations

import re

import pytest

from aiharness.assistant.extractive import answer_kinds, clean_sentence, extract_answer
from aiharness.assistant.passages import Passage
from aiharness.knowledge.public import split_sentences

pytestmark = pytest.mark.unit

_MARKER = re.compile(r"\[(\d+)\]")


def passage(n: int, text: str, heading: str | None = None, name: str = "doc.md") -> Passage:
    return Passage(
        n=n,
        chunk_id=100 + n,
        document_id=n,
        source_path=f"/docs/{name}",
        file_name=name,
        page=None,
        heading=heading,
        score=1.0 / n,
        text=text,
        collection="plant",
    )


BOILER_KO = passage(
    1,
    "# 보일러 B-7 운전 지침\n"
    "보일러 B-7은 노통연관식 증기 보일러이며 정격 증발량은 4 t/h이다. "
    "급수 펌프는 두 대가 교대로 운전한다.\n"
    "안전밸브 작동 시험은 매월 1회 실시하며, 설정 압력은 1.0 MPa이다. "
    "시험 결과는 보일러 일지에 기록한다.",
    heading="보일러 B-7 운전 지침",
)
FAN_EN = passage(
    2,
    "## Exhaust fan EF-4\n"
    "The exhaust fan EF-4 removes solvent vapour from the paint booth. "
    "Its belt is checked for wear every month. "
    "Replace the V-belt when it has stretched by more than 2 %; the belt part number is B-5520.\n"
    "1. Isolate the fan motor at MCC-2.\n"
    "2. Remove the belt guard.\n"
    "3. Slacken the motor base and fit the new belt.",
    heading="Fans > Exhaust fan EF-4",
    name="fans.md",
)
OTHER = passage(
    3, "The canteen opens at 11:30. Visitors sign in at the gate house.", name="site.md"
)


def markers(answer: str) -> list[int]:
    return [int(m) for m in _MARKER.findall(answer)]


def sentences_of(answer: str) -> list[str]:
    return [s.strip() for s in _MARKER.split(answer)[::2] if s.strip()]


def test_korean_quantity_question_gets_the_sentence_with_the_number() -> None:
    answer = extract_answer("B-7 안전밸브 설정 압력은 얼마인가요?", [BOILER_KO, OTHER])
    assert "1.0 MPa" in answer
    assert "급수 펌프" not in answer
    assert set(markers(answer)) == {1}


def test_english_question_gets_the_sentence_with_the_fact() -> None:
    answer = extract_answer("When should the EF-4 V-belt be replaced?", [OTHER, FAN_EN, BOILER_KO])
    assert "2 %" in answer
    assert markers(answer) and set(markers(answer)) <= {2}
    assert "canteen" not in answer


def test_procedure_question_gets_steps_in_source_order_without_list_markup() -> None:
    answer = extract_answer("How do I replace the EF-4 belt? What are the steps?", [FAN_EN])
    parts = sentences_of(answer)
    assert 1 <= len(parts) <= 3
    assert not any(p.startswith(("1.", "2.", "3.", "#", "-")) for p in parts)
    steps = [p for p in parts if p in {"Isolate the fan motor at MCC-2.", "Remove the belt guard."}]
    positions = [FAN_EN.text.index(p) for p in parts]
    assert positions == sorted(positions)
    assert steps or "V-belt" in answer


@pytest.mark.parametrize(
    "question",
    [
        "보일러 안전밸브 시험 주기는?",
        "What part number is the EF-4 belt?",
        "B-7 급수 펌프 운전 방식",
    ],
)
def test_one_to_three_sentences_each_with_a_valid_marker(question: str) -> None:
    given = [BOILER_KO, FAN_EN, OTHER]
    answer = extract_answer(question, given)
    parts = sentences_of(answer)
    found = markers(answer)
    assert 1 <= len(parts) <= 3
    assert len(found) == len(parts)
    assert set(found) <= {p.n for p in given}
    assert answer.rstrip().endswith("]")


def test_max_sentences_is_respected_and_headings_are_not_answers() -> None:
    answer = extract_answer("보일러 B-7 운전 지침", [BOILER_KO], max_sentences=1)
    parts = sentences_of(answer)
    assert len(parts) == 1
    assert parts[0] != "보일러 B-7 운전 지침"
    assert "#" not in answer


def test_duplicate_sentences_of_overlapping_chunks_appear_once() -> None:
    copy = passage(2, BOILER_KO.text.split("\n", 2)[2], heading=BOILER_KO.heading)
    answer = extract_answer("안전밸브 작동 시험 설정 압력", [BOILER_KO, copy])
    assert answer.count("안전밸브 작동 시험") == 1


def test_no_passages_no_answer() -> None:
    assert extract_answer("anything?", []) == ""


def test_answer_kinds_in_both_languages() -> None:
    assert "quantity" in answer_kinds("How many bolts hold the cover?")
    assert "quantity" in answer_kinds("점검 주기는 몇 개월인가요?")
    assert "procedure" in answer_kinds("교체 절차는 어떻게 되나요?")
    assert "reason" in answer_kinds("Why does the fan trip?")


def test_markup_is_stripped() -> None:
    assert clean_sentence("## 3. **Check** the [valve](http://x)") == "Check the valve"
    assert clean_sentence("- item one") == "item one"
    assert clean_sentence("2. Remove the guard.") == "Remove the guard."


def test_sentences_split_korean_and_english_with_terms() -> None:
    [found] = split_sentences(
        ["베어링을 교체한다. 그리스를 18 g 넣는다.\nCheck the oil. It must be clean."]
    )
    texts = [s.text for s in found]
    assert texts == [
        "베어링을 교체한다.",
        "그리스를 18 g 넣는다.",
        "Check the oil.",
        "It must be clean.",
    ]
    assert "베어링" in found[0].terms
    assert "oil" in found[2].terms


def test_verbs_of_the_question_are_not_terms_a_passage_must_hold() -> None:
    from aiharness.assistant.extractive import question_terms, surface_terms

    question = "HX-201 세척 시 염산을 쓰면 안 되는 이유는?"
    assert surface_terms(question, question_terms(question)) == []  # not 쓰면, 되는
    # A noun Kiwi reads differently in a question still counts as written.
    assert "밀폐공간" not in surface_terms("밀폐공간 출입", ["밀폐", "공간"])
