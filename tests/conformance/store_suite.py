"""``KnowledgeStoreConformance``: the behaviour every ``KnowledgeStore`` must show.

Subclasses provide ``store`` (a warmed-up store on a fresh migrated database), ``engine`` and
``install_failing_trigger`` (a real database trigger that aborts inserts of the text 'BOOM').
Vectors are deterministic random unit vectors; terms are plain whitespace splits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from aiharness.audit import record as audit_record
from aiharness.knowledge.models import Collection, Document
from aiharness.knowledge.stores import (
    ChunkRecord,
    KnowledgeStore,
    SearchFilters,
    StoreError,
    StoreStats,
)

DIM = 8
ALL = SearchFilters()


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def record(index: int, words: str, *, seed: int | None = None, **extra: Any) -> ChunkRecord:
    return ChunkRecord(
        index=index,
        text=words,
        terms=words.lower().split(),
        vector=unit(index if seed is None else seed),
        token_count=len(words.split()),
        **extra,
    )


class KnowledgeStoreConformance:
    """Shared tests; a subclass per implementation supplies the fixtures named above."""

    def install_failing_trigger(self, engine: Engine) -> None:
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def add_collection(engine: Engine, name: str = "manuals", dim: int = DIM) -> int:
        with Session(engine) as session:
            collection = Collection(name=name, embedding_model="test-model", embedding_dim=dim)
            session.add(collection)
            session.commit()
            return collection.id

    @staticmethod
    def add_document(engine: Engine, collection_id: int, path: str = "pump.md") -> int:
        with Session(engine) as session:
            document = Document(
                collection_id=collection_id,
                source_kind="path",
                source_path=path,
                file_name=path.rsplit("/", 1)[-1],
                content_hash=f"hash-{path}",
            )
            session.add(document)
            session.commit()
            return document.id

    @staticmethod
    def chunk_count(engine: Engine, document_id: int) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT chunk_count FROM documents WHERE id = :d"), {"d": document_id}
                ).scalar_one()
            )

    @staticmethod
    def texts(store: KnowledgeStore, ids: Sequence[int]) -> list[str]:
        return [hit.text for hit in store.get_chunks(ids)]

    # -- writes and reads ------------------------------------------------------------------

    def test_written_chunks_are_found_by_keyword_and_vector(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc,
            chunks=[
                record(0, "pump seal inspection weekly"),
                record(1, "compressor oil change"),
                record(2, "conveyor belt tension check"),
            ],
        )
        hits = store.keyword_search(terms=["compressor", "oil"], k=5, filters=ALL)
        assert [h.chunk_id for h in hits][:1]
        assert self.texts(store, [hits[0].chunk_id]) == ["compressor oil change"]
        assert all(h.document_id == doc and h.collection_id == cid for h in hits)

        nearest = store.vector_search(vector=unit(2), k=3, filters=ALL)
        assert self.texts(store, [nearest[0].chunk_id]) == ["conveyor belt tension check"]
        assert nearest[0].score == pytest.approx(1.0, abs=1e-4)
        assert [h.score for h in nearest] == sorted((h.score for h in nearest), reverse=True)
        assert self.chunk_count(engine, doc) == 3

    def test_keyword_ranking_prefers_rare_terms_and_repeated_matches(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        filler = [record(i, f"pump maintenance routine note {i}") for i in range(10, 30)]
        store.replace_document_chunks(
            document_id=doc,
            chunks=[
                record(0, "pump bearing vibration alarm"),
                record(1, "pump pump pump pump housing"),
                record(2, "bearing bearing lubrication interval pump"),
                *filler,
            ],
        )
        hits = store.keyword_search(terms=["bearing", "pump"], k=30, filters=ALL)
        ranked = self.texts(store, [h.chunk_id for h in hits])
        # 'bearing' is rare (2 chunks), 'pump' is in all: both bearing chunks come first, the
        # one saying it twice on top; every chunk matches 'pump', so all 23 are returned.
        assert ranked[0] == "bearing bearing lubrication interval pump"
        assert ranked[1] == "pump bearing vibration alarm"
        assert len(ranked) == 23

    def test_particles_are_the_analyzers_job_terms_match_exactly(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc,
            chunks=[
                ChunkRecord(
                    index=0,
                    text="펌프를 정비한다",
                    terms=["펌프", "정비", "하다"],
                    vector=unit(0),
                ),
                ChunkRecord(index=1, text="it's c++", terms=["it's", "o'neil"], vector=unit(1)),
            ],
        )
        hits = store.keyword_search(terms=["정비"], k=5, filters=ALL)
        assert self.texts(store, [h.chunk_id for h in hits]) == ["펌프를 정비한다"]
        quoted = store.keyword_search(terms=["o'neil"], k=5, filters=ALL)
        assert self.texts(store, [h.chunk_id for h in quoted]) == ["it's c++"]
        assert store.keyword_search(terms=["없는말"], k=5, filters=ALL) == []
        assert store.keyword_search(terms=[], k=5, filters=ALL) == []

    def test_replace_swaps_the_whole_set(self, store: KnowledgeStore, engine: Engine) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc, chunks=[record(i, f"old valve text {i}", seed=i) for i in range(4)]
        )
        store.replace_document_chunks(
            document_id=doc,
            chunks=[record(i, f"new gasket text {i}", seed=100 + i) for i in range(2)],
        )
        assert store.keyword_search(terms=["valve"], k=10, filters=ALL) == []
        assert len(store.keyword_search(terms=["gasket"], k=10, filters=ALL)) == 2
        nearest = store.vector_search(vector=unit(0), k=10, filters=ALL)
        assert sorted(self.texts(store, [h.chunk_id for h in nearest])) == [
            "new gasket text 0",
            "new gasket text 1",
        ]
        stats = store.stats(collection_id=cid)
        assert (stats.documents, stats.chunks, stats.vectors) == (1, 2, 2)
        assert self.chunk_count(engine, doc) == 2

    def test_delete_document_removes_chunks_vectors_and_keywords(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        keep = self.add_document(engine, cid, "keep.md")
        gone = self.add_document(engine, cid, "gone.md")
        store.replace_document_chunks(document_id=keep, chunks=[record(0, "keep impeller")])
        store.replace_document_chunks(
            document_id=gone, chunks=[record(0, "gone impeller", seed=5), record(1, "gone x")]
        )
        gone_ids = [
            h.chunk_id
            for h in store.keyword_search(terms=["gone"], k=10, filters=ALL)
            if h.document_id == gone
        ]
        store.delete_document(document_id=gone)
        store.delete_document(document_id=gone)  # idempotent
        hits = store.keyword_search(terms=["impeller", "gone"], k=10, filters=ALL)
        assert [h.document_id for h in hits] == [keep]
        assert {h.document_id for h in store.vector_search(vector=unit(5), k=10, filters=ALL)} == {
            keep
        }
        assert store.get_chunks(gone_ids) == []
        stats = store.stats(collection_id=cid)
        assert (stats.documents, stats.chunks, stats.vectors) == (1, 1, 1)
        assert self.keyword_entries(engine) == 1

    def test_delete_document_runs_also_in_its_own_transaction(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        """``also`` (the audit row of the deletion) commits with the delete, and its failure
        keeps the document; a document that is already gone does not call it."""
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid, "audited.md")
        store.replace_document_chunks(document_id=doc, chunks=[record(0, "audited pump")])

        def failing(conn: Connection) -> None:
            conn.execute(text("SELECT 1"))
            raise RuntimeError("the audit write failed")

        with pytest.raises(RuntimeError, match="audit write failed"):
            store.delete_document(document_id=doc, also=failing)
        assert [h.document_id for h in store.keyword_search(terms=["pump"], k=5, filters=ALL)] == [
            doc
        ]
        calls: list[int] = []

        def audit(conn: Connection) -> None:
            audit_record(conn, action="test.delete", target=f"document:{doc}")
            calls.append(doc)

        store.delete_document(document_id=doc, also=audit)
        store.delete_document(document_id=doc, also=audit)  # already gone: not called again
        assert calls == [doc]
        assert store.keyword_search(terms=["pump"], k=5, filters=ALL) == []
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT action, target FROM audit_log")).all()
        assert [tuple(r) for r in rows] == [("test.delete", f"document:{doc}")]

    def test_deleting_the_collection_cascades_to_everything(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc, chunks=[record(0, "gone impeller", seed=3), record(1, "gone x")]
        )
        assert store.stats(collection_id=cid).vectors == 2
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM collections WHERE id = :c"), {"c": cid})
        assert store.keyword_search(terms=["gone"], k=5, filters=ALL) == []
        assert store.vector_search(vector=unit(3), k=5, filters=ALL) == []
        assert store.stats(collection_id=cid) == StoreStats(documents=0, chunks=0, vectors=0)
        assert self.keyword_entries(engine) == 0

    def keyword_entries(self, engine: Engine) -> int:
        """Rows in the backend's keyword index (subclasses count their own structure)."""
        raise NotImplementedError

    def test_get_chunks_keeps_order_and_skips_missing(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine, "procedures")
        doc = self.add_document(engine, cid, "safety/lockout.md")
        store.replace_document_chunks(
            document_id=doc,
            chunks=[
                record(0, "lockout tagout", page=3, heading="Safety", metadata={"lang": "en"}),
                record(1, "verify zero energy"),
            ],
        )
        ids = [
            h.chunk_id for h in store.keyword_search(terms=["lockout", "zero"], k=5, filters=ALL)
        ]
        wanted = [*sorted(ids, reverse=True), 987654]
        hits = store.get_chunks(wanted)
        assert [h.chunk_id for h in hits] == wanted[:2]
        first = next(h for h in hits if h.index == 0)
        assert (first.collection, first.source_path, first.file_name) == (
            "procedures",
            "safety/lockout.md",
            "lockout.md",
        )
        assert (first.page, first.heading, first.metadata) == (3, "Safety", {"lang": "en"})
        assert store.get_chunks([]) == []

    def test_keyword_collection_filter_ranks_the_same_alone_and_beside_others(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        # The embedded store ranks in the keyword index alone when no other collection has
        # chunks; the result must match the filtered ranking used once another one does.
        manuals = self.add_collection(engine, "manuals")
        doc = self.add_document(engine, manuals, "m.md")
        words = ["pump seal", "pump pump seal", "pump seal", "seal only", "pump seal"]
        store.replace_document_chunks(
            document_id=doc, chunks=[record(i, w) for i, w in enumerate(words)]
        )
        only = SearchFilters(collection_ids=[manuals])
        alone = store.keyword_search(terms=["pump"], k=3, filters=only)
        ids = [h.chunk_id for h in alone]
        # "pump pump seal" first, then the tied "pump seal" chunks by chunk id.
        assert self.texts(store, ids) == ["pump pump seal", "pump seal", "pump seal"]
        assert ids[1] < ids[2]
        reports = self.add_collection(engine, "reports")
        other = self.add_document(engine, reports, "r.md")
        store.replace_document_chunks(
            document_id=other, chunks=[record(i, "pump pump pump") for i in range(4)]
        )
        beside = store.keyword_search(terms=["pump"], k=3, filters=only)
        assert [h.chunk_id for h in beside] == ids
        assert {h.collection_id for h in beside} == {manuals}

    def test_a_collections_keyword_scores_do_not_depend_on_other_collections(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        # Issue 14: statistics shared by all collections let an unrelated collection change
        # idf and average length, so scores (and orders) moved. Every score must stay equal.
        manuals = self.add_collection(engine, "manuals")
        doc = self.add_document(engine, manuals, "m.md")
        words = [
            "pump bearing replacement interval",
            "pump seal leak",
            "compressor bearing schedule",
            "bearing grease pump pump",
            "valve inspection interval monthly",
            "pump",
        ]
        store.replace_document_chunks(
            document_id=doc, chunks=[record(i, w) for i, w in enumerate(words)]
        )
        only = SearchFilters(collection_ids=[manuals])
        queries = [["pump", "bearing"], ["interval"], ["seal", "leak", "grease"], ["valve"]]

        def results() -> list[list[tuple[int, float]]]:
            return [
                [
                    (h.chunk_id, round(h.score, 9))
                    for h in store.keyword_search(terms=q, k=10, filters=only)
                ]
                for q in queries
            ]

        before = results()
        assert all(before), "every query matches something in the first collection"
        # "bearing" and "pump" become common and chunks get much longer elsewhere.
        reports = self.add_collection(engine, "reports")
        other = self.add_document(engine, reports, "r.md")
        store.replace_document_chunks(
            document_id=other,
            chunks=[
                record(i, "pump bearing " + " ".join(f"filler{j}" for j in range(30)))
                for i in range(12)
            ],
        )
        assert results() == before
        # And the statistics follow the first collection's own changes (delete, replace).
        store.delete_document(document_id=other)
        assert results() == before
        store.replace_document_chunks(
            document_id=doc, chunks=[record(i, w) for i, w in enumerate(words[:3])]
        )
        fewer = store.keyword_search(terms=["pump"], k=10, filters=only)
        assert {h.chunk_id for h in fewer} <= {
            h.chunk_id for h in store.keyword_search(terms=["pump", "seal"], k=10, filters=only)
        }
        assert len(fewer) == 2

    def test_filters_by_collection_document_and_metadata(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        manuals = self.add_collection(engine, "manuals")
        reports = self.add_collection(engine, "reports")
        doc_a = self.add_document(engine, manuals, "a.md")
        doc_b = self.add_document(engine, manuals, "b.md")
        doc_c = self.add_document(engine, reports, "c.md")
        for doc, offset in ((doc_a, 0), (doc_b, 10), (doc_c, 20)):
            store.replace_document_chunks(
                document_id=doc,
                chunks=[
                    record(
                        i,
                        f"motor current reading {offset + i}",
                        seed=offset + i,
                        metadata={"line": offset // 10, "ko": i % 2 == 0, "area": f"z{i}"},
                    )
                    for i in range(3)
                ],
            )

        def docs(filters: SearchFilters) -> tuple[set[int], set[int]]:
            kw = store.keyword_search(terms=["motor"], k=50, filters=filters)
            vec = store.vector_search(vector=unit(21), k=50, filters=filters)
            return {h.document_id for h in kw}, {h.document_id for h in vec}

        assert docs(SearchFilters(collection_ids=[reports])) == ({doc_c}, {doc_c})
        assert docs(SearchFilters(collection_ids=[manuals])) == ({doc_a, doc_b}, {doc_a, doc_b})
        assert docs(SearchFilters(document_ids=[doc_b])) == ({doc_b}, {doc_b})
        assert docs(SearchFilters(collection_ids=[])) == (set(), set())
        assert docs(SearchFilters(metadata={"line": 2})) == ({doc_c}, {doc_c})
        area = SearchFilters(metadata={"area": "z1", "ko": False})
        kw = store.keyword_search(terms=["motor"], k=50, filters=area)
        assert sorted(self.texts(store, [h.chunk_id for h in kw])) == [
            "motor current reading 1",
            "motor current reading 11",
            "motor current reading 21",
        ]
        vec = store.vector_search(vector=unit(11), k=2, filters=area)
        assert self.texts(store, [vec[0].chunk_id]) == ["motor current reading 11"]
        assert docs(SearchFilters(metadata={"line": "2"})) == (set(), set())

    # -- bad input -------------------------------------------------------------------------

    def test_bad_writes_are_refused_and_keep_old_chunks(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(document_id=doc, chunks=[record(0, "original text")])
        bad_dim = ChunkRecord(index=0, text="x", terms=["x"], vector=np.ones(DIM + 1))
        nan = ChunkRecord(index=0, text="x", terms=["x"], vector=np.full(DIM, np.nan))
        zero = ChunkRecord(index=0, text="x", terms=["x"], vector=np.zeros(DIM))
        for chunks, message in (
            ([bad_dim], "dimensions"),
            ([nan], "NaN"),
            ([zero], "zero vector"),
            ([record(0, "a"), record(0, "b")], "twice"),
        ):
            with pytest.raises(StoreError, match=message):
                store.replace_document_chunks(document_id=doc, chunks=chunks)
        with pytest.raises(StoreError, match="does not exist"):
            store.replace_document_chunks(document_id=999_999, chunks=[record(0, "x")])
        with pytest.raises(StoreError, match="k must be"):
            store.keyword_search(terms=["x"], k=0, filters=ALL)
        with pytest.raises(StoreError, match="dimensions"):
            store.vector_search(
                vector=np.ones(DIM + 2), k=3, filters=SearchFilters(collection_ids=[cid])
            )
        hits = store.keyword_search(terms=["original"], k=5, filters=ALL)
        assert self.texts(store, [h.chunk_id for h in hits]) == ["original text"]

    def test_failure_inside_the_transaction_leaves_old_chunks(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        store.replace_document_chunks(
            document_id=doc, chunks=[record(i, f"stable rotor {i}", seed=i) for i in range(3)]
        )
        before = store.stats(collection_id=cid)
        self.install_failing_trigger(engine)
        # The trigger fires on the third insert, after the old rows were deleted in the same
        # transaction: everything must roll back.
        with pytest.raises(DBAPIError):
            store.replace_document_chunks(
                document_id=doc,
                chunks=[record(0, "fresh stator"), record(1, "fresh two"), record(2, "BOOM")],
            )
        assert store.keyword_search(terms=["fresh"], k=10, filters=ALL) == []
        assert len(store.keyword_search(terms=["rotor"], k=10, filters=ALL)) == 3
        nearest = store.vector_search(vector=unit(1), k=10, filters=ALL)
        assert sorted(self.texts(store, [h.chunk_id for h in nearest])) == [
            f"stable rotor {i}" for i in range(3)
        ]
        assert store.stats(collection_id=cid) == before
        assert self.chunk_count(engine, doc) == 3

    # -- concurrency -----------------------------------------------------------------------

    def test_readers_during_replace_see_the_old_or_the_new_set(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        doc = self.add_document(engine, cid)
        sets = {
            "alpha": [record(i, f"alpha part {i}", seed=i) for i in range(12)],
            "beta": [record(i, f"beta part {i}", seed=50 + i) for i in range(7)],
        }
        store.replace_document_chunks(document_id=doc, chunks=sets["alpha"])
        stop = threading.Event()
        problems: list[str] = []

        def writer() -> None:
            try:
                for round_ in range(12):
                    store.replace_document_chunks(
                        document_id=doc, chunks=sets["beta" if round_ % 2 == 0 else "alpha"]
                    )
            finally:
                stop.set()

        def reader() -> None:
            seen = 0
            while not stop.is_set() or seen < 3:
                seen += 1
                kw = store.keyword_search(terms=["alpha", "beta"], k=50, filters=ALL)
                tags = {t.split()[0] for t in self.texts(store, [h.chunk_id for h in kw])}
                if len(tags) > 1 or len(kw) not in (12, 7):
                    problems.append(f"keyword saw {len(kw)} hits with {tags}")
                vec = store.vector_search(vector=unit(3), k=50, filters=ALL)
                names = self.texts(store, [h.chunk_id for h in vec])
                if len({t.split()[0] for t in names}) > 1:
                    problems.append(f"vector search mixed sets: {names}")

        threads = [threading.Thread(target=writer)] + [
            threading.Thread(target=reader) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert problems == [], problems[:3]
        assert len(store.keyword_search(terms=["alpha"], k=50, filters=ALL)) == 12

    def test_concurrent_writers_of_one_collection_all_land(
        self, store: KnowledgeStore, engine: Engine
    ) -> None:
        cid = self.add_collection(engine)
        docs = [self.add_document(engine, cid, f"d{i}.md") for i in range(4)]
        errors: list[BaseException] = []

        def write(doc: int) -> None:
            try:
                for round_ in range(3):
                    store.replace_document_chunks(
                        document_id=doc,
                        chunks=[
                            record(i, f"shared term doc{doc} r{round_}", seed=doc * 10 + i)
                            for i in range(5)
                        ],
                    )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(d,)) for d in docs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert len(store.keyword_search(terms=["shared"], k=100, filters=ALL)) == 20
        assert len(store.keyword_search(terms=["r2"], k=100, filters=ALL)) == 20
        assert store.keyword_search(terms=["r0"], k=100, filters=ALL) == []
        stats = store.stats(collection_id=cid)
        assert (stats.documents, stats.chunks, stats.vectors) == (4, 20, 20)
