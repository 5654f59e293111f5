"""The embedded vector index: exact results, file reuse, rebuild when missing/stale/corrupt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from aiharness.db.engine import create_db_engine
from aiharness.knowledge.stores import SearchFilters
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from aiharness.knowledge.stores.vector_index import IndexSnapshot
from tests.conformance.store_suite import KnowledgeStoreConformance, record, unit

pytestmark = pytest.mark.integration

ALL = SearchFilters()


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = create_db_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "index"


def new_store(engine: Engine, index_dir: Path) -> SqliteKnowledgeStore:
    store = SqliteKnowledgeStore(engine=engine, index_dir=index_dir)
    store.warm_up()
    return store


def seeded(engine: Engine, index_dir: Path, n: int = 6) -> tuple[int, int, SqliteKnowledgeStore]:
    cid = KnowledgeStoreConformance.add_collection(engine)
    doc = KnowledgeStoreConformance.add_document(engine, cid)
    store = new_store(engine, index_dir)
    store.replace_document_chunks(
        document_id=doc, chunks=[record(i, f"chunk {i}", seed=i) for i in range(n)]
    )
    return cid, doc, store


def uid_of(engine: Engine, collection_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT uid FROM collections WHERE id = :c"), {"c": collection_id}
            ).scalar()
        )


@pytest.mark.unit
def test_snapshot_search_is_exact_and_respects_the_mask() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = np.arange(1000, 1500, dtype=np.int64)
    snap = IndexSnapshot(1, "u1", 1, 16, ids, ids // 10, np.ascontiguousarray(matrix))
    query = matrix[42] + 0.1 * matrix[7]
    query /= np.linalg.norm(query)
    rows, scores = snap.search(query, 10)
    expected = np.argsort(-(matrix @ query), kind="stable")[:10]
    assert rows.tolist() == expected.tolist()
    assert np.allclose(scores, (matrix @ query)[expected])
    mask = (ids % 2) == 1
    rows, _ = snap.search(query, 600, mask)
    assert len(rows) == 250 and bool(np.all(ids[rows] % 2 == 1))
    assert 42 not in rows.tolist()


def test_index_file_is_reused_when_current(engine: Engine, index_dir: Path) -> None:
    cid, _, store = seeded(engine, index_dir)
    store.close()
    assert store.index.path(uid_of(engine, cid)).is_file()
    reopened = new_store(engine, index_dir)
    assert reopened.index.rebuilds == 0
    hits = reopened.vector_search(vector=unit(4), k=1, filters=ALL)
    assert [h.text for h in reopened.get_chunks([hits[0].chunk_id])] == ["chunk 4"]


def test_missing_stale_or_corrupt_file_is_rebuilt_from_sqlite(
    engine: Engine, index_dir: Path
) -> None:
    cid, doc, store = seeded(engine, index_dir)
    store.close()
    # Another process writes while this one is down: the file's generation is now stale.
    worker = SqliteKnowledgeStore(engine=engine, index_dir=index_dir / "elsewhere")
    worker.replace_document_chunks(document_id=doc, chunks=[record(0, "rewritten chunk", seed=99)])
    stale = new_store(engine, index_dir)
    assert stale.index.rebuilds == 1
    assert stale.stats(collection_id=cid).vectors == 1
    stale.close()

    store.index.path(uid_of(engine, cid)).write_bytes(b"not an index")
    corrupt = new_store(engine, index_dir)
    assert corrupt.index.rebuilds == 1
    assert corrupt.vector_search(vector=unit(99), k=1, filters=ALL)[0].score == pytest.approx(1.0)

    store.index.path(uid_of(engine, cid)).unlink()
    missing = new_store(engine, index_dir)
    assert missing.index.rebuilds == 1
    assert missing.stats(collection_id=cid).vectors == 1


def test_a_running_index_catches_up_with_other_writers_incrementally(
    engine: Engine, index_dir: Path
) -> None:
    cid, doc, reader = seeded(engine, index_dir)
    assert reader.stats(collection_id=cid).vectors == 6
    rebuilds = reader.index.rebuilds
    writer = SqliteKnowledgeStore(engine=engine, index_dir=index_dir / "writer")
    other = KnowledgeStoreConformance.add_document(engine, cid, "other.md")
    writer.replace_document_chunks(
        document_id=other, chunks=[record(0, "added elsewhere", seed=123)]
    )
    writer.replace_document_chunks(document_id=doc, chunks=[record(0, "only one left", seed=5)])
    hits = reader.vector_search(vector=unit(123), k=10, filters=ALL)
    texts = {h.text for h in reader.get_chunks([h.chunk_id for h in hits])}
    assert texts == {"added elsewhere", "only one left"}
    assert reader.index.rebuilds == rebuilds  # caught up by id, no full reload
    writer.delete_document(document_id=other)
    assert reader.stats(collection_id=cid).vectors == 1
