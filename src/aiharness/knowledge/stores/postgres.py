"""PostgreSQL knowledge store: pgvector HNSW for vectors, full-text search for keywords.

Keywords: each chunk's pre-analysed terms become a ``tsvector`` built directly from the terms
(no parser, no stemming: the analyzer already did that), matched through a GIN index. Ranking is
BM25 computed in SQL from per-collection document frequencies (``chunk_term_stats``, kept in the
write transaction) and the term frequencies stored as tsvector positions; ``ts_rank_cd`` is
available as ``ranking="ts_rank_cd"`` for comparison (docs/storage.md has the measurement).

Vectors: one partial HNSW index per collection over ``embedding::vector(dim)`` with inner-product
ops (vectors are L2-normalised, so the score is cosine similarity). A collection filter therefore
uses its own graph; document and metadata filters use pgvector's iterative scan.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, text

from aiharness.db.base import UTCDateTime, utcnow
from aiharness.knowledge.stores import base, staging
from aiharness.knowledge.stores.base import (
    ChunkHit,
    ChunkRecord,
    ScoredChunk,
    SearchFilters,
    StoreError,
    StoreStats,
    candidate_budget,
    candidate_terms,
    check_k,
    check_metadata_filters,
    normalise_vector,
    unique_terms,
)
from aiharness.knowledge.stores.common import chunk_rows, count_rows, fetch_chunks

Ranking = Literal["bm25", "ts_rank_cd"]

BM25_K1 = 1.2
BM25_B = 0.75
MAX_TSV_POSITION = 16383
MAX_POSITIONS_PER_TERM = 256
HNSW_M = 16
# All-common keyword queries: chunks of the rarest term sampled to choose the AND.
CONJUNCTION_SAMPLE = 1000
HNSW_EF_CONSTRUCTION = 64

_INSERT_CHUNK = text(
    "INSERT INTO chunks (document_id, collection_id, chunk_index, text, page, heading, "
    "token_count, metadata, terms, term_count, embedding, tsv) VALUES (:document_id, "
    ":collection_id, :chunk_index, :text, :page, :heading, :token_count, CAST(:metadata AS jsonb), "
    ":terms, :term_count, CAST(:embedding AS vector), CAST(:tsv AS tsvector))"
)


def tsvector_literal(terms: Sequence[str]) -> str:
    """A tsvector literal keeping each term exactly, with its positions (their count is the tf)."""
    positions: dict[str, list[int]] = {}
    for pos, term in enumerate(terms, start=1):
        slots = positions.setdefault(term, [])
        if len(slots) < MAX_POSITIONS_PER_TERM:
            slots.append(min(pos, MAX_TSV_POSITION))
    return " ".join(
        f"{_quote_lexeme(term)}:{','.join(map(str, slots))}" for term, slots in positions.items()
    )


def tsquery_literal(terms: Sequence[str]) -> str:
    return " | ".join(_quote_lexeme(t) for t in terms)


def _and_literal(terms: Sequence[str]) -> str:
    return " & ".join(_quote_lexeme(t) for t in terms)


def _quote_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.8g}" for x in vector.tolist()) + "]"


def bm25_idf(df: int, n: int) -> float:
    """Lucene's non-negative BM25 idf."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class PostgresKnowledgeStore:
    """The scale-out ``KnowledgeStore`` on PostgreSQL with the pgvector extension."""

    def __init__(
        self,
        *,
        engine: Engine,
        ranking: Ranking = "bm25",
        ef_search: int = 100,
        index_on_write: bool = True,
    ) -> None:
        """``index_on_write=False`` is for bulk loads: call ``ensure_vector_index`` afterwards
        (building an HNSW graph once is much faster than growing it row by row)."""
        if engine.dialect.name != "postgresql":
            raise StoreError("PostgresKnowledgeStore needs a PostgreSQL engine")
        self._engine = engine
        self.ranking: Ranking = ranking
        self.ef_search = ef_search
        self._index_on_write = index_on_write
        self._indexed: set[int] = set()
        self._iterative_scan: bool | None = None
        self._corpus_cache: dict[tuple[int, ...], tuple[tuple[int, ...], int, float]] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Check pgvector; add the extension and the embedding column if they are missing.

        The migration skips both on a server without pgvector, so that installing pgvector
        later needs no manual step.
        """
        with self._engine.begin() as conn:
            version = conn.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            ).scalar()
            if version is None:
                available = conn.execute(
                    text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
                ).first()
                if available is None:
                    raise StoreError(
                        "the PostgreSQL server has no pgvector extension, which the knowledge "
                        "base needs: install pgvector on the server (e.g. the "
                        "postgresql-<version>-pgvector package) and restart aiharness"
                    )
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                version = conn.execute(
                    text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                ).scalar_one()
            has_column = conn.execute(
                text(
                    "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = 'chunks' AND column_name = 'embedding'"
                )
            ).first()
            if has_column is None:
                conn.execute(text("ALTER TABLE chunks ADD COLUMN IF NOT EXISTS embedding vector"))
        major, minor = (int(p) for p in str(version).split(".")[:2])
        # hnsw.iterative_scan arrived in pgvector 0.8.0; older versions over-fetch instead.
        self._iterative_scan = (major, minor) >= (0, 8)

    def close(self) -> None:
        """Nothing to persist: every write is already committed to PostgreSQL."""

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def replace_document_chunks(self, *, document_id: int, chunks: Sequence[ChunkRecord]) -> None:
        created_index: int | None = None
        with self._write() as conn:
            collection_id, dim = self._lock_document(conn, document_id)
            rows = chunk_rows(
                document_id=document_id, collection_id=collection_id, dim=dim, chunks=chunks
            )
            for row in rows:
                words = row["terms"].split(" ") if row["terms"] else []
                row["tsv"] = tsvector_literal(words)
                row["embedding"] = vector_literal(row["embedding"])
            if rows and self._index_on_write and collection_id not in self._indexed:
                self._ensure_hnsw(conn, collection_id, dim)
                created_index = collection_id
            delta = self._df_delta(conn, document_id, sign=-1)
            conn.execute(text("DELETE FROM chunks WHERE document_id = :d"), {"d": document_id})
            if rows:
                conn.execute(_INSERT_CHUNK, rows)
            for row in rows:
                for term in set(row["terms"].split(" ")) if row["terms"] else ():
                    delta[term] += 1
            self._apply_df(conn, collection_id, delta)
            conn.execute(
                text(
                    "UPDATE documents SET chunk_count = :n, updated_at = :now WHERE id = :d"
                ).bindparams(bindparam("now", type_=UTCDateTime())),
                {"n": len(rows), "now": utcnow(), "d": document_id},
            )
        if created_index is not None:
            self._indexed.add(created_index)

    def delete_document(
        self, *, document_id: int, also: Callable[[Connection], object] | None = None
    ) -> None:
        with self._write() as conn:
            row = conn.execute(
                text("SELECT collection_id FROM documents WHERE id = :d"), {"d": document_id}
            ).first()
            if row is None:
                return
            collection_id = int(row[0])
            self._bump(conn, collection_id)
            delta = self._df_delta(conn, document_id, sign=-1)
            conn.execute(text("DELETE FROM documents WHERE id = :d"), {"d": document_id})
            self._apply_df(conn, collection_id, delta)
            if also is not None:
                also(conn)

    def _lock_document(self, conn: Connection, document_id: int) -> tuple[int, int]:
        row = conn.execute(
            text(
                "SELECT d.collection_id, c.embedding_dim FROM documents d "
                "JOIN collections c ON c.id = d.collection_id WHERE d.id = :d"
            ),
            {"d": document_id},
        ).first()
        if row is None:
            raise StoreError(f"document {document_id} does not exist")
        collection_id = int(row[0])
        # Writers of one collection queue on its row: the term statistics are then updated in
        # one order (no deadlocks) and the generation counter matches the embedded store's.
        self._bump(conn, collection_id)
        return collection_id, int(row[1])

    @staticmethod
    def _bump(conn: Connection, collection_id: int) -> None:
        conn.execute(
            text("UPDATE collections SET index_generation = index_generation + 1 WHERE id = :c"),
            {"c": collection_id},
        )

    @staticmethod
    def _df_delta(conn: Connection, document_id: int, *, sign: int) -> Counter[str]:
        delta: Counter[str] = Counter()
        for (terms,) in conn.execute(
            text("SELECT terms FROM chunks WHERE document_id = :d"), {"d": document_id}
        ):
            for term in set(terms.split(" ")) if terms else ():
                delta[term] += sign
        return delta

    @staticmethod
    def _apply_df(conn: Connection, collection_id: int, delta: Counter[str]) -> None:
        changed = sorted((t, d) for t, d in delta.items() if d != 0)
        if not changed:
            return
        conn.execute(
            text(
                "INSERT INTO chunk_term_stats (collection_id, term, df) "
                "SELECT :c, t, d FROM unnest(CAST(:terms AS text[]), CAST(:dfs AS int[])) "
                "AS u(t, d) "
                "ON CONFLICT (collection_id, term) DO UPDATE "
                "SET df = chunk_term_stats.df + EXCLUDED.df"
            ),
            {"c": collection_id, "terms": [t for t, _ in changed], "dfs": [d for _, d in changed]},
        )
        conn.execute(
            text("DELETE FROM chunk_term_stats WHERE collection_id = :c AND df <= 0"),
            {"c": collection_id},
        )

    def ensure_vector_index(self, collection_id: int) -> None:
        """Create the collection's HNSW index if it does not exist yet."""
        with self._write() as conn:
            dim = conn.execute(
                text("SELECT embedding_dim FROM collections WHERE id = :c"), {"c": collection_id}
            ).scalar()
            if dim is None:
                raise StoreError(f"collection {collection_id} does not exist")
            self._ensure_hnsw(conn, collection_id, int(dim))
        self._indexed.add(collection_id)

    def _ensure_hnsw(self, conn: Connection, collection_id: int, dim: int) -> None:
        # Serialise index creation across processes; IF NOT EXISTS makes it idempotent.
        conn.execute(text("SELECT pg_advisory_xact_lock(72037, :c)"), {"c": collection_id})
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {_hnsw_name(collection_id)} ON chunks USING hnsw "
                f"((embedding::vector({int(dim)})) vector_ip_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE collection_id = {int(collection_id)}"
            )
        )

    # -- keyword search ------------------------------------------------------------------

    def keyword_search(
        self, *, terms: Sequence[str], k: int, filters: SearchFilters
    ) -> list[ScoredChunk]:
        check_k(k)
        check_metadata_filters(filters.metadata)
        query_terms = unique_terms(terms)
        if not query_terms:
            return []
        where, params = _filter_sql(filters)
        # BM25 reads statistics and then matches: one snapshot, so a replace committing in
        # between cannot make the two disagree (readers see the old set or the new one).
        with self._engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            if self.ranking == "ts_rank_cd":
                sql = text(
                    "SELECT c.id, c.document_id, c.collection_id, "  # noqa: S608 (fixed clauses; values bound)
                    "ts_rank_cd(c.tsv, CAST(:match AS tsquery), 1) AS score FROM chunks c "
                    f"WHERE c.tsv @@ CAST(:match AS tsquery){where} ORDER BY score DESC LIMIT :k"
                )
                params.update(match=tsquery_literal(query_terms), k=k)
                rows = conn.execute(sql, params).all()
            else:
                rows = self._bm25(conn, query_terms, k, filters, where, params)
        return [ScoredChunk(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in rows]

    def _bm25(
        self,
        conn: Connection,
        query_terms: list[str],
        k: int,
        filters: SearchFilters,
        where: str,
        params: dict[str, Any],
    ) -> Sequence[Any]:
        collection_ids, n, avgdl = self._corpus(conn, filters.collection_ids)
        if n == 0:
            return []
        # Matching always goes through the GIN index: with a LIMIT the planner may prefer a
        # sequential scan that reads (and de-TOASTs) every tsvector until enough rows match.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        dfs: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT term, sum(df) FROM chunk_term_stats "
                    "WHERE collection_id = ANY(:c) AND term = ANY(:t) GROUP BY term"
                ),
                {"c": list(collection_ids), "t": query_terms},
            ).all()
        )
        present = [t for t in query_terms if dfs.get(t)]
        known = {t: int(dfs[t]) for t in present}
        matching = candidate_terms(known, present, n)
        if not matching:
            return []
        match, cap = tsquery_literal(matching), None
        budget = candidate_budget(n)
        if len(present) > 1 and known[matching[0]] > budget:
            match = self._conjunctive_match(conn, known, where, params, budget)
            # Boilerplate can match thousands of chunks even with every term required; score
            # a bounded number of them (they hold every query term and score alike).
            cap = base.CONJUNCTION_SCORE_CAP
        params.update(
            match=match,
            cap=cap,
            qterms=present,
            idfs=[bm25_idf(int(dfs[t]), n) for t in present],
            k=k,
            k1=BM25_K1,
            b=BM25_B,
            avgdl=max(avgdl, 1.0),
        )
        # tf is the number of positions of a lexeme. setweight(..., lexemes) marks the query's
        # lexemes and ts_filter keeps only those, so each candidate unnests a handful of
        # entries instead of its whole tsvector.
        sql = text(
            "SELECT c.id, c.document_id, c.collection_id, ("  # noqa: S608 (fixed clauses; values bound)
            " SELECT sum(i.idf * (i.tf * (:k1 + 1))"
            " / (i.tf + :k1 * (1 - :b + :b * c.term_count / :avgdl))) FROM ("
            "  SELECT cardinality(u.positions)::float8 AS tf,"
            "  (CAST(:idfs AS float8[]))[array_position(CAST(:qterms AS text[]), u.lexeme)] AS idf"
            "  FROM unnest(ts_filter(setweight(c.tsv, 'A', CAST(:qterms AS text[])), '{a}')) AS u"
            " ) i) AS score "
            "FROM (SELECT c.id, c.document_id, c.collection_id, c.term_count, c.tsv FROM chunks c "
            f"WHERE c.tsv @@ CAST(:match AS tsquery){where} LIMIT :cap) c "
            "ORDER BY score DESC, c.id LIMIT :k"
        )
        return conn.execute(sql, params).all()

    @staticmethod
    def _conjunctive_match(
        conn: Connection, dfs: dict[str, int], where: str, params: dict[str, Any], budget: int
    ) -> str:
        """An AND of the rarest query terms expected to match about the candidate budget.

        Used when every query term is common: an OR of them would make BM25 score tens of
        thousands of rows (hundreds of ms at 100k chunks). The chunks that rank highest on such a
        query hold several of its terms, so requiring the rarest few keeps most of them. Common
        terms go together (boilerplate phrases), so how many to require is estimated from one
        sample of the rarest term's chunks rather than from the document frequencies alone.
        """
        order = sorted(dfs, key=lambda t: (dfs[t], t))
        prefixes = [_and_literal(order[:m]) for m in range(2, len(order) + 1)]
        counts = ", ".join(
            f"count(*) FILTER (WHERE s.tsv @@ CAST(:p{i} AS tsquery))" for i in range(len(prefixes))
        )
        sample = conn.execute(
            text(
                f"SELECT count(*), {counts} FROM (SELECT c.tsv FROM chunks c "  # noqa: S608 (fixed clauses; values bound)
                f"WHERE c.tsv @@ CAST(:rarest AS tsquery){where} LIMIT :sample) s"
            ),
            {
                **params,
                "rarest": _and_literal(order[:1]),
                "sample": CONJUNCTION_SAMPLE,
                **{f"p{i}": p for i, p in enumerate(prefixes)},
            },
        ).one()
        taken = max(int(sample[0]), 1)
        for prefix, hits in zip(prefixes, sample[1:], strict=True):
            if dfs[order[0]] * int(hits) / taken <= budget:
                return prefix
        return prefixes[-1]

    def _corpus(
        self, conn: Connection, collection_ids: Sequence[int] | None
    ) -> tuple[tuple[int, ...], int, float]:
        """(collection ids, chunk count, mean terms per chunk), cached per collection generation."""
        if collection_ids is None:
            rows = conn.execute(text("SELECT id, index_generation FROM collections ORDER BY id"))
        else:
            rows = conn.execute(
                text("SELECT id, index_generation FROM collections WHERE id = ANY(:c) ORDER BY id"),
                {"c": list(collection_ids)},
            )
        state = [(int(r[0]), int(r[1])) for r in rows]
        ids = tuple(cid for cid, _ in state)
        generations = tuple(g for _, g in state)
        with self._lock:
            cached = self._corpus_cache.get(ids)
        if cached is not None and cached[0] == generations:
            return ids, cached[1], cached[2]
        n, avgdl = conn.execute(
            text(
                "SELECT count(*), coalesce(avg(term_count), 0) FROM chunks "
                "WHERE collection_id = ANY(:c)"
            ),
            {"c": list(ids)},
        ).one()
        with self._lock:
            self._corpus_cache[ids] = (generations, int(n), float(avgdl))
        return ids, int(n), float(avgdl)

    # -- vector search -------------------------------------------------------------------

    def vector_search(
        self, *, vector: np.ndarray, k: int, filters: SearchFilters
    ) -> list[ScoredChunk]:
        check_k(k)
        check_metadata_filters(filters.metadata)
        if self._iterative_scan is None:
            self.warm_up()
        query_dim = int(np.asarray(vector).size)
        with self._engine.connect() as conn:
            collections = self._collections(conn, filters.collection_ids)
            if filters.collection_ids is not None:
                for cid, dim in collections:
                    if dim != query_dim:
                        raise StoreError(
                            f"query vector has {query_dim} dimensions; collection {cid} uses {dim}"
                        )
            hits: list[ScoredChunk] = []
            for cid, dim in collections:
                if dim != query_dim:
                    continue
                query = normalise_vector(vector, dim=dim, what="query vector")
                hits.extend(self._vector_one(conn, cid, dim, query, k, filters))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def _vector_one(
        self,
        conn: Connection,
        collection_id: int,
        dim: int,
        query: np.ndarray,
        k: int,
        filters: SearchFilters,
    ) -> list[ScoredChunk]:
        narrowed = filters.document_ids is not None or bool(filters.metadata)
        inner = SearchFilters(document_ids=filters.document_ids, metadata=filters.metadata)
        where, params = _filter_sql(inner)
        limit = k
        with conn.begin():
            conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(self.ef_search, k)}"))
            if narrowed and self._iterative_scan:
                # Keep walking the graph until enough rows pass the filters (pgvector >= 0.8).
                conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            elif narrowed:
                limit = min(k * 20, 1000)
                conn.execute(text(f"SET LOCAL hnsw.ef_search = {min(limit, 1000)}"))
            # The ORDER BY expression and the WHERE predicate match the partial HNSW index.
            # relaxed_order may return rows slightly out of order: re-sort outside.
            sql = text(
                "SELECT id, document_id, collection_id, -distance FROM ("  # noqa: S608 (fixed clauses; values bound)
                f" SELECT c.id, c.document_id, c.collection_id,"
                f" (c.embedding::vector({int(dim)})) <#> CAST(:q AS vector({int(dim)})) AS distance"
                f" FROM chunks c WHERE c.collection_id = {int(collection_id)}"
                f" AND c.embedding IS NOT NULL{where}"
                " ORDER BY distance LIMIT :limit) s ORDER BY distance LIMIT :k"
            )
            params.update(q=vector_literal(query), limit=limit, k=k)
            rows = conn.execute(sql, params).all()
        return [ScoredChunk(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in rows]

    @staticmethod
    def _collections(
        conn: Connection, collection_ids: Sequence[int] | None
    ) -> list[tuple[int, int]]:
        if collection_ids is None:
            rows = conn.execute(text("SELECT id, embedding_dim FROM collections ORDER BY id"))
        else:
            rows = conn.execute(
                text("SELECT id, embedding_dim FROM collections WHERE id = ANY(:c) ORDER BY id"),
                {"c": list(collection_ids)},
            )
        result = [(int(r[0]), int(r[1])) for r in rows]
        conn.commit()
        return result

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[ChunkHit]:
        return fetch_chunks(self._engine, chunk_ids)

    def stats(self, *, collection_id: int) -> StoreStats:
        with self._engine.connect() as conn:
            documents, chunks = count_rows(conn, collection_id)
            vectors = conn.execute(
                text(
                    "SELECT count(*) FROM chunks WHERE collection_id = :c AND embedding IS NOT NULL"
                ),
                {"c": collection_id},
            ).scalar_one()
        return StoreStats(documents=documents, chunks=chunks, vectors=int(vectors))

    # -- re-embedding (knowledge.reembed) ---------------------------------------------------

    def stage_vectors(
        self,
        *,
        collection_id: int,
        model: str,
        dim: int,
        vectors: Sequence[tuple[int, np.ndarray]],
    ) -> None:
        rows = staging.stage_rows(
            collection_id=collection_id, model=model, dim=dim, vectors=vectors
        )
        # One statement per batch (arrays unnested server-side): a round trip per vector
        # made staging several times slower than the swap itself.
        latest = {row["chunk_id"]: row["embedding"] for row in rows}  # ON CONFLICT: once per id
        if not latest:
            return
        with self._write() as conn:
            conn.execute(
                _STAGE_VECTORS,
                {
                    "c": collection_id,
                    "model": model,
                    "dim": dim,
                    "ids": list(latest),
                    "embeddings": [
                        "{" + ",".join(f"{x:.8g}" for x in v.tolist()) + "}"
                        for v in latest.values()
                    ],
                },
            )

    def swap_staged_vectors(self, *, collection_id: int, model: str, dim: int) -> int:
        with self._engine.connect() as conn:
            missing = staging.count_unstaged(
                conn, collection_id=collection_id, model=model, dim=dim
            )
            conn.rollback()
        if missing:
            return missing
        # Drop the HNSW graph first, outside the swap: DROP INDEX inside the transaction would
        # lock every reader of ``chunks`` out until commit. Until the job rebuilds it
        # (``rebuild_vector_index``), this collection's searches scan its rows exactly.
        self._drop_hnsw_concurrently(collection_id)
        with self._write() as conn:
            # Writers of the collection lock its row first (``_lock_document``): once we hold
            # it, no chunk of the collection changes until we commit.
            locked = conn.execute(
                text("SELECT id FROM collections WHERE id = :c FOR UPDATE"), {"c": collection_id}
            ).first()
            if locked is None:
                raise StoreError(f"collection {collection_id} does not exist")
            missing = staging.count_unstaged(
                conn, collection_id=collection_id, model=model, dim=dim
            )
            if missing:
                return missing
            # A process still on the old set-up may have recreated the graph meanwhile; its
            # fixed dimension would reject the new vectors.
            conn.execute(text(f"DROP INDEX IF EXISTS {_hnsw_name(collection_id)}"))
            conn.execute(
                text(
                    "UPDATE chunks c SET embedding = CAST(s.embedding AS vector) "
                    "FROM chunk_vector_staging s WHERE s.chunk_id = c.id "
                    "AND c.collection_id = :c"
                ),
                {"c": collection_id},
            )
            staging.record_model(conn, collection_id=collection_id, model=model, dim=dim)
            self._bump(conn, collection_id)
            staging.discard(conn, collection_id=collection_id, keep=None)
        return 0

    def _drop_hnsw_concurrently(self, collection_id: int) -> None:
        self._indexed.discard(collection_id)
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {_hnsw_name(collection_id)}"))

    def discard_staged_vectors(
        self, *, collection_id: int, keep: tuple[str, int] | None = None
    ) -> None:
        with self._write() as conn:
            staging.discard(conn, collection_id=collection_id, keep=keep)

    def forget_collection(self, *, collection_id: int) -> None:
        """Nothing outside PostgreSQL: the collection's HNSW index went with its rows."""

    def rebuild_vector_index(self, collection_id: int) -> None:
        """``CREATE INDEX CONCURRENTLY``: unlike ``ensure_vector_index``, writes to ``chunks``
        go on while the graph is built (minutes at 100k passages)."""
        name = _hnsw_name(collection_id)
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            dim = conn.execute(
                text("SELECT embedding_dim FROM collections WHERE id = :c"), {"c": collection_id}
            ).scalar()
            if dim is None:
                raise StoreError(f"collection {collection_id} does not exist")
            found = conn.execute(
                text(
                    "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :n "
                    "AND c.relnamespace = current_schema()::regnamespace"
                ),
                {"n": name},
            ).first()
            # An interrupted concurrent build leaves an invalid index that IF NOT EXISTS would
            # keep forever; one for another dimension cannot index today's vectors.
            if found is not None and (not found[0] or f"vector({int(dim)})" not in found[1]):
                conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
            conn.execute(
                text(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON chunks USING hnsw "
                    f"((embedding::vector({int(dim)})) vector_ip_ops) "
                    f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                    f"WHERE collection_id = {int(collection_id)}"
                )
            )
        self._indexed.add(collection_id)


_STAGE_VECTORS = text(
    "INSERT INTO chunk_vector_staging (chunk_id, collection_id, model, dim, embedding) "
    "SELECT c.id, c.collection_id, :model, :dim, CAST(u.e AS real[]) "
    "FROM unnest(CAST(:ids AS int[]), CAST(:embeddings AS text[])) AS u(id, e) "
    "JOIN chunks c ON c.id = u.id AND c.collection_id = :c "
    "ON CONFLICT (chunk_id) DO UPDATE SET collection_id = excluded.collection_id, "
    "model = excluded.model, dim = excluded.dim, embedding = excluded.embedding"
)


def _hnsw_name(collection_id: int) -> str:
    return f"ix_chunks_hnsw_c{int(collection_id)}"


def _filter_sql(filters: SearchFilters) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.collection_ids is not None:
        clauses.append("c.collection_id = ANY(:collection_ids)")
        params["collection_ids"] = list(filters.collection_ids)
    if filters.document_ids is not None:
        clauses.append("c.document_id = ANY(:document_ids)")
        params["document_ids"] = list(filters.document_ids)
    if filters.metadata:
        clauses.append("c.metadata @> CAST(:metadata AS jsonb)")
        params["metadata"] = json.dumps(dict(filters.metadata), ensure_ascii=False)
    return "".join(f" AND {c}" for c in clauses), params
