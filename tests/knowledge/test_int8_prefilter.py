"""The int8 prefilter of large embedded collections: exact results, persistence, catch-up, masks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from aiharness.db.engine import create_db_engine
from aiharness.knowledge.stores import SearchFilters, int8_prefilter, vector_index
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from aiharness.knowledge.stores.vector_index import IndexSnapshot
from tests.conformance import test_knowledge_stores as test_stores
from tests.conformance.store_suite import KnowledgeStoreConformance, record, unit

ALL = SearchFilters()


def uid_of(engine: Engine, collection_id: int) -> str:
    """The collection's uid, which names its index file."""
    with engine.connect() as conn:
        sql = text("SELECT uid FROM collections WHERE id = :c")
        return str(conn.execute(sql, {"c": collection_id}).scalar())


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    return np.ascontiguousarray(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))


def exact_scores(
    matrix: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None
) -> list[float]:
    scores = matrix @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return sorted(scores[np.isfinite(scores)].tolist(), reverse=True)[:k]


@pytest.mark.unit
@pytest.mark.parametrize("k", [1, 10, 100])
@pytest.mark.parametrize("mask_kind", ["none", "half", "selective"])
def test_prefiltered_search_returns_the_exact_top_k(k: int, mask_kind: str) -> None:
    rng = np.random.default_rng(k)
    matrix = unit_rows(rng, 5000, 48)
    matrix[4000:4100] = matrix[:100]  # repeated vectors: tied scores
    rows = int8_prefilter.quantise(matrix)
    masks = {
        "none": None,
        "half": np.arange(5000) % 2 == 0,
        "selective": np.arange(5000) % 97 == 3,
    }
    mask = masks[mask_kind]
    for trial in range(20):
        query = matrix[trial * 7] + 0.2 * rng.standard_normal(48).astype(np.float32)
        query = (query / np.linalg.norm(query)).astype(np.float32)
        positions, scores = int8_prefilter.search(matrix, rows, query, k, mask)
        assert np.allclose(scores, exact_scores(matrix, query, k, mask), atol=1e-6)
        assert np.allclose(matrix[positions] @ query, scores, atol=1e-6)
        assert len(set(positions.tolist())) == len(positions)
        if mask is not None:
            assert bool(np.all(mask[positions]))


@pytest.mark.unit
def test_flat_scores_fall_back_to_a_full_exact_pass() -> None:
    # Nearly identical rows: every row is within the error bound, so all are rescored exactly.
    rng = np.random.default_rng(3)
    base = unit_rows(rng, 1, 32)[0]
    matrix = base + 1e-3 * rng.standard_normal((2000, 32)).astype(np.float32)
    matrix = np.ascontiguousarray(matrix / np.linalg.norm(matrix, axis=1, keepdims=True))
    rows = int8_prefilter.quantise(matrix)
    for mask in (None, np.arange(2000) % 3 != 0):
        positions, scores = int8_prefilter.search(matrix, rows, base, 25, mask)
        assert np.allclose(scores, exact_scores(matrix, base, 25, mask), atol=1e-7)
        assert mask is None or bool(np.all(mask[positions]))


@pytest.mark.unit
def test_int8_scores_stay_within_the_error_bound() -> None:
    rng = np.random.default_rng(11)
    matrix = unit_rows(rng, 3000, 384)
    rows = int8_prefilter.quantise(matrix)
    assert np.all(
        np.abs(rows.codes.astype(np.float32) * rows.scales[:, None] - matrix)
        <= (rows.scales[:, None] / 2 + 1e-7)
    )
    query = unit_rows(rng, 1, 384)[0]
    query_codes, query_scale = int8_prefilter._quantise_query(query)
    approx = (rows.codes.astype(np.int64) @ query_codes.astype(np.int64)) * rows.scales
    approx = approx * query_scale
    bound = 0.5 * (np.abs(query).sum() * rows.scales + query_scale * rows.l1)
    assert np.all(np.abs(matrix @ query - approx) <= bound + 1e-6)


