"""Embedded knowledge store: SQLite (WAL) for rows and FTS5 keywords, an in-process vector index.

Keyword search is SQLite FTS5 with its built-in ``bm25()`` over a column holding the
space-joined, pre-analysed terms: the keyword index then lives in the same transaction as the
chunks, so a replace is atomic for keywords without any extra bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


# Top ``k`` by BM25 in the FTS table alone, then their chunk rows (see ``_fts_only``).
_FTS_TOP = text(
    "SELECT c.id, c.document_id, c.collection_id, f.rank FROM ("
    " SELECT rowid AS id, bm25(chunks_fts) AS rank FROM chunks_fts"
    " WHERE chunks_fts MATCH :match ORDER BY rank, rowid LIMIT :k"
    ") f JOIN chunks c ON c.id = f.id ORDER BY f.rank, f.id"
)


# Queries made only of common terms (see ``_match_expression``): each required term's doclist is
# read whole by bm25() for its idf, and each scored chunk costs ~2-3 us.
MAX_REQUIRED_TERMS = 3
_FTS_TOP_CAPPED = text(
    "SELECT c.id, c.document_id, c.collection_id, f.rank FROM ("
    " SELECT id, rank FROM ("
    "  SELECT rowid AS id, bm25(chunks_fts) AS rank FROM chunks_fts"
    "  WHERE chunks_fts MATCH :match LIMIT :cap"
    " ) ORDER BY rank, id LIMIT :k"
    ") f JOIN chunks c ON c.id = f.id ORDER BY f.rank, f.id"
)

# Matches of one term, counted no further than :cap (see ``_document_frequencies``).
_COUNT_MATCHES = text(
    "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH :match LIMIT :cap)"
)
_COUNT_RECENT = text(
    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH :match AND rowid > :since"
)
_RECENT_CHUNKS = 50_000


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: each term a quoted string, OR-ed (BM25 ranks partial matches)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _single_token(term: str) -> bool:
    return all(ch.isalnum() for ch in term)


def metadata_path(key: str) -> str:
    return '$."' + key.replace('"', '""') + '"'


class SqliteKnowledgeStore:
    """The embedded ``KnowledgeStore``; vector index files in ``index_dir`` are rebuildable."""

    def __init__(self, *, engine: Engine, index_dir: Path) -> None:
        if engine.dialect.name != "sqlite":
            raise StoreError("SqliteKnowledgeStore needs a SQLite engine")
        self._engine = engine
        self.index = VectorIndex(engine=engine, directory=index_dir)

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
            conn.execute(text("DELETE FROM chunks WHERE document_id = :d"), {"d": document_id})
            if rows:
                conn.execute(_INSERT_CHUNK, rows)
            conn.execute(
                text(
                    "UPDATE documents SET chunk_count = :n, updated_at = :now WHERE id = :d"
                ).bindparams(bindparam("now", type_=UTCDateTime())),
                {"n": len(rows), "now": utcnow(), "d": document_id},
            )
            self._bump(conn, collection_id)

    def delete_document(self, *, document_id: int) -> None:
        with self._write() as conn:
            collection_id = conn.execute(
                text("SELECT collection_id FROM documents WHERE id = :d"), {"d": document_id}
            ).scalar()
            if collection_id is None:
                return
            # ON DELETE CASCADE removes the chunks; the FTS5 delete trigger fires for each.
            conn.execute(text("DELETE FROM documents WHERE id = :d"), {"d": document_id})
            self._bump(conn, int(collection_id))

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
        # Ties (repeated text) break on the chunk id, the same way in both queries below.
        joined = text(
            "SELECT c.id, c.document_id, c.collection_id, bm25(chunks_fts) AS rank "  # noqa: S608 (fixed clauses; values bound)
            "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH :match{where} ORDER BY rank, c.id LIMIT :k"
        )
        for name in ("collection_ids", "document_ids"):
            if name in params:
                joined = joined.bindparams(bindparam(name, expanding=True))
        with self._engine.connect() as conn:
            # One read transaction: term counts and matches come from the same snapshot.
            conn.exec_driver_sql("BEGIN")
            try:
                match, common = self._match_expression(conn, query_terms)
                if match is None:
                    return []
                if self._fts_only(conn, filters):
                    top = _FTS_TOP_CAPPED if common else _FTS_TOP
                    rows = conn.execute(
                        top, {"match": match, "k": k, "cap": base.CONJUNCTION_SCORE_CAP}
                    ).all()
                else:
                    params.update(match=match, k=k)
                    rows = conn.execute(joined, params).all()
            finally:
                conn.rollback()
        # FTS5's bm25() is negative (lower is better); flip it so that higher is better.
        return [ScoredChunk(int(r[0]), int(r[1]), int(r[2]), -float(r[3])) for r in rows]

    @staticmethod
    def _fts_only(conn: Connection, filters: SearchFilters) -> bool:
        """True when the filters keep every chunk that has keywords, so no row needs checking.

        Joining each FTS candidate to its (wide) ``chunks`` row only to test its collection
        cost about twice the BM25 scoring itself (measured at 100k chunks); when no other
        collection has chunks, ranking in the FTS table alone and joining the top ``k`` gives
        the same rows.
        """
        if filters.document_ids is not None or filters.metadata:
            return False
        if filters.collection_ids is None:
            return True
        others = text(
            "SELECT 1 FROM collections col WHERE col.id NOT IN :ids AND EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.collection_id = col.id) LIMIT 1"
        ).bindparams(bindparam("ids", expanding=True))
        return conn.execute(others, {"ids": list(filters.collection_ids) or [-1]}).first() is None

    @classmethod
    def _match_expression(cls, conn: Connection, terms: list[str]) -> tuple[str | None, bool]:
        """The FTS5 MATCH for ``terms`` and whether it is made of common terms only.

        Normally the candidate terms OR-ed (see ``candidate_terms``). When even the rarest term
        is in more chunks than the budget (a query made only of common morphemes), scoring all
        its chunks costs ~2-3 us each (130 ms p95 at 1M chunks) and ranks on one term. The
        rarest terms are then required together, adding the next rarest (at most
        ``MAX_REQUIRED_TERMS``) while the AND still matches more than the budget; a term that
        no match shares is skipped. Those chunks hold most query terms, so the full OR ranking
        puts them first anyway; boilerplate that still matches thousands of chunks is scored
        on at most ``base.CONJUNCTION_SCORE_CAP`` of them.
        """
        dfs = cls._document_frequencies(conn, terms)
        matching = candidate_terms(dfs, terms)
        known = [t for t in matching if t in dfs]
        budget = base.KEYWORD_CANDIDATE_BUDGET
        if not matching or len(known) != 1 or dfs[known[0]] <= budget:
            return (fts_query(matching) if matching else None), False
        common = [t for _, t in sorted((df, t) for t, df in dfs.items() if df > 0)]
        required = common[:1]
        for term in common[1:]:
            if len(required) >= MAX_REQUIRED_TERMS:
                break
            together = " AND ".join(fts_query([t]) for t in [*required, term])
            count = conn.execute(_COUNT_MATCHES, {"match": together, "cap": budget + 1}).scalar()
            if not count:
                continue
            required.append(term)
            if count <= budget:
                break
        unknown = [fts_query([t]) for t in matching if t not in dfs]
        conjunction = "(" + " AND ".join(fts_query([t]) for t in required) + ")"
        return " OR ".join([*unknown, conjunction]), True

    @staticmethod
    def _document_frequencies(conn: Connection, terms: list[str]) -> dict[str, int]:
        """Document frequencies as far as ``candidate_terms`` needs them.

        Counting a term's chunks reads its doclist, and ``fts5vocab`` reads all of it: ~70 ms a
        query at 1M chunks, where common morphemes sit in most chunks. Counts stop at the
        budget + 1 instead (exact within the budget; a term over it is chosen only as the
        rarest of a query with no term within it). Only for such queries are the common terms
        ranked by their matches among the newest ``_RECENT_CHUNKS`` chunks, an estimate.
        Only single-token terms are counted; others (split by the FTS tokenizer) are treated
        as unknown and always take part in the match.
        """
        cap = base.KEYWORD_CANDIDATE_BUDGET + 1
        counts = {
            t: int(conn.execute(_COUNT_MATCHES, {"match": fts_query([t]), "cap": cap}).scalar_one())
            for t in terms
            if _single_token(t)
        }
        common = [t for t, count in counts.items() if count >= cap]
        if len(common) < 2 or any(0 < count < cap for count in counts.values()):
            return counts
        newest = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM chunks")).scalar_one())
        for term in common:
            recent = conn.execute(
                _COUNT_RECENT, {"match": fts_query([term]), "since": newest - _RECENT_CHUNKS}
            ).scalar_one()
            counts[term] = cap + int(recent)
        return counts

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
