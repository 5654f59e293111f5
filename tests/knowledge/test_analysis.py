"""Keyword analyzers: Korean particles and endings drop, English stems, part codes survive."""

from __future__ import annotations

import pytest
from benchmarks.bm25 import BM25Index

from aiharness.knowledge.analysis import (
    AnalyzerError,
    KeywordAnalyzer,
    get_analyzer,
    latin_terms,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def kiwi() -> KeywordAnalyzer:
    return get_analyzer("kiwi")


@pytest.mark.parametrize("text", ["정비를 했다", "정비는 끝났다", "정비가 필요하다", "정비"])
def test_particles_do_not_change_the_noun(kiwi: KeywordAnalyzer, text: str) -> None:
    terms = kiwi.terms(text)
    assert terms[0] == "정비"
    assert not any(t in terms for t in ("를", "는", "가", "다"))


def test_endings_and_punctuation_are_dropped(kiwi: KeywordAnalyzer) -> None:
    assert kiwi.terms("점검하였습니다. 점검했다! 점검한") == ["점검", "점검", "점검"]
    assert kiwi.terms("베어링을 교체했음.") == ["베어링", "교체"]


def test_verb_and_adjective_stems_are_kept(kiwi: KeywordAnalyzer) -> None:
    assert "열" in kiwi.terms("밸브를 열어라")
    assert "높" in kiwi.terms("압력이 높다")


def test_english_is_lowercased_stemmed_and_stopworded(kiwi: KeywordAnalyzer) -> None:
    assert kiwi.terms("The Pumps are running") == ["pump", "run"]
    assert kiwi.terms("inspection inspected") == ["inspect", "inspect"]


def test_part_codes_stay_searchable(kiwi: KeywordAnalyzer) -> None:
    terms = kiwi.terms("펌프 P-101A의 M8 볼트를 10kW 모터에")
    assert "p101a" in terms
    assert "m8" in terms
    assert "10kw" in terms
    # Written without the hyphen, the code gives the same term, so either spelling matches.
    assert "p101a" in kiwi.terms("P101A 점검")


def test_numbers_keep_their_meaning(kiwi: KeywordAnalyzer) -> None:
    assert kiwi.terms("3,600 rpm") == ["3600", "rpm"]
    assert "2.5" in kiwi.terms("2.5 bar")
    assert "5/8" in kiwi.terms("5/8 inch")


def test_latin_terms_splits_codes_into_parts() -> None:
    assert latin_terms("KS-B-6311") == ["ksb6311", "ks", "6311"]
    assert latin_terms("Bearings") == ["bear"]
    assert latin_terms("the") == []


@pytest.mark.parametrize("text", ["", "   ", "...", "\x00\x01", "😀"])
def test_empty_or_symbol_text_gives_no_terms(kiwi: KeywordAnalyzer, text: str) -> None:
    assert kiwi.terms(text) == []


def test_batch_equals_one_by_one(kiwi: KeywordAnalyzer) -> None:
    texts = ["압축기 정비를 했다", "Compressor P-7 maintenance", "", "안전밸브(SV-3) 점검"]
    assert kiwi.terms_batch(texts) == [kiwi.terms(t) for t in texts]
    assert kiwi.terms_batch([]) == []


def test_whitespace_baseline_keeps_particles() -> None:
    analyzer = get_analyzer("whitespace")
    assert analyzer.name == "whitespace"
    assert analyzer.terms("정비를 (Pumps), 정비는") == ["정비를", "pumps", "정비는"]


def test_analyzers_follow_the_protocol() -> None:
    for name in ("kiwi", "whitespace"):
        analyzer = get_analyzer(name)
        assert isinstance(analyzer, KeywordAnalyzer)
        assert analyzer.name == name
    assert get_analyzer().name == "kiwi"


def test_unknown_analyzer_is_a_clear_error() -> None:
    with pytest.raises(AnalyzerError, match="kiwi, whitespace"):
        get_analyzer("porter")


def test_kiwi_makes_particles_match_in_bm25_where_whitespace_does_not() -> None:
    docs = {"a": "펌프 정비를 매월 실시한다", "b": "컨베이어 벨트 장력 확인"}
    for name, expected in (("kiwi", ["a"]), ("whitespace", [])):
        analyzer = get_analyzer(name)
        index = BM25Index()
        index.add_many((d, analyzer.terms(t)) for d, t in docs.items())
        hits = index.search(analyzer.terms("정비는 언제"), k=5)
        assert [doc for doc, _ in hits] == expected, name


def test_terms_never_contain_whitespace(kiwi: KeywordAnalyzer) -> None:
    # Stores keep terms space-joined (PostgreSQL tsvector, SQLite text), so this is a contract.
    text = (
        "https://plant.example/p 101 안전 밸브 user@example.com 2024-05-01 #정비 P-101A 3,600 rpm"
    )
    for analyzer in (kiwi, get_analyzer("whitespace")):
        terms = analyzer.terms(text)
        assert terms
        assert not any(any(c.isspace() for c in t) or not t for t in terms)


@pytest.mark.parametrize(
    ("text", "parts"),
    [("자연어 처리 모델", {"자연어", "처리"}), ("홀 푸드 마켓에서", {"홀", "푸드", "마켓"})],
)
def test_multi_word_names_give_their_parts(
    kiwi: KeywordAnalyzer, text: str, parts: set[str]
) -> None:
    # Kiwi's multi-word dictionary would make "자연어 처리" one term with a space inside, which
    # breaks the space-joined storage and misses a query naming one part.
    terms = kiwi.terms(text)
    assert parts <= set(terms)
    assert not any(" " in t for t in terms)


def test_text_script_tells_korean_from_english_text() -> None:
    from aiharness.knowledge.analysis import text_script

    assert text_script("펌프 베어링 교체 주기") == "hangul"
    assert text_script("lockout tagout steps") == "latin"
    # Korean passages quote English names and codes; the Hangul still decides.
    assert text_script("윌리엄 브래드포드, Plymouth Colony 총독 (William Bradford)") == "hangul"
    assert text_script("Replace the P-101A seal (씰)") == "latin"
    assert text_script("12345 -- !!") is None
