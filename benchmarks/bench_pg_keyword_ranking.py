"""Which keyword ranking to use on PostgreSQL: BM25 in SQL versus ts_rank_cd, on judged sets.

    uv run python benchmarks/bench_pg_keyword_ranking.py [autorag-ko] [msmarco-en]

Loads autorag-ko (Korean) and msmarco-en (English) through the real stores with Kiwi-analysed
terms and prints nDCG@10 / MRR@10 / Recall@10 for PostgreSQL BM25 (the store's default, with and
without the keyword candidate budget), PostgreSQL ts_rank_cd (normalisation 1), and the embedded
store's SQLite FTS5 bm25(). Vectors are random (keyword search ignores them).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from aiharness.db import migrate
from aiharness.db.engine import create_db_engine
from aiharness.knowledge.analysis import get_analyzer
from aiharness.knowledge.models import Collection, Document
from aiharness.knowledge.stores import ChunkRecord, KnowledgeStore, SearchFilters
from aiharness.knowledge.stores import base as store_base
from aiharness.knowledge.stores.postgres import PostgresKnowledgeStore
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation import mrr_at_k, ndcg_at_k, recall_at_k

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "retrieval"
DIM = 8
BUDGET = store_base.KEYWORD_CANDIDATE_BUDGET
EXACT = 10**9  # no candidate budget: every chunk holding any query term is scored

Judged = tuple[list[tuple[str, str]], list[tuple[str, dict[str, float]]]]


def autorag_ko() -> Judged:
    import pyarrow.parquet as pq

    folder = DATASETS / "autorag-ko"
    corpus = pq.read_table(folder / "ocr_corpus_v3.parquet").to_pylist()
    qa = pq.read_table(folder / "qa_v4.parquet").to_pylist()
    docs = [(str(r["doc_id"]), str(r["contents"])) for r in corpus]
    queries = [
        (str(r["query"]), {d: 1.0 for group in r["retrieval_gt"] for d in group}) for r in qa
    ]
    return docs, queries


def msmarco_en() -> Judged:
    folder = DATASETS / "msmarco-en"
    docs = []
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        row = json.loads(line)
        docs.append((str(row["_id"]), f"{row.get('title', '')} {row['text']}".strip()))
    qrels: dict[str, dict[str, float]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].isdigit() and float(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = float(parts[2])
    queries = []
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if str(row["_id"]) in qrels:
            queries.append((str(row["text"]), qrels[str(row["_id"])]))
    return docs, queries


def load(store: KnowledgeStore, engine: Engine, docs: list[tuple[str, str]], terms: Any) -> int:
    rng = np.random.default_rng(0)
    with Session(engine) as session:
        collection = Collection(name="judged", embedding_model="random", embedding_dim=DIM)
        session.add(collection)
        session.commit()
        cid = collection.id
        rows = [
            Document(
                collection_id=cid,
                source_kind="path",
                source_path=doc_id,
                file_name=doc_id,
                content_hash=doc_id,
            )
            for doc_id, _ in docs
        ]
        session.add_all(rows)
        session.commit()
        ids = [r.id for r in rows]
    for doc_pk, (_, body), doc_terms in zip(ids, docs, terms, strict=True):
        store.replace_document_chunks(
            document_id=doc_pk,
            chunks=[ChunkRecord(index=0, text=body, terms=doc_terms, vector=rng.random(DIM) + 0.1)],
        )
    return cid


def score(
    store: KnowledgeStore, engine: Engine, queries: Any, query_terms: Any
) -> tuple[float, float, float, float]:
    with engine.connect() as conn:
        source = dict(conn.execute(text("SELECT id, source_path FROM documents")).all())
    ndcg = mrr = recall = 0.0
    started = time.perf_counter()
    for (_, relevant), terms in zip(queries, query_terms, strict=True):
        hits = store.keyword_search(terms=terms, k=10, filters=SearchFilters())
        ranked = [source[h.document_id] for h in hits]
        ndcg += ndcg_at_k(ranked, relevant, 10)
        mrr += mrr_at_k(ranked, relevant, 10)
        recall += recall_at_k(ranked, relevant, 10)
    ms = (time.perf_counter() - started) * 1000 / len(queries)
    n = len(queries)
    return ndcg / n, mrr / n, recall / n, ms


def main() -> int:
    if not DATASETS.is_dir():
        print(f"skipped: {DATASETS} not found")
        return 0
    analyzer = get_analyzer("kiwi")
    work = Path(tempfile.mkdtemp(prefix="aiharness-rank-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server: Any = pgserver.get_server(work / "pgdata", cleanup_mode="delete")
    admin_url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    print("| set | ranking | nDCG@10 | MRR@10 | Recall@10 | ms/query |")
    print("|---|---|---:|---:|---:|---:|")
    try:
        sets = {"autorag-ko": autorag_ko, "msmarco-en": msmarco_en}
        chosen = sys.argv[1:] or list(sets)
        for name, loader in ((n, sets[n]) for n in chosen):
            docs, queries = loader()
            doc_terms = analyzer.terms_batch([body for _, body in docs])
            query_terms = analyzer.terms_batch([q for q, _ in queries])
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            pg_engine = create_db_engine(admin_url.set(database=name).render_as_string(False))
            migrate.upgrade(pg_engine)
            pg = PostgresKnowledgeStore(engine=pg_engine)
            pg.warm_up()
            load(pg, pg_engine, docs, doc_terms)
            for ranking, budget in (("bm25", BUDGET), ("bm25", EXACT), ("ts_rank_cd", BUDGET)):
                pg.ranking = ranking  # type: ignore[assignment]
                store_base.KEYWORD_CANDIDATE_BUDGET = budget
                ndcg, mrr, recall, ms = score(pg, pg_engine, queries, query_terms)
                label = f"{ranking}{' (no budget)' if budget == EXACT else ''}"
                print(
                    f"| {name} | PostgreSQL {label} | {ndcg:.3f} | {mrr:.3f} | "
                    f"{recall:.3f} | {ms:.1f} |"
                )
            store_base.KEYWORD_CANDIDATE_BUDGET = BUDGET
            pg_engine.dispose()
            sqlite_dir = work / name
            sqlite_dir.mkdir()
            lite_engine = create_db_engine(f"sqlite:///{sqlite_dir / 'k.db'}")
            migrate.upgrade(lite_engine)
            lite = SqliteKnowledgeStore(engine=lite_engine, index_dir=sqlite_dir / "index")
            load(lite, lite_engine, docs, doc_terms)
            for budget in (BUDGET, EXACT):
                store_base.KEYWORD_CANDIDATE_BUDGET = budget
                ndcg, mrr, recall, ms = score(lite, lite_engine, queries, query_terms)
                label = "SQLite FTS5 bm25" + (" (no budget)" if budget == EXACT else "")
                print(f"| {name} | {label} | {ndcg:.3f} | {mrr:.3f} | {recall:.3f} | {ms:.1f} |")
            store_base.KEYWORD_CANDIDATE_BUDGET = BUDGET
            lite_engine.dispose()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
