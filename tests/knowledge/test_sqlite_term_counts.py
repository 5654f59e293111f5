"""The embedded store's keyword side counts term frequencies only as far as it needs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from aiharness.db.engine import create_db_engine
from aiharness.knowledge.stores import SearchFilters, base
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from tests.conformance.store_suite import ALL, KnowledgeStoreConformance, record

pytestmark = pytest.mark.integration


@pytest.fixture
def store(sqlite_url: str, tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
    engine = create_db_engine(sqlite_url)
    cid = KnowledgeStoreConformance.add_collection(engine)
    doc = KnowledgeStoreConformance.add_document(engine, cid)
    store = SqliteKnowledgeStore(engine=engine, index_dir=tmp_path / "index")
    store.warm_up()
    # "pump" in all 10 chunks, "valve" in 6, "seal" in 4, "leak" in 2.
    store.replace_document_chunks(
        document_id=doc,
        chunks=[
            record(
                i,
                " ".join(
                    ["pump"]
                    + (["valve"] if i < 6 else [])
                    + (["seal"] if i >= 6 else [])
                    + (["leak"] if i in (0, 9) else [])
                    + [f"note{i}"]
                ),
            )
            for i in range(10)
        ],
    )
    yield store
    store.close()
    engine.dispose()


def frequencies(store: SqliteKnowledgeStore, terms: list[str]) -> dict[str, int]:
    engine: Engine = store._engine
    with engine.connect() as conn:
        return store._document_frequencies(conn, terms)


def test_counts_are_exact_within_the_budget_and_capped_above(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    terms = ["leak", "seal", "valve", "pump", "absent", "two words"]
    assert frequencies(store, terms) == {
        "leak": 2,
        "seal": 4,
        "valve": 6,
        "pump": 10,
        "absent": 0,
    }
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 3)
    # Within the budget exact, above it capped at budget + 1 (enough to leave them out).
    assert frequencies(store, terms) == {"leak": 2, "seal": 4, "valve": 4, "pump": 4, "absent": 0}
    assert base.candidate_terms(frequencies(store, terms), terms) == ["two words", "leak"]


def test_a_query_of_common_terms_matches_on_the_rarest(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 3)
    terms = ["pump", "valve", "seal"]
    counts = frequencies(store, terms)
    # All over the budget: ranked by their matches among the newest chunks (here: all).
    assert counts["seal"] < counts["valve"] < counts["pump"]
    assert base.candidate_terms(counts, terms) == ["seal"]
    hits = store.keyword_search(terms=terms, k=10, filters=ALL)
    assert len(hits) == 4
    texts = [c.text for c in store.get_chunks([h.chunk_id for h in hits])]
    assert all("seal" in t.split() for t in texts)


def test_common_terms_are_required_together_while_they_match_too_many(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 1)
    # "leak" alone matches 2 chunks (over the budget), "leak" AND "seal" just chunk 9.
    hits = store.keyword_search(terms=["pump", "seal", "leak"], k=10, filters=ALL)
    assert [c.text for c in store.get_chunks([h.chunk_id for h in hits])] == [
        "pump seal leak note9"
    ]
    # The same through the filtered query (each candidate joined to its chunk row).
    narrowed = SearchFilters(document_ids=[hits[0].document_id])
    with_filter = store.keyword_search(terms=["pump", "seal", "leak"], k=10, filters=narrowed)
    assert [h.chunk_id for h in with_filter] == [h.chunk_id for h in hits]
