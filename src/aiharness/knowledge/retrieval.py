"""Search: keyword (Kiwi terms, BM25), vector (query embedding) or hybrid (fused) over collections.

A collection's vectors were made by one model; a query embedded by another model would return
noise, so vector and hybrid searches refuse a collection whose recorded model differs from the
configured embedder. An optional ``Reranker`` reorders the fused passages as a second stage.

Hybrid searches run the keyword side (Kiwi analysis + BM25) on a small thread pool while the
query is embedded: keyword search does not need the vector, and SQLite, psycopg and the
embedding engine release the GIL, so the two overlap on separate cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiharness.errors import Conflict, Invalid, Unavailable
from aiharness.knowledge import service
from aiharness.knowledge.analysis import Script, get_analyzer, text_script
from aiharness.knowledge.embedders import Embedder, EmbedderError
from aiharness.knowledge.embedders.bridge import has_bridge, query_vector
from aiharness.knowledge.fusion import (
    CROSS_LANGUAGE_BRIDGE_WEIGHT,
    CROSS_LANGUAGE_SCORE_OFFSET,
    DEFAULT_CANDIDATES,
    cross_language_weights,
    fuse,
    query_length_weights,
)
from aiharness.knowledge.languages import collection_scripts
from aiharness.knowledge.models import Chunk, Collection
from aiharness.knowledge.schemas import SearchHit, SearchMode
from aiharness.knowledge.settings import SearchSettings
from aiharness.knowledge.stores.base import (
    KnowledgeStore,
    MetadataValue,
    ScoredChunk,
    SearchFilters,
    StoreError,
)

MAX_QUERY_CHARS = 2000
# Threads that run the keyword side of hybrid searches (one per concurrent hybrid request; more
# requests than this queue, which bounds the CPU a burst of searches can take).
SEARCH_THREADS = 4
# per_document searches fetch this many chunks per wanted document (at most MAX_CANDIDATES):
# a document split into overlapping chunks often has its 2-4 best chunks side by side.
PER_DOCUMENT_FACTOR = 5
MAX_CANDIDATES = 1000

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _search_pool() -> ThreadPoolExecutor:
    """The process's keyword-search threads, created on the first hybrid search."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="aiharness-search")
        return _pool


@runtime_checkable
class Reranker(Protocol):
    """Second stage: reorder (and cut to ``k``) the passages the first stage found."""

    name: str

    def rerank(self, query: str, hits: Sequence[SearchHit], k: int) -> list[SearchHit]: ...


class EmbedderMismatchError(Conflict):
    default_code = "embedder_mismatch"


class NothingIndexedError(Unavailable):
    default_code = "nothing_indexed"


def _collections(
    session: Session, name: str | None, allowed: service.Allowed = None
) -> list[Collection]:
    if name is not None:
        return [service.get_collection(session=session, name=name, allowed=allowed)]
    query = select(Collection).order_by(Collection.name)
    if allowed is not None:
        query = query.where(Collection.name.in_(sorted(allowed)))
    return list(session.scalars(query).all())


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
            "(AIHARNESS_KNOWLEDGE__EMBEDDER__KIND/__MODEL), re-embed the collection "
            f"(`aiharness collections reembed {c.name}`) or search with mode=keyword"
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


def hybrid_weights(settings: SearchSettings, n_terms: int) -> dict[str, float]:
    """Configured fixed weights, else weights from the query's length in distinct terms."""
    keyword, vector = settings.keyword_weight, settings.vector_weight
    if keyword is None and vector is None:
        return query_length_weights(n_terms)
    if keyword is None:
        keyword = max(0.0, 1.0 - (vector or 0.0))
    if vector is None:
        vector = max(0.0, 1.0 - keyword)
    return {"keyword": keyword, "vector": vector}


