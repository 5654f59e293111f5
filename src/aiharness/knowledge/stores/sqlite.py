"""Embedded knowledge store: SQLite (WAL) for rows and FTS5 keywords, an in-process vector index.

Keyword search matches through SQLite FTS5 over a column holding the space-joined, pre-analysed
terms, and ranks with BM25 computed in SQL (FTS5's own formula) from per-collection statistics:
document frequencies in ``chunk_term_stats``, kept in the chunk-write transaction, and the
collection's chunk count and mean length. FTS5's ``bm25()`` reads them from the whole table, so
one collection's rankings changed whenever another collection grew (issue 14).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
from aiharness.knowledge.stores.vector_index import VectorIndex, next_vector_epoch

_INSERT_CHUNK = text(
    "INSERT INTO chunks (document_id, collection_id, chunk_index, text, page, heading, "
    "token_count, metadata, terms, term_count, embedding) VALUES (:document_id, :collection_id, "
    ":chunk_index, :text, :page, :heading, :token_count, :metadata, :terms, :term_count, "
    ":embedding)"
)


# Queries made only of common terms (see ``_conjunctive_match``): at most this many required.
MAX_REQUIRED_TERMS = 3
# FTS5's BM25 parameters, so that a lone collection ranks as FTS5's bm25() ranked it.
BM25_K1 = 1.2
BM25_B = 0.75
_TERM_CHUNK = 500  # terms per statement when reading or writing statistics


def bm25_idf(df: int, n: int) -> float:
    """FTS5's idf: a term in more than half the chunks still counts a little (1e-6)."""
    idf = math.log((n - df + 0.5) / (df + 0.5))
    return idf if idf > 0 else 1e-6


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: each term a quoted string, OR-ed (BM25 ranks partial matches)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def metadata_path(key: str) -> str:
    return '$."' + key.replace('"', '""') + '"'


