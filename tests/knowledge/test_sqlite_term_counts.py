"""The embedded store's keyword statistics: per collection, exact, kept with the chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from aiharness.db.engine import create_db_engine
from aiharness.knowledge.stores import SearchFilters, base
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore, _document_frequencies
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
    with store._engine.connect() as conn:
        return _document_frequencies(conn, [1], terms)


def test_frequencies_are_exact_per_collection_and_follow_writes(
    store: SqliteKnowledgeStore,
) -> None:
    terms = ["leak", "seal", "valve", "pump", "absent", "two words"]
    assert frequencies(store, terms) == {"leak": 2, "seal": 4, "valve": 6, "pump": 10}
    engine = store._engine
    other = KnowledgeStoreConformance.add_collection(engine, "other")
    doc = KnowledgeStoreConformance.add_document(engine, other, "o.md")
    store.replace_document_chunks(document_id=doc, chunks=[record(0, "pump two words")])
    assert frequencies(store, ["pump"]) == {"pump": 10}
    store.replace_document_chunks(document_id=1, chunks=[record(0, "pump leak")])
    assert frequencies(store, terms) == {"leak": 1, "pump": 1}
    store.delete_document(document_id=1)
    assert frequencies(store, terms) == {}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT collection_id, term, df FROM chunk_term_stats")).all()
    assert sorted(rows) == [(other, "pump", 1), (other, "two", 1), (other, "words", 1)]


def test_a_query_of_common_terms_matches_on_the_rarest(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 3)
    monkeypatch.setattr(base, "FULL_QUERY_CHUNKS", 3)
    terms = ["pump", "valve", "seal"]
    assert base.candidate_terms(frequencies(store, terms), terms, 10) == ["seal"]
    hits = store.keyword_search(terms=terms, k=10, filters=ALL)
    # Required together: seal (no chunk has valve too), then pump: 4 chunks.
    assert len(hits) == 4
    texts = [c.text for c in store.get_chunks([h.chunk_id for h in hits])]
    assert all("seal" in t.split() for t in texts)


def test_a_small_collection_keeps_every_query_term(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 3)
    terms = ["pump", "valve", "seal"]
    # 10 chunks are within FULL_QUERY_CHUNKS: no term is dropped, every chunk matches.
    assert sorted(base.candidate_terms(frequencies(store, terms), terms, 10)) == sorted(terms)
    assert len(store.keyword_search(terms=terms, k=10, filters=ALL)) == 10


def test_common_terms_are_required_together_while_they_match_too_many(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 1)
    monkeypatch.setattr(base, "FULL_QUERY_CHUNKS", 1)
    # "leak" alone matches 2 chunks (over the budget), "leak" AND "seal" just chunk 9.
    hits = store.keyword_search(terms=["pump", "seal", "leak"], k=10, filters=ALL)
    assert [c.text for c in store.get_chunks([h.chunk_id for h in hits])] == [
        "pump seal leak note9"
    ]
    narrowed = SearchFilters(document_ids=[hits[0].document_id])
    with_filter = store.keyword_search(terms=["pump", "seal", "leak"], k=10, filters=narrowed)
    assert [h.chunk_id for h in with_filter] == [h.chunk_id for h in hits]
