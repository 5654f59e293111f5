"""Search: keyword (Kiwi terms, BM25), vector (query embedding) or hybrid (fused) over collections.

A collection's vectors were made by one model; a query embedded by another model would return
noise, so vector and hybrid searches refuse a collection whose recorded model differs from the
configured embedder. An optional ``Reranker`` reorders the fused passages as a second stage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiharness.config import Settings
from aiharness.errors import APIError, BadRequestError
from aiharness.knowledge import service
from aiharness.knowledge.analysis import get_analyzer
from aiharness.knowledge.embedders import Embedder, EmbedderError
from aiharness.knowledge.fusion import DEFAULT_CANDIDATES, fuse
from aiharness.knowledge.models import Chunk, Collection
from aiharness.knowledge.schemas import SearchHit, SearchMode
from aiharness.knowledge.stores.base import (
    KnowledgeStore,
    MetadataValue,
    ScoredChunk,
    SearchFilters,
    StoreError,
)

MAX_QUERY_CHARS = 2000


@runtime_checkable
class Reranker(Protocol):
    """Second stage: reorder (and cut to ``k``) the passages the first stage found."""

    name: str

    def rerank(self, query: str, hits: Sequence[SearchHit], k: int) -> list[SearchHit]: ...


class EmbedderMismatchError(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message, code="embedder_mismatch")


class NothingIndexedError(APIError):
    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s else None
        super().__init__(503, message, code="nothing_indexed", headers=headers)


def _collections(session: Session, name: str | None) -> list[Collection]:
    if name is not None:
        return [service.get_collection(session=session, name=name)]
    return list(session.scalars(select(Collection).order_by(Collection.name)).all())


def _check_indexed(session: Session, collections: Sequence[Collection], named: str | None) -> None:
    if not collections:
        raise NothingIndexedError(
            "there are no collections yet; create one and add documents with "
            "`aiharness ingest PATH --collection NAME` or in the Knowledge page"
        )
    ids = [c.id for c in collections]
    if session.scalars(select(Chunk.id).where(Chunk.collection_id.in_(ids)).limit(1)).first():
        return
    where = f"collection {named!r}" if named else "the knowledge base"
    target = named or "NAME"
    pending = sum(service.pending_count(session=session, collection_id=cid) for cid in ids)
    if pending:
        raise NothingIndexedError(
            f"{where} has nothing indexed yet: {pending} document(s) are still being indexed; "
            "try again in a moment (`aiharness jobs list` shows the progress)",
            retry_after_s=5,
        )
    raise NothingIndexedError(
        f"{where} has nothing indexed; add documents with "
        f"`aiharness ingest PATH --collection {target}` or upload them in the Knowledge page"
    )


def _vector_collections(
    collections: Sequence[Collection], embedder: Embedder, named: str | None
) -> list[int]:
    matching = [
        c.id
        for c in collections
        if c.embedding_model == embedder.name and c.embedding_dim == embedder.dim
    ]
    if named is not None and not matching:
        c = collections[0]
        raise EmbedderMismatchError(
            f"collection {c.name!r} was embedded with {c.embedding_model} "
            f"({c.embedding_dim} dimensions) but this platform embeds queries with "
            f"{embedder.name} ({embedder.dim} dimensions); configure the collection's model "
            "(AIHARNESS_EMBEDDER_KIND/AIHARNESS_EMBEDDER_MODEL) or search with mode=keyword"
        )
    if not matching:
        raise EmbedderMismatchError(
            f"no collection was embedded with {embedder.name}; search one collection by name "
            "with mode=keyword, or configure the embedder the collections were built with"
        )
    return matching


def query_terms(query: str, analyzers: Sequence[str]) -> list[str]:
    """Every distinct term the given analyzers make of ``query`` (for highlighting)."""
    seen: dict[str, None] = {}
    for name in dict.fromkeys(analyzers):
        for term in get_analyzer(name).terms(query):
            seen.setdefault(term, None)
    return list(seen)


def search(
    *,
    session: Session,
    store: KnowledgeStore,
    embedder: Callable[[], Embedder],
    settings: Settings,
    query: str,
    k: int = 10,
    mode: SearchMode = "hybrid",
    collection: str | None = None,
    document_ids: Sequence[int] | None = None,
    metadata: Mapping[str, MetadataValue] | None = None,
    reranker: Reranker | None = None,
) -> list[SearchHit]:
    """The ``k`` best passages for ``query``; ``embedder`` is only called when vectors are used."""
    text = query.strip()
    if not text:
        raise BadRequestError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequestError(f"the query has {len(text)} characters; the limit is 2000")
    collections = _collections(session, collection)
    _check_indexed(session, collections, collection)
    candidates = max(k, DEFAULT_CANDIDATES) if mode == "hybrid" else k
    if reranker is not None:
        candidates = max(candidates, 3 * k)
    rankings: dict[str, list[ScoredChunk]] = {}
    try:
        if mode in ("keyword", "hybrid"):
            rankings["keyword"] = _keyword(
                store, collections, text, candidates, document_ids, metadata
            )
        if mode in ("vector", "hybrid"):
            try:
                model = embedder()
            except EmbedderError as exc:
                raise APIError(
                    503, f"the embedding model is unavailable: {exc}", code="embedder_unavailable"
                ) from None
            ids = _vector_collections(collections, model, collection)
            vector = model.embed_queries([text])[0]
            rankings["vector"] = store.vector_search(
                vector=vector,
                k=candidates,
                filters=SearchFilters(
                    collection_ids=ids, document_ids=document_ids, metadata=metadata
                ),
            )
    except StoreError as exc:
        raise BadRequestError(str(exc)) from None
    if mode == "hybrid":
        fused = fuse(
            {m: [(str(h.chunk_id), h.score) for h in hits] for m, hits in rankings.items()},
            method=settings.search_fusion,
            weights={
                "keyword": settings.search_keyword_weight,
                "vector": settings.search_vector_weight,
            },
            k=candidates if reranker is not None else k,
        )
        ranked = [(int(cid), score) for cid, score in fused]
    else:
        hits = rankings[mode]
        ranked = [(h.chunk_id, h.score) for h in hits[: candidates if reranker else k]]
    scores = dict(ranked)
    results = [
        SearchHit(
            chunk_id=c.chunk_id,
            document_id=c.document_id,
            source_path=c.source_path,
            file_name=c.file_name,
            page=c.page,
            heading=c.heading,
            chunk_index=c.index,
            score=round(scores[c.chunk_id], 6),
            text=c.text,
            collection=c.collection,
            metadata=c.metadata,
        )
        for c in store.get_chunks([cid for cid, _ in ranked])
    ]
    if reranker is not None:
        results = reranker.rerank(text, results, k)[:k]
    return results


def _keyword(
    store: KnowledgeStore,
    collections: Sequence[Collection],
    text: str,
    k: int,
    document_ids: Sequence[int] | None,
    metadata: Mapping[str, MetadataValue] | None,
) -> list[ScoredChunk]:
    """BM25 per analyzer group (collections analysed the same way share one query)."""
    groups: dict[str, list[int]] = {}
    for c in collections:
        groups.setdefault(c.analyzer, []).append(c.id)
    hits: list[ScoredChunk] = []
    for analyzer, ids in groups.items():
        terms = get_analyzer(analyzer).terms(text)
        if not terms:
            continue
        hits.extend(
            store.keyword_search(
                terms=terms,
                k=k,
                filters=SearchFilters(
                    collection_ids=ids, document_ids=document_ids, metadata=metadata
                ),
            )
        )
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:k]