class SqliteKnowledgeStore:
    """The embedded ``KnowledgeStore``; vector index files in ``index_dir`` are rebuildable."""

    def __init__(self, *, engine: Engine, index_dir: Path) -> None:
        if engine.dialect.name != "sqlite":
            raise StoreError("SqliteKnowledgeStore needs a SQLite engine")
        self._engine = engine
        self.index = VectorIndex(engine=engine, directory=index_dir)
        # (collection ids) -> (their generations, chunk count, mean terms per chunk)
        self._corpus_cache: dict[tuple[int, ...], tuple[tuple[int, ...], int, float]] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        for collection_id in self._collection_ids():
            self.index.snapshot(collection_id)

    def close(self) -> None:
        self.index.save_all()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads
        # first could not upgrade if another writer committed in between.
        with self._engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def replace_document_chunks(self, *, document_id: int, chunks: Sequence[ChunkRecord]) -> None:
        with self._write() as conn:
            row = conn.execute(
                text(
                    "SELECT d.collection_id, c.embedding_dim FROM documents d "
                    "JOIN collections c ON c.id = d.collection_id WHERE d.id = :d"
                ),
                {"d": document_id},
            ).first()
            if row is None:
                raise StoreError(f"document {document_id} does not exist")
            collection_id, dim = int(row[0]), int(row[1])
            rows = chunk_rows(
                document_id=document_id, collection_id=collection_id, dim=dim, chunks=chunks
            )
            for row_params in rows:
                row_params["embedding"] = row_params["embedding"].astype("<f4").tobytes()
            delta = _df_delta(conn, document_id)
            conn.execute(text("DELETE FROM chunks WHERE document_id = :d"), {"d": document_id})
            if rows:
                conn.execute(_INSERT_CHUNK, rows)
            for row_params in rows:
                delta.update(set(row_params["terms"].split(" ")) if row_params["terms"] else ())
            _apply_df(conn, collection_id, delta)
            conn.execute(
                text(
                    "UPDATE documents SET chunk_count = :n, updated_at = :now WHERE id = :d"
                ).bindparams(bindparam("now", type_=UTCDateTime())),
                {"n": len(rows), "now": utcnow(), "d": document_id},
            )
            self._bump(conn, collection_id)

    def delete_document(
        self, *, document_id: int, also: Callable[[Connection], object] | None = None
    ) -> None:
        with self._write() as conn:
            collection_id = conn.execute(
                text("SELECT collection_id FROM documents WHERE id = :d"), {"d": document_id}
            ).scalar()
            if collection_id is None:
                return
            delta = _df_delta(conn, document_id)
            # ON DELETE CASCADE removes the chunks; the FTS5 delete trigger fires for each.
            conn.execute(text("DELETE FROM documents WHERE id = :d"), {"d": document_id})
            _apply_df(conn, int(collection_id), delta)
            self._bump(conn, int(collection_id))
            if also is not None:
                also(conn)

    @staticmethod
    def _bump(conn: Connection, collection_id: int) -> None:
        conn.execute(
            text("UPDATE collections SET index_generation = index_generation + 1 WHERE id = :c"),
            {"c": collection_id},
        )

    def keyword_search(
        self, *, terms: Sequence[str], k: int, filters: SearchFilters
    ) -> list[ScoredChunk]:
        check_k(k)
        check_metadata_filters(filters.metadata)
        query_terms = unique_terms(terms)
        if not query_terms:
            return []
        where, params = _filter_sql(filters)
        with self._engine.connect() as conn:
            # One read transaction: statistics and matches come from the same snapshot.
            conn.exec_driver_sql("BEGIN")
            try:
                rows = self._bm25(conn, query_terms, k, filters, where, params)
            finally:
                conn.rollback()
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
        dfs = _document_frequencies(conn, collection_ids, query_terms)
        present = [t for t in query_terms if dfs.get(t)]
        matching = candidate_terms(dfs, present, n)
        if not matching:
            return []
        match, cap = fts_query(matching), None
        if len(present) > 1 and dfs[matching[0]] > candidate_budget(n):
            match = self._conjunctive_match(conn, dfs, where, params, candidate_budget(n))
            # Boilerplate can match thousands of chunks even with every term required; score
            # a bounded number of them (they hold every query term and score alike).
            cap = base.CONJUNCTION_SCORE_CAP
        # tf of each query term: its occurrences in the chunk's space-joined terms, each term
        # padded by its own spaces so that neighbours never share one.
        tfs, score = [], []
        for i, term in enumerate(present):
            params[f"p{i}"] = f" {term} "
            params[f"l{i}"] = len(term) + 2
            params[f"idf{i}"] = bm25_idf(dfs[term], n)
            tfs.append(f"(length(s) - length(replace(s, :p{i}, ''))) / :l{i} AS tf{i}")
            score.append(
                f":idf{i} * tf{i} * {BM25_K1 + 1} / "
                f"(tf{i} + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * term_count / :avgdl))"
            )
        params.update(match=match, k=k, avgdl=max(avgdl, 1.0))
        limit = ""
        if cap is not None:
            params["cap"] = cap
            limit = " LIMIT :cap"
        score_sql, tf_sql = " + ".join(score), ", ".join(tfs)
        sql = text(
            f"SELECT id, document_id, collection_id, {score_sql} AS score FROM ("  # noqa: S608 (fixed clauses; values bound)
            f" SELECT id, document_id, collection_id, term_count, {tf_sql} FROM ("
            "  SELECT c.id, c.document_id, c.collection_id, c.term_count,"
            "  ' ' || replace(c.terms, ' ', '  ') || ' ' AS s"
            "  FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid"
            f"  WHERE chunks_fts MATCH :match{where}{limit}"
            " )) ORDER BY score DESC, id LIMIT :k"
        )
        return conn.execute(_expanding(sql, params), params).all()

    def _match_expression(self, conn: Connection, terms: list[str]) -> tuple[str | None, bool]:
        """The FTS5 MATCH a search over every collection uses for ``terms``, and whether it is
        the AND of a query made only of common terms (benchmarks/bench_search_latency.py)."""
        collection_ids, n, _ = self._corpus(conn, None)
        dfs = _document_frequencies(conn, collection_ids, terms)
        present = [t for t in terms if dfs.get(t)]
        matching = candidate_terms(dfs, present, n)
        if not matching:
            return None, False
        if len(present) > 1 and dfs[matching[0]] > candidate_budget(n):
            return self._conjunctive_match(conn, dfs, "", {}, candidate_budget(n)), True
        return fts_query(matching), False

    @staticmethod
    def _conjunctive_match(
        conn: Connection, dfs: dict[str, int], where: str, params: dict[str, Any], budget: int
    ) -> str:
        """An AND of the rarest query terms that matches at most about ``budget`` chunks.

        Used when even the rarest term is in more chunks than the budget (a query made only of
        common morphemes): scoring all its chunks ranks on one term and is slow. The rarest
        terms are required together, adding the next rarest (at most ``MAX_REQUIRED_TERMS``)
        while the AND still matches more than the budget within the searched chunks; a term
        that no match shares is skipped. Those chunks hold most query terms, so the full OR
        ranking puts them first anyway.
        """
        order = sorted(dfs, key=lambda t: (dfs[t], t))
        count_sql = _expanding(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM chunks_fts JOIN chunks c "  # noqa: S608 (fixed clauses; values bound)
                f"ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH :match{where} LIMIT :cap)"
            ),
            params,
        )
        required = order[:1]
        for term in order[1:]:
            if len(required) >= MAX_REQUIRED_TERMS:
                break
            together = " AND ".join(fts_query([t]) for t in [*required, term])
            count = conn.execute(
                count_sql, {**params, "match": together, "cap": budget + 1}
            ).scalar()
            if not count:
                continue
            required.append(term)
            if count <= budget:
                break
        return "(" + " AND ".join(fts_query([t]) for t in required) + ")"

    def _corpus(
        self, conn: Connection, collection_ids: Sequence[int] | None
    ) -> tuple[tuple[int, ...], int, float]:
        """(collection ids, chunk count, mean terms per chunk), cached per collection generation."""
        if collection_ids is None:
            rows = conn.execute(text("SELECT id, index_generation FROM collections ORDER BY id"))
        else:
            rows = conn.execute(
                text(
                    "SELECT id, index_generation FROM collections WHERE id IN :c ORDER BY id"
                ).bindparams(bindparam("c", expanding=True)),
                {"c": list(collection_ids) or [-1]},
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
                "WHERE collection_id IN :c"
            ).bindparams(bindparam("c", expanding=True)),
            {"c": list(ids) or [-1]},
        ).one()
        with self._lock:
            self._corpus_cache[ids] = (generations, int(n), float(avgdl))
        return ids, int(n), float(avgdl)

    def vector_search(
        self, *, vector: np.ndarray, k: int, filters: SearchFilters
    ) -> list[ScoredChunk]:
        check_k(k)
        check_metadata_filters(filters.metadata)
        collections = self._collections(filters.collection_ids)
        query_dim = int(np.asarray(vector).size)
        if filters.collection_ids is not None:
            for cid, dim in collections:
                if dim != query_dim:
                    raise StoreError(
                        f"query vector has {query_dim} dimensions; collection {cid} uses {dim}"
                    )
        allowed = self._allowed_chunk_ids(filters) if filters.metadata else None
        doc_filter = (
            np.asarray(list(filters.document_ids), dtype=np.int64)
            if filters.document_ids is not None
            else None
        )
        hits: list[ScoredChunk] = []
        for cid, dim in collections:
            if dim != query_dim:
                continue
            snap = self.index.snapshot(cid)
            if snap is None or snap.size == 0:
                continue
            query = normalise_vector(vector, dim=dim, what="query vector")
            mask = None
            if doc_filter is not None:
                mask = np.isin(snap.document_ids, doc_filter)
            if allowed is not None:
                in_allowed = np.isin(snap.ids, allowed)
                mask = in_allowed if mask is None else mask & in_allowed
            rows, scores = snap.search(query, k, mask)
            hits.extend(
                ScoredChunk(int(snap.ids[r]), int(snap.document_ids[r]), cid, float(s))
                for r, s in zip(rows, scores, strict=True)
            )
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]

    def _collections(self, collection_ids: Sequence[int] | None) -> list[tuple[int, int]]:
        sql = text("SELECT id, embedding_dim FROM collections")
        params: dict[str, Any] = {}
        if collection_ids is not None:
            if not collection_ids:
                return []
            sql = text("SELECT id, embedding_dim FROM collections WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            )
            params["ids"] = list(collection_ids)
        with self._engine.connect() as conn:
            return [(int(r[0]), int(r[1])) for r in conn.execute(sql, params)]

    def _collection_ids(self) -> list[int]:
        return [cid for cid, _ in self._collections(None)]

    def _allowed_chunk_ids(self, filters: SearchFilters) -> np.ndarray:
        where, params = _filter_sql(filters)
        sql = text(f"SELECT c.id FROM chunks c WHERE 1 = 1{where}")  # noqa: S608 (fixed clauses)
        for name in ("collection_ids", "document_ids"):
            if name in params:
                sql = sql.bindparams(bindparam(name, expanding=True))
        with self._engine.connect() as conn:
            return np.fromiter(conn.execute(sql, params).scalars(), dtype=np.int64)

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[ChunkHit]:
        return fetch_chunks(self._engine, chunk_ids)

    def stats(self, *, collection_id: int) -> StoreStats:
        with self._engine.connect() as conn:
            documents, chunks = count_rows(conn, collection_id)
        snap = self.index.snapshot(collection_id)
        return StoreStats(documents=documents, chunks=chunks, vectors=snap.size if snap else 0)

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
        for row in rows:
            row["embedding"] = row["embedding"].astype("<f4").tobytes()
        if rows:
            with self._write() as conn:
                conn.execute(_STAGE_VECTOR, rows)

    def swap_staged_vectors(self, *, collection_id: int, model: str, dim: int) -> int:
        # BEGIN IMMEDIATE: no chunk write can slip in between the check and the swap.
        with self._write() as conn:
            generation = conn.execute(
                text("SELECT index_generation FROM collections WHERE id = :c"),
                {"c": collection_id},
            ).scalar()
            if generation is None:
                raise StoreError(f"collection {collection_id} does not exist")
            missing = staging.count_unstaged(
                conn, collection_id=collection_id, model=model, dim=dim
            )
            if missing:
                return missing
            conn.execute(
                text(
                    "UPDATE chunks SET embedding = (SELECT s.embedding FROM chunk_vector_staging s "
                    "WHERE s.chunk_id = chunks.id) WHERE collection_id = :c"
                ),
                {"c": collection_id},
            )
            staging.record_model(conn, collection_id=collection_id, model=model, dim=dim)
            # A new vector epoch: every in-process copy rebuilds instead of catching up.
            conn.execute(
                text("UPDATE collections SET index_generation = :g WHERE id = :c"),
                {"g": next_vector_epoch(int(generation)), "c": collection_id},
            )
        # Emptied after the commit: the swap holds SQLite's only write lock, and deleting the
        # staged rows in it made it about a quarter longer (measured at 50k passages). Rows
        # left by a crash right here are discarded by the next re-embed job.
        self.discard_staged_vectors(collection_id=collection_id)
        return 0

    def discard_staged_vectors(
        self, *, collection_id: int, keep: tuple[str, int] | None = None
    ) -> None:
        with self._write() as conn:
            staging.discard(conn, collection_id=collection_id, keep=keep)

    def forget_collection(self, *, collection_id: int) -> None:
        self.index.forget(collection_id)

    def rebuild_vector_index(self, collection_id: int) -> None:
        """The in-process index rebuilds itself from SQLite on the next search."""


_STAGE_VECTOR = staging.stage_sql(":embedding")


def _filter_sql(filters: SearchFilters) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.collection_ids is not None:
        clauses.append("c.collection_id IN :collection_ids")
        params["collection_ids"] = list(filters.collection_ids) or [-1]
    if filters.document_ids is not None:
        clauses.append("c.document_id IN :document_ids")
        params["document_ids"] = list(filters.document_ids) or [-1]
    for i, (key, value) in enumerate((filters.metadata or {}).items()):
        clauses.append(f"json_extract(c.metadata, :mk{i}) = :mv{i}")
        params[f"mk{i}"] = metadata_path(key)
        params[f"mv{i}"] = int(value) if isinstance(value, bool) else value
    return "".join(f" AND {c}" for c in clauses), params


def _expanding(sql: Any, params: dict[str, Any]) -> Any:
    for name in ("collection_ids", "document_ids"):
        if name in params:
            sql = sql.bindparams(bindparam(name, expanding=True))
    return sql


def _document_frequencies(
    conn: Connection, collection_ids: Sequence[int], terms: Sequence[str]
) -> dict[str, int]:
    """Chunks holding each term in the searched collections (terms in none are left out)."""
    sql = text(
        "SELECT term, sum(df) FROM chunk_term_stats WHERE collection_id IN :c AND term IN :t "
        "GROUP BY term"
    ).bindparams(bindparam("c", expanding=True), bindparam("t", expanding=True))
    dfs: dict[str, int] = {}
    for start in range(0, len(terms), _TERM_CHUNK):
        part = list(terms[start : start + _TERM_CHUNK])
        for term, df in conn.execute(sql, {"c": list(collection_ids) or [-1], "t": part}):
            if df:
                dfs[str(term)] = int(df)
    return dfs


def _df_delta(conn: Connection, document_id: int) -> Counter[str]:
    """Minus one for each term of each chunk the document has now (they are about to go)."""
    delta: Counter[str] = Counter()
    for (terms,) in conn.execute(
        text("SELECT terms FROM chunks WHERE document_id = :d"), {"d": document_id}
    ):
        for term in set(terms.split(" ")) if terms else ():
            delta[term] -= 1
    return delta


def _apply_df(conn: Connection, collection_id: int, delta: Counter[str]) -> None:
    """Add ``delta`` to the collection's document frequencies (one write lock holder: no race)."""
    changed = sorted((t, d) for t, d in delta.items() if d != 0)
    if not changed:
        return
    conn.execute(
        text(
            "INSERT INTO chunk_term_stats (collection_id, term, df) VALUES (:c, :t, :d) "
            "ON CONFLICT (collection_id, term) DO UPDATE SET df = df + excluded.df"
        ),
        [{"c": collection_id, "t": t, "d": d} for t, d in changed],
    )
    gone = [{"c": collection_id, "t": t} for t, d in changed if d < 0]
    if gone:
        # Only the terms that lost chunks: a scan of the whole collection's terms per write
        # would grow with the collection.
        conn.execute(
            text("DELETE FROM chunk_term_stats WHERE collection_id = :c AND term = :t AND df <= 0"),
            gone,
        )
