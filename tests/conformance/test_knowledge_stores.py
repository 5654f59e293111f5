"""Runs ``KnowledgeStoreConformance`` against the embedded and the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from aiharness.db.engine import create_db_engine
from aiharness.knowledge.stores import SearchFilters, base
from aiharness.knowledge.stores.base import StoreError
from aiharness.knowledge.stores.postgres import PostgresKnowledgeStore
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from tests.conformance.store_suite import ALL, KnowledgeStoreConformance, record

pytestmark = pytest.mark.integration


class TestSqliteKnowledgeStore(KnowledgeStoreConformance):
    @pytest.fixture
    def engine(self, sqlite_url: str) -> Iterator[Engine]:
        engine = create_db_engine(sqlite_url)
        yield engine
        engine.dispose()

    @pytest.fixture
    def store(self, engine: Engine, tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
        store = SqliteKnowledgeStore(engine=engine, index_dir=tmp_path / "data" / "index")
        store.warm_up()
        yield store
        store.close()

    def install_failing_trigger(self, engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER test_boom BEFORE INSERT ON chunks WHEN new.text = 'BOOM' "
                    "BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )

    def keyword_entries(self, engine: Engine) -> int:
        # Ask the FTS index itself (an external-content table's count(*) reads the content).
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM chunks_fts "
                        "WHERE chunks_fts MATCH 'impeller OR gone OR x'"
                    )
                ).scalar_one()
            )


class TestPostgresKnowledgeStore(KnowledgeStoreConformance):
    @pytest.fixture
    def engine(self, pgvector_url: str) -> Iterator[Engine]:
        engine = create_db_engine(pgvector_url)
        yield engine
        engine.dispose()

    @pytest.fixture
    def store(self, engine: Engine) -> Iterator[PostgresKnowledgeStore]:
        store = PostgresKnowledgeStore(engine=engine)
        store.warm_up()
        yield store
        store.close()

    def install_failing_trigger(self, engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE FUNCTION test_boom() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF NEW.text = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER test_boom BEFORE INSERT ON chunks "
                    "FOR EACH ROW EXECUTE FUNCTION test_boom()"
                )
            )

    def keyword_entries(self, engine: Engine) -> int:
        with engine.connect() as conn:
            indexed = conn.execute(
                text("SELECT count(*) FROM chunks WHERE tsv @@ 'impeller | gone | x'::tsquery")
            ).scalar_one()
            df = conn.execute(
                text(
                    "SELECT coalesce(sum(df), 0) FROM chunk_term_stats "
                    "WHERE term IN ('gone', 'x', 'impeller')"
                )
            ).scalar_one()
        assert indexed == df, "term statistics drifted from the tsvector rows"
        return int(indexed)

    def test_hnsw_index_is_created_per_collection(
        self, store: PostgresKnowledgeStore, engine: Engine
    ) -> None:
        from tests.conformance.store_suite import record

        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(document_id=doc, chunks=[record(0, "x y")])
        with engine.connect() as conn:
            definition = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                {"n": f"ix_chunks_hnsw_c{cid}"},
            ).scalar_one()
        assert "hnsw" in definition and "vector_ip_ops" in definition
        assert f"collection_id = {cid}" in definition

    def test_tsvector_stays_inline_so_scoring_skips_toast(self, engine: Engine) -> None:
        with engine.connect() as conn:
            storage = conn.execute(
                text(
                    "SELECT attstorage FROM pg_attribute "
                    "WHERE attrelid = 'chunks'::regclass AND attname = 'tsv'"
                )
            ).scalar_one()
        assert storage == "m"  # MAIN: compressed in the row before anything moves out

    def test_query_of_only_common_terms_ranks_chunks_holding_all_of_them_first(
        self, store: PostgresKnowledgeStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cid = KnowledgeStoreConformance.add_collection(engine)
        doc = KnowledgeStoreConformance.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc,
            chunks=[
                record(0, "valve seal leak found at inlet"),
                record(1, "valve seal leak repaired"),
                *[record(i, f"valve seal gasket note {i}") for i in range(2, 6)],
                *[record(i, f"valve leak drip tray {i}") for i in range(6, 10)],
                *[record(i, f"valve routine check {i}") for i in range(10, 14)],
            ],
        )
        query = ["valve", "seal", "leak"]
        exact = store.keyword_search(terms=query, k=14, filters=ALL)
        # Every query term is now over the candidate budget: matching requires the rarest
        # terms together, and the chunks that hold all of them must still come first, with
        # the same scores as the unbounded ranking.
        monkeypatch.setattr(base, "KEYWORD_CANDIDATE_BUDGET", 3)
        monkeypatch.setattr(base, "FULL_QUERY_CHUNKS", 3)
        bounded = store.keyword_search(terms=query, k=14, filters=ALL)
        assert len(bounded) == 2  # only the chunks with both rarest terms were scored
        top = KnowledgeStoreConformance.texts(store, [h.chunk_id for h in bounded[:2]])
        assert sorted(top) == ["valve seal leak found at inlet", "valve seal leak repaired"]
        assert [(h.chunk_id, round(h.score, 6)) for h in bounded[:2]] == [
            (h.chunk_id, round(h.score, 6)) for h in exact[:2]
        ]
        narrowed = SearchFilters(document_ids=[doc])
        assert {h.chunk_id for h in store.keyword_search(terms=query, k=2, filters=narrowed)} == {
            h.chunk_id for h in exact[:2]
        }


def test_postgres_without_pgvector_migrates_and_the_store_explains(postgres_url: str) -> None:
    """The machine's PostgreSQL has no pgvector: the schema still migrates (the rest of the
    platform works) and the knowledge store refuses to start with a message naming the fix."""
    engine = create_db_engine(postgres_url)
    try:
        with engine.connect() as conn:
            if conn.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            ).first():
                pytest.skip("this PostgreSQL has pgvector; the pgvector suite covers it")
            columns = set(
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'chunks'"
                    )
                ).scalars()
            )
        assert {"tsv", "terms", "text"} <= columns and "embedding" not in columns
        with pytest.raises(StoreError, match="install pgvector"):
            PostgresKnowledgeStore(engine=engine).warm_up()
    finally:
        engine.dispose()