def search(
    *,
    session: Session,
    store: KnowledgeStore,
    embedder: Callable[[], Embedder],
    settings: SearchSettings,
    query: str,
    k: int = 10,
    mode: SearchMode = "hybrid",
    collection: str | None = None,
    document_ids: Sequence[int] | None = None,
    metadata: Mapping[str, MetadataValue] | None = None,
    reranker: Reranker | None = None,
    concurrent: bool = True,
    per_document: bool = False,
    allowed: service.Allowed = None,
    bilingual: bool = True,
) -> list[SearchHit]:
    """The ``k`` best passages for ``query``; ``embedder`` is only called when vectors are used.

    ``per_document=True`` keeps only the best passage of each document (``k`` documents):
    overlapping chunks of one document otherwise take several of the ``k`` slots.
    ``concurrent=False`` runs a hybrid search's two sides one after the other (same results;
    the latency benchmark's baseline). ``bilingual=False`` leaves the collections' languages
    unsampled: whether the question is in another language than the passages is then told by
    the best candidate alone (what the assistant's refusal rule was calibrated on).
    """
    text = query.strip()
    if not text:
        raise Invalid("the query is empty", code="empty_query")
    if len(text) > MAX_QUERY_CHARS:
        raise Invalid(
            f"the query has {len(text)} characters; the limit is {MAX_QUERY_CHARS}",
            code="query_too_long",
        )
    # ``allowed``: the caller's collections (None: all); no passage of another is ever scored.
    collections = _collections(session, collection, allowed)
    _check_indexed(session, collections, collection)
    candidates = max(k, DEFAULT_CANDIDATES) if mode == "hybrid" else k
    if reranker is not None:
        candidates = max(candidates, 3 * k)
    if per_document:
        # Several chunks per document come back; ask for enough to still fill k documents.
        candidates = min(max(candidates, PER_DOCUMENT_FACTOR * k), MAX_CANDIDATES)
    wanted = candidates if reranker is not None or per_document else k
    # Plain (terms, collection ids) per analyzer, analysed once: the keyword side and the
    # fusion weights both use them, and the keyword thread must not touch the session.
    groups = (
        [(get_analyzer(name).terms(text), ids) for name, ids in _analyzer_groups(collections)]
        if mode != "vector"
        else []
    )
    keyword_job: Future[list[ScoredChunk]] | None = None
    rankings: dict[str, list[ScoredChunk]] = {}
    vector_side = VectorSide([], {})
    try:
        if mode == "hybrid" and concurrent:
            # Each store call checks out its own pooled connection, so the thread shares none.
            keyword_job = _search_pool().submit(
                _keyword, store, groups, candidates, document_ids, metadata
            )
        elif mode in ("keyword", "hybrid"):
            rankings["keyword"] = _keyword(store, groups, candidates, document_ids, metadata)
        if mode in ("vector", "hybrid"):
            try:
                model = embedder()
            except EmbedderError as exc:
                raise Unavailable(
                    f"the embedding model is unavailable: {exc}", code="embedder_unavailable"
                ) from None
            ids = _vector_collections(collections, model, collection)
            vector_side = _vector_side(
                store,
                model,
                text,
                candidates,
                SearchFilters(collection_ids=ids, document_ids=document_ids, metadata=metadata),
                (
                    collection_scripts(session, [c for c in collections if c.id in ids])
                    if bilingual and has_bridge(model)
                    else frozenset()
                ),
            )
            if keyword_job is not None:
                # Keyword first: fusion breaks ties in mode order, as the sequential path does.
                rankings["keyword"] = keyword_job.result()
            rankings["vector"] = vector_side.hits
    except StoreError as exc:
        raise Invalid(str(exc), code="invalid_search") from None
    finally:
        if keyword_job is not None and not keyword_job.done():
            # Only reached on an error: drop the keyword work (a running one just finishes).
            keyword_job.cancel()
    if mode == "hybrid":
        fused = fuse(
            {m: [(str(h.chunk_id), h.score) for h in hits] for m, hits in rankings.items()},
            method=settings.fusion,
            weights=_language_weights(
                text,
                vector_side,
                hybrid_weights(settings, len({t for terms, _ in groups for t in terms})),
            ),
            k=wanted,
            # The keyword side returns every match up to ``candidates``: a shorter list means
            # the rest scored 0 (see fuse's ``complete``).
            complete={"keyword": candidates},
            # It cannot match a passage in another language than the question: where it did
            # not, it has no say (see fuse's ``abstain``).
            abstain={
                "keyword": vector_side.other_language
                - {str(h.chunk_id) for h in rankings.get("keyword", [])}
            },
        )
        ranked = [(int(cid), score) for cid, score in fused]
    else:
        hits = rankings[mode]
        ranked = [(h.chunk_id, h.score) for h in hits[:wanted]]
    if per_document:
        documents = {h.chunk_id: h.document_id for hits in rankings.values() for h in hits}
        ranked = best_per_document(ranked, documents)[: candidates if reranker else k]
    scores = dict(ranked)
    # Each side's own score of a hit (cosine similarity, BM25) next to the fused one: fused
    # scores rank within one search only, the vector similarity also says how close a hit is
    # in absolute terms (the assistant's "is anything relevant?" check relies on it).
    sides = {side: {h.chunk_id: h.score for h in hits} for side, hits in rankings.items() if hits}
    if "vector" in sides:
        sides["vector"] = vector_side.similarities
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
            metadata=_with_side_scores(c.metadata, c.chunk_id, sides),
            token_count=c.token_count,
        )
        for c in store.get_chunks([cid for cid, _ in ranked])
    ]
    if reranker is not None:
        results = reranker.rerank(text, results, k)[:k]
    return results


def _with_side_scores(
    metadata: Mapping[str, object], chunk_id: int, sides: Mapping[str, Mapping[int, float]]
) -> dict[str, object]:
    """The chunk's metadata plus ``vector_score`` / ``keyword_score`` where that side found it."""
    out = dict(metadata)
    for side, found in sides.items():
        if chunk_id in found:
            out[f"{side}_score"] = round(found[chunk_id], 6)
    return out


