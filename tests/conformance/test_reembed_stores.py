"""Staging and swapping vectors (``knowledge.reembed``) on the embedded and the PostgreSQL store.

Both stores must: keep staged vectors out of searches, swap them in with the collection's new
model and dimension in one step under the same chunk ids, refuse the swap while a chunk lacks a
staged vector, and leave keyword search as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from aiharness.db.engine import create_db_engine
from aiharness.knowledge.stores import ChunkRecord, KnowledgeStore, SearchFilters
from aiharness.knowledge.stores.postgres import PostgresKnowledgeStore
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from tests.conformance.store_suite import DIM, KnowledgeStoreConformance, record, unit

pytestmark = pytest.mark.integration

ALL = SearchFilters()
NEW_DIM = 12
WORDS = ["pump seal inspection", "compressor oil change", "conveyor belt tension", "valve leak"]


def new_vector(seed: int, dim: int = NEW_DIM) -> np.ndarray:
    return unit(1000 + seed, dim)


class ReembedStoreContract:
    """Subclasses provide ``engine`` and ``store`` fixtures."""

    def seed(self, store: KnowledgeStore, engine: Engine) -> tuple[int, list[int]]:
        cid = KnowledgeStoreConformance.add_collection(engine)
        doc = KnowledgeStoreConformance.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc, chunks=[record(i, w) for i, w in enumerate(WORDS)]
        )
        return cid, self.chunk_ids(engine, cid)

    @staticmethod
    def chunk_ids(engine: Engine, cid: int) -> list[int]:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id FROM chunks WHERE collection_id = :c ORDER BY id"), {"c": cid}
            )
            return [int(r[0]) for r in rows]

    @staticmethod
    def recorded(engine: Engine, cid: int) -> tuple[str, int]:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT embedding_model, embedding_dim FROM collections WHERE id = :c"),
                {"c": cid},
            ).one()
            return str(row[0]), int(row[1])

    @staticmethod
    def staged(engine: Engine, cid: int) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM chunk_vector_staging WHERE collection_id = :c"),
                    {"c": cid},
                ).scalar_one()
            )

    def test_swap_replaces_vectors_model_and_dimension_under_the_same_ids(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        keyword_before = store.keyword_search(terms=["oil", "belt"], k=5, filters=ALL)
        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=NEW_DIM,
            vectors=[(chunk_id, new_vector(i)) for i, chunk_id in enumerate(ids)],
        )
        # Staged vectors are invisible: searches still use the old model's vectors.
        assert store.vector_search(vector=unit(2), k=1, filters=ALL)[0].chunk_id == ids[2]
        assert self.recorded(engine, cid) == ("test-model", DIM)

        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=NEW_DIM) == 0
        store.rebuild_vector_index(cid)

        assert self.recorded(engine, cid) == ("model-b", NEW_DIM)
        assert self.chunk_ids(engine, cid) == ids
        assert self.staged(engine, cid) == 0
        for i, chunk_id in enumerate(ids):
            hits = store.vector_search(vector=new_vector(i), k=1, filters=ALL)
            assert hits[0].chunk_id == chunk_id
            assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        with pytest.raises(ValueError, match="dimensions"):
            store.vector_search(vector=unit(0), k=1, filters=SearchFilters(collection_ids=[cid]))
        assert store.keyword_search(terms=["oil", "belt"], k=5, filters=ALL) == keyword_before
        assert store.stats(collection_id=cid).vectors == len(ids)

    def test_swap_is_refused_while_a_chunk_lacks_a_staged_vector(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=NEW_DIM,
            vectors=[(chunk_id, new_vector(i)) for i, chunk_id in enumerate(ids[:-1])],
        )
        # A document added meanwhile: its chunks need vectors of the new model too.
        late = KnowledgeStoreConformance.add_document(engine, cid, path="late.md")
        store.replace_document_chunks(document_id=late, chunks=[record(0, "late arrival")])

        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=NEW_DIM) == 2
        store.rebuild_vector_index(cid)
        assert self.recorded(engine, cid) == ("test-model", DIM)
        assert store.vector_search(vector=unit(1), k=1, filters=ALL)[0].chunk_id == ids[1]

        rest = [ids[-1], *self.chunk_ids(engine, cid)[len(ids) :]]
        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=NEW_DIM,
            vectors=[(chunk_id, new_vector(50 + n)) for n, chunk_id in enumerate(rest)],
        )
        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=NEW_DIM) == 0
        store.rebuild_vector_index(cid)
        assert store.vector_search(vector=new_vector(51), k=1, filters=ALL)[0].chunk_id == rest[1]

    def test_staging_skips_deleted_chunks_and_other_models_are_discarded(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        store.stage_vectors(
            collection_id=cid, model="old-try", dim=4, vectors=[(ids[0], unit(1, 4))]
        )
        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=NEW_DIM,
            vectors=[(ids[1], new_vector(1)), (999_999, new_vector(2))],  # no such chunk
        )
        assert self.staged(engine, cid) == 2  # the unknown chunk was skipped
        store.discard_staged_vectors(collection_id=cid, keep=("model-b", NEW_DIM))
        assert self.staged(engine, cid) == 1
        store.discard_staged_vectors(collection_id=cid)
        assert self.staged(engine, cid) == 0

    def test_staging_a_chunk_again_replaces_its_vector(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        pairs = [(chunk_id, new_vector(i)) for i, chunk_id in enumerate(ids)]
        store.stage_vectors(collection_id=cid, model="model-b", dim=NEW_DIM, vectors=pairs)
        store.stage_vectors(
            collection_id=cid, model="model-b", dim=NEW_DIM, vectors=[(ids[0], new_vector(77))]
        )
        assert self.staged(engine, cid) == len(ids)
        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=NEW_DIM) == 0
        store.rebuild_vector_index(cid)
        assert store.vector_search(vector=new_vector(77), k=1, filters=ALL)[0].chunk_id == ids[0]

    def test_bad_vectors_are_refused_before_anything_is_staged(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        with pytest.raises(ValueError, match="dimensions"):
            store.stage_vectors(
                collection_id=cid,
                model="model-b",
                dim=NEW_DIM,
                vectors=[(ids[0], new_vector(0)), (ids[1], unit(1, 5))],
            )
        assert self.staged(engine, cid) == 0


class TestSqliteReembed(ReembedStoreContract):
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

    def test_another_process_index_rebuilds_after_a_same_dimension_swap(
        self, store: SqliteKnowledgeStore, engine: Engine, tmp_path: Path
    ) -> None:
        """Same ids, same dimension, new vectors: catching up by ids would miss the change."""
        cid, ids = self.seed(store, engine)
        reader = SqliteKnowledgeStore(engine=engine, index_dir=tmp_path / "reader")
        reader.warm_up()
        assert reader.vector_search(vector=unit(3), k=1, filters=ALL)[0].chunk_id == ids[3]

        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=DIM,
            vectors=[(chunk_id, unit(500 + i)) for i, chunk_id in enumerate(ids)],
        )
        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=DIM) == 0

        hit = reader.vector_search(vector=unit(503), k=1, filters=ALL)[0]
        assert hit.chunk_id == ids[3] and hit.score == pytest.approx(1.0, abs=1e-4)
        # Later ordinary writes catch up as before (no rebuild per write).
        rebuilds = reader.index.rebuilds
        doc = KnowledgeStoreConformance.add_document(engine, cid, path="more.md")
        store.replace_document_chunks(document_id=doc, chunks=[record(0, "more", seed=600)])
        assert reader.vector_search(vector=unit(600), k=1, filters=ALL)[0].score > 0.99
        assert reader.index.rebuilds == rebuilds
        reader.close()


class TestPostgresReembed(ReembedStoreContract):
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

    def test_the_hnsw_index_is_rebuilt_for_the_new_dimension(
        self, store: PostgresKnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        assert f"vector({DIM})" in self.index_definition(engine, cid)
        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=NEW_DIM,
            vectors=[(chunk_id, new_vector(i)) for i, chunk_id in enumerate(ids)],
        )
        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=NEW_DIM) == 0
        store.rebuild_vector_index(cid)
        assert f"vector({NEW_DIM})" in self.index_definition(engine, cid)
        # Later writes of the collection use the new dimension and the rebuilt graph.
        doc = KnowledgeStoreConformance.add_document(engine, cid, path="more.md")
        store.replace_document_chunks(
            document_id=doc,
            chunks=[ChunkRecord(index=0, text="more", terms=["more"], vector=new_vector(9))],
        )
        assert store.vector_search(vector=new_vector(9), k=1, filters=ALL)[0].score > 0.99

    def test_rebuild_replaces_a_graph_of_the_wrong_dimension(
        self, store: PostgresKnowledgeStore, engine: Engine
    ) -> None:
        cid, ids = self.seed(store, engine)
        store.stage_vectors(
            collection_id=cid,
            model="model-b",
            dim=NEW_DIM,
            vectors=[(chunk_id, new_vector(i)) for i, chunk_id in enumerate(ids)],
        )
        assert store.swap_staged_vectors(collection_id=cid, model="model-b", dim=NEW_DIM) == 0
        # As a process still on the old set-up would leave it (empty: no row casts to 8 dims).
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE INDEX ix_chunks_hnsw_c{cid} ON chunks USING hnsw "
                    f"((embedding::vector({DIM})) vector_ip_ops) WHERE collection_id = -1"
                )
            )
        store.rebuild_vector_index(cid)
        assert f"vector({NEW_DIM})" in self.index_definition(engine, cid)
        store.rebuild_vector_index(cid)  # idempotent
        assert store.vector_search(vector=new_vector(2), k=1, filters=ALL)[0].chunk_id == ids[2]

    @staticmethod
    def index_definition(engine: Engine, cid: int) -> str:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                    {"n": f"ix_chunks_hnsw_c{cid}"},
                ).scalar_one()
            )