@pytest.mark.unit
def test_snapshot_uses_the_prefilter_only_when_it_has_one() -> None:
    rng = np.random.default_rng(5)
    matrix = unit_rows(rng, 800, 16)
    ids = np.arange(800, dtype=np.int64)
    exact = IndexSnapshot(1, "u1", 1, 16, ids, ids // 10, matrix)
    screened = IndexSnapshot(
        1, "u1", 1, 16, ids, ids // 10, matrix, int8_prefilter.quantise(matrix)
    )
    query = matrix[9]
    assert exact.search(query, 15)[0].tolist() == screened.search(query, 15)[0].tolist()


# -- the embedded store with a low threshold -------------------------------------------------


@pytest.fixture
def low_threshold(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(vector_index, "PREFILTER_MIN_ROWS", 8)
    return 8


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = create_db_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "index"


def open_store(engine: Engine, index_dir: Path) -> SqliteKnowledgeStore:
    store = SqliteKnowledgeStore(engine=engine, index_dir=index_dir)
    store.warm_up()
    return store


def write(store: SqliteKnowledgeStore, doc: int, seeds: range, **extra: object) -> None:
    store.replace_document_chunks(
        document_id=doc,
        chunks=[record(i, f"chunk {s}", seed=s, **extra) for i, s in enumerate(seeds)],
    )


def nearest_texts(
    store: SqliteKnowledgeStore, seed: int, k: int, filters: SearchFilters = ALL
) -> list[str]:
    hits = store.vector_search(vector=unit(seed), k=k, filters=filters)
    return [c.text for c in store.get_chunks([h.chunk_id for h in hits])]


def exact_texts(store: SqliteKnowledgeStore, cid: int, seed: int, k: int) -> list[str]:
    """What the plain float32 scan returns for the same collection."""
    snap = store.index.snapshot(cid)
    assert snap is not None
    query = unit(seed)
    scores = snap.matrix @ (query / np.linalg.norm(query))
    top = np.argsort(-scores, kind="stable")[:k]
    ids = [int(snap.ids[r]) for r in top]
    return [c.text for c in store.get_chunks(ids)]


@pytest.mark.integration
def test_a_collection_crossing_the_threshold_gets_the_prefilter_and_exact_results(
    engine: Engine, index_dir: Path, low_threshold: int
) -> None:
    cid = KnowledgeStoreConformance.add_collection(engine)
    small = KnowledgeStoreConformance.add_document(engine, cid, "small.md")
    store = open_store(engine, index_dir)
    write(store, small, range(low_threshold - 2))
    snap = store.index.snapshot(cid)
    assert snap is not None and snap.int8 is None
    large = KnowledgeStoreConformance.add_document(engine, cid, "large.md")
    write(store, large, range(100, 160))
    snap = store.index.snapshot(cid)
    assert snap is not None and snap.int8 is not None and snap.int8.fits(snap.matrix)
    for seed in (0, 3, 120, 159, 999):
        assert nearest_texts(store, seed, 10) == exact_texts(store, cid, seed, 10)
    assert nearest_texts(store, 130, 1) == ["chunk 130"]


@pytest.mark.integration
def test_the_int8_copy_is_saved_with_the_matrix_and_reused(
    engine: Engine, index_dir: Path, low_threshold: int
) -> None:
    cid = KnowledgeStoreConformance.add_collection(engine)
    doc = KnowledgeStoreConformance.add_document(engine, cid)
    store = open_store(engine, index_dir)
    write(store, doc, range(40))
    saved = store.index.snapshot(cid)
    assert saved is not None and saved.int8 is not None
    store.close()
    with np.load(store.index.path(uid_of(engine, cid))) as data:
        assert {"int8_codes", "int8_scales", "int8_l1"} <= set(data.files)
    reopened = open_store(engine, index_dir)
    assert reopened.index.rebuilds == 0
    loaded = reopened.index.snapshot(cid)
    assert loaded is not None and loaded.int8 is not None
    assert np.array_equal(loaded.int8.codes, saved.int8.codes)
    assert nearest_texts(reopened, 17, 1) == ["chunk 17"]


@pytest.mark.integration
def test_a_file_without_the_int8_copy_is_quantised_at_load(
    engine: Engine, index_dir: Path, low_threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = KnowledgeStoreConformance.add_collection(engine)
    doc = KnowledgeStoreConformance.add_document(engine, cid)
    # Written while the collection was below the threshold (or by an older version).
    monkeypatch.setattr(vector_index, "PREFILTER_MIN_ROWS", 1000)
    store = open_store(engine, index_dir)
    write(store, doc, range(30))
    store.close()
    with np.load(store.index.path(uid_of(engine, cid))) as data:
        assert "int8_codes" not in data.files
    monkeypatch.setattr(vector_index, "PREFILTER_MIN_ROWS", low_threshold)
    reopened = open_store(engine, index_dir)
    assert reopened.index.rebuilds == 0
    snap = reopened.index.snapshot(cid)
    assert snap is not None and snap.int8 is not None and snap.int8.fits(snap.matrix)


@pytest.mark.integration
def test_catch_up_keeps_the_int8_copy_aligned_through_writes_and_deletes(
    engine: Engine, index_dir: Path, low_threshold: int
) -> None:
    cid = KnowledgeStoreConformance.add_collection(engine)
    first = KnowledgeStoreConformance.add_document(engine, cid, "first.md")
    second = KnowledgeStoreConformance.add_document(engine, cid, "second.md")
    reader = open_store(engine, index_dir)
    write(reader, first, range(20))
    write(reader, second, range(200, 220))
    assert reader.index.snapshot(cid) is not None
    rebuilds = reader.index.rebuilds
    writer = SqliteKnowledgeStore(engine=engine, index_dir=index_dir / "writer")
    write(writer, first, range(50, 65))  # replaced: 20 rows gone, 15 added
    writer.delete_document(document_id=second)
    snap = reader.index.snapshot(cid)
    assert reader.index.rebuilds == rebuilds  # caught up, not rebuilt
    assert snap is not None and snap.int8 is not None and snap.int8.fits(snap.matrix)
    assert np.array_equal(snap.int8.codes, int8_prefilter.quantise(snap.matrix).codes)
    assert nearest_texts(reader, 210, 20) == exact_texts(reader, cid, 210, 20)
    assert all(
        text.startswith("chunk 5") or text.startswith("chunk 6")
        for text in nearest_texts(reader, 3, 20)
    )
    assert nearest_texts(reader, 57, 1) == ["chunk 57"]
    # Deleting below the threshold drops the copy.
    third = KnowledgeStoreConformance.add_document(engine, cid, "third.md")
    write(writer, third, range(300, 302))
    writer.delete_document(document_id=first)
    snap = reader.index.snapshot(cid)
    assert snap is not None and snap.size == 2 and snap.int8 is None
    assert nearest_texts(reader, 301, 1) == ["chunk 301"]


@pytest.mark.integration
def test_filtered_searches_on_a_prefiltered_collection_are_exact(
    engine: Engine, index_dir: Path, low_threshold: int
) -> None:
    cid = KnowledgeStoreConformance.add_collection(engine)
    docs = [KnowledgeStoreConformance.add_document(engine, cid, f"d{i}.md") for i in range(4)]
    store = open_store(engine, index_dir)
    for i, doc in enumerate(docs):
        store.replace_document_chunks(
            document_id=doc,
            chunks=[
                record(j, f"chunk {i}-{j}", seed=100 * i + j, metadata={"part": j % 3})
                for j in range(25)
            ],
        )
    snap = store.index.snapshot(cid)
    assert snap is not None and snap.int8 is not None
    # One document of four (selective: scored on its rows alone) and one of three parts.
    only_doc = nearest_texts(store, 205, 30, SearchFilters(document_ids=[docs[2]]))
    assert len(only_doc) == 25 and all(t.startswith("chunk 2-") for t in only_doc)
    assert only_doc[0] == "chunk 2-5"
    part = nearest_texts(store, 104, 5, SearchFilters(metadata={"part": 1}))
    assert part[0] == "chunk 1-4"
    assert all(int(t.split("-")[1]) % 3 == 1 for t in part)
    half = nearest_texts(store, 307, 3, SearchFilters(document_ids=[docs[1], docs[3]]))
    assert half[0] == "chunk 3-7"


@pytest.mark.integration
class TestSqliteKnowledgeStoreWithPrefilter(test_stores.TestSqliteKnowledgeStore):
    """The whole store conformance suite with every collection on the int8 prefilter."""

    @pytest.fixture(autouse=True)
    def prefilter_everywhere(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(vector_index, "PREFILTER_MIN_ROWS", 1)