@dataclass
class VectorSide:
    """The vector side's ranking, each hit's cosine similarity under the main model, and the
    hits (as fusion ids) in another language than the question."""

    hits: list[ScoredChunk]
    similarities: dict[int, float]
    other_language: set[str] = field(default_factory=set)
    top_script: Script | None = None


def _vector_side(
    store: KnowledgeStore,
    model: Embedder,
    text: str,
    k: int,
    filters: SearchFilters,
    collection_scripts: frozenset[Script],
) -> VectorSide:
    """The main model's ranking, unless the collections hold passages in another language than
    the question (``collection_scripts``, or the best candidate's): then the cross-language
    bridge (``embedders.bridge``) is weighed in and ranks again, and the passages in the other
    language get back the main model's same-language advantage (``CROSS_LANGUAGE_SCORE_OFFSET``).

    The similarities stay the main model's (the assistant's relevance rule is calibrated on
    them); a passage that only the second ranking found gets the first ranking's lowest
    similarity, which it did not reach.
    """
    vector, scale = query_vector(model, text)
    hits = _scaled(store.vector_search(vector=vector, k=k, filters=filters), scale)
    similarities = {h.chunk_id: h.score for h in hits}
    wanted = text_script(text)
    if not hits or wanted is None:
        return VectorSide(hits, similarities)
    scripts = _scripts(store, [hits[0].chunk_id])
    top = scripts.get(hits[0].chunk_id)
    present = collection_scripts | {top} - {None}
    if not has_bridge(model) or present <= {wanted}:
        # One language, or no bridge: the main model alone, exactly its own ranking.
        return VectorSide(hits, similarities, top_script=top)
    vector, scale = query_vector(model, text, CROSS_LANGUAGE_BRIDGE_WEIGHT)
    # Twice the candidates: the offset lifts passages of the other language from further down.
    found = store.vector_search(vector=vector, k=min(2 * k, MAX_CANDIDATES), filters=filters)
    bridged = _scaled(found, scale)
    scripts.update(_scripts(store, [h.chunk_id for h in bridged if h.chunk_id not in scripts]))
    other = {cid for cid, s in scripts.items() if s is not None and s != wanted}
    ranked = sorted(
        (
            replace(h, score=h.score + CROSS_LANGUAGE_SCORE_OFFSET) if h.chunk_id in other else h
            for h in bridged
        ),
        key=lambda h: -h.score,
    )[:k]
    floor = min(similarities.values())
    return VectorSide(
        ranked,
        {h.chunk_id: similarities.get(h.chunk_id, floor) for h in ranked},
        {str(h.chunk_id) for h in ranked if h.chunk_id in other},
        scripts.get(ranked[0].chunk_id) if ranked else None,
    )


def _scaled(hits: Sequence[ScoredChunk], scale: float) -> list[ScoredChunk]:
    if scale == 1.0:
        return list(hits)
    return [replace(h, score=h.score * scale) for h in hits]


def _scripts(store: KnowledgeStore, chunk_ids: Sequence[int]) -> dict[int, Script | None]:
    """Each chunk's script (``analysis.text_script``)."""
    if not chunk_ids:
        return {}
    return {c.chunk_id: text_script(c.text) for c in store.get_chunks(list(chunk_ids))}


def _language_weights(
    query: str, vector_side: VectorSide, weights: dict[str, float]
) -> dict[str, float]:
    """Lean on the multilingual vector side when the passage it puts first is in another
    language than the question (an English question over Korean manuals, or the reverse).

    The keyword side cannot tell: across languages it matches only what the two share (names,
    codes, an English word in a Korean text) and so mostly passages in the question's language.
    """
    if not vector_side.hits:
        return weights
    return cross_language_weights(weights, text_script(query), [vector_side.top_script])


def best_per_document(
    ranked: Sequence[tuple[int, float]], documents: Mapping[int, int]
) -> list[tuple[int, float]]:
    """``ranked`` (chunk id, score), best first, keeping each document's first chunk only."""
    seen: set[int] = set()
    kept = []
    for chunk_id, score in ranked:
        document = documents.get(chunk_id, -chunk_id)
        if document not in seen:
            seen.add(document)
            kept.append((chunk_id, score))
    return kept


def _analyzer_groups(collections: Sequence[Collection]) -> list[tuple[str, list[int]]]:
    """Collection ids per analyzer (collections analysed the same way share one query)."""
    groups: dict[str, list[int]] = {}
    for c in collections:
        groups.setdefault(c.analyzer, []).append(c.id)
    return list(groups.items())


def _keyword(
    store: KnowledgeStore,
    groups: Sequence[tuple[list[str], list[int]]],
    k: int,
    document_ids: Sequence[int] | None,
    metadata: Mapping[str, MetadataValue] | None,
) -> list[ScoredChunk]:
    """BM25 per analyzer group, merged by score."""
    hits: list[ScoredChunk] = []
    for terms, ids in groups:
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
