"""The keyword candidate budget: which query terms drive matching on both stores."""

from __future__ import annotations

import pytest

from aiharness.knowledge.stores import base
from aiharness.knowledge.stores.base import candidate_terms
from aiharness.knowledge.stores.postgres import tsquery_literal, tsvector_literal

pytestmark = pytest.mark.unit


def test_rarest_terms_within_budget_drive_the_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 100)
    dfs = {"펌프": 40, "정비": 50, "하다": 900, "것": 950}
    assert candidate_terms(dfs, ["하다", "펌프", "것", "정비"]) == ["펌프", "정비"]
    # The rarest term always takes part, even over budget; unknown terms always do.
    assert candidate_terms({"하다": 900, "것": 950}, ["것", "하다"]) == ["하다"]
    assert candidate_terms(dfs, ["c++", "것"]) == ["c++"]
    assert candidate_terms({"없음": 0}, ["없음"]) == []


def test_postgres_literals_keep_terms_exactly() -> None:
    assert (
        tsvector_literal(["펌프", "o'neil", "펌프", "a\\b"]) == "'펌프':1,3 'o''neil':2 'a\\\\b':4"
    )
    assert tsquery_literal(["정비", "it's"]) == "'정비' | 'it''s'"
