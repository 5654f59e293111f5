"""The knowledge store interface: atomic chunk writes, keyword and vector search, chunk lookup.

Stores take already analysed terms and already computed vectors; analysis and embedding live
elsewhere. Two implementations: ``SqliteKnowledgeStore`` (embedded) and ``PostgresKnowledgeStore``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from sqlalchemy import Connection

MetadataValue = str | int | float | bool

# Keep terms within what both backends accept (PostgreSQL lexemes are limited to 2 KB).
MAX_TERM_CHARS = 200


# Keyword search matches on the rarest query terms whose document frequencies add up to at most
# this many chunks (always at least one term). Scoring every chunk that holds a very common term
# is what makes an OR query slow on a large collection, and such chunks would score near zero.
KEYWORD_CANDIDATE_BUDGET = 2_000
# A collection (or set of searched collections) of at most this many chunks is always scored on
# every query term: the OR can match no more chunks than it holds. Larger ones get this as their
# budget (never less than KEYWORD_CANDIDATE_BUDGET): a fixed 2,000 dropped terms from most queries
# in collections of a few thousand chunks (-0.009 nDCG, issue 14).
FULL_QUERY_CHUNKS = 10_000
# A query made only of common terms requires its rarest terms together instead (each store
# chooses how many); boilerplate that still matches more chunks is scored on at most this many.
CONJUNCTION_SCORE_CAP = 4_000


class StoreError(ValueError):
    """A write or query the store refuses; the message says what was wrong."""


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk to write: its text and position, its analysed terms and its embedding."""

    index: int
    text: str
    terms: Sequence[str]
    vector: np.ndarray
    token_count: int = 0
    page: int | None = None
    heading: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchFilters:
    """Restrict a search. ``None`` means no restriction; metadata values must match exactly.

    Metadata filters apply to each chunk's own metadata.
    """

    collection_ids: Sequence[int] | None = None
    document_ids: Sequence[int] | None = None
    metadata: Mapping[str, MetadataValue] | None = None


@dataclass(frozen=True)
class ScoredChunk:
    """A search hit: higher ``score`` is better; scores compare only within one result list."""

    chunk_id: int
    document_id: int
    collection_id: int
    score: float


@dataclass(frozen=True)
class ChunkHit:
    """A chunk with what a caller shows or cites: text, its document and collection."""

    chunk_id: int
    document_id: int
    collection_id: int
    collection: str
    source_path: str
    file_name: str
    index: int
    page: int | None
    heading: str | None
    text: str
    metadata: dict[str, Any]
    token_count: int = 0


@dataclass(frozen=True)
class StoreStats:
    documents: int
    chunks: int
    vectors: int


@runtime_checkable
class KnowledgeStore(Protocol):
    """Storage and retrieval of chunks; every write of one document is a single transaction."""

    def warm_up(self) -> None:
        """Open connections and load indexes; call once before searching."""

    def replace_document_chunks(self, *, document_id: int, chunks: Sequence[ChunkRecord]) -> None:
        """Atomically swap the document's chunks (and their vectors and terms) for ``chunks``."""

    def delete_document(
        self, *, document_id: int, also: Callable[[Connection], object] | None = None
    ) -> None:
        """Delete the document row with its chunks, vectors and keyword entries; ``also`` runs
        inside that write transaction (the audit row of the deletion), only if the row existed."""

    def keyword_search(
        self, *, terms: Sequence[str], k: int, filters: SearchFilters
    ) -> list[ScoredChunk]:
        """BM25-style ranking of chunks containing any of ``terms``."""

    def vector_search(
        self, *, vector: np.ndarray, k: int, filters: SearchFilters
    ) -> list[ScoredChunk]:
        """Chunks nearest to ``vector`` by cosine similarity (the score)."""

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[ChunkHit]:
        """The chunks that still exist, in the order of ``chunk_ids``."""

    def stats(self, *, collection_id: int) -> StoreStats:
        """Counts of documents, chunks and indexed vectors in one collection."""

    # -- re-embedding (knowledge.reembed): stage new vectors, then swap them in at once --

    def stage_vectors(
        self,
        *,
        collection_id: int,
        model: str,
        dim: int,
        vectors: Sequence[tuple[int, np.ndarray]],
    ) -> None:
        """Keep (chunk id, vector) pairs of ``model`` aside; searches never see them.

        Chunks that no longer belong to the collection are skipped; staging a chunk again
        replaces its staged vector.
        """

    def swap_staged_vectors(self, *, collection_id: int, model: str, dim: int) -> int:
        """Put the staged vectors in place and record ``model``/``dim`` on the collection.

        One transaction: if every chunk of the collection has a staged vector of (``model``,
        ``dim``), the chunks (same ids) get them, the collection records the model and 0 is
        returned; its staging is then emptied. Otherwise nothing changes and the number of
        chunks still lacking a vector is returned (documents added while the vectors were made).
        """

    def discard_staged_vectors(
        self, *, collection_id: int, keep: tuple[str, int] | None = None
    ) -> None:
        """Forget the collection's staged vectors, except those of ``keep`` = (model, dim)."""

    def forget_collection(self, *, collection_id: int) -> None:
        """The collection's row is gone: drop whatever the store keeps for it outside the
        database (the embedded store's in-memory index and its file)."""

    def rebuild_vector_index(self, collection_id: int) -> None:
        """Build the collection's vector index for its current dimension if it is missing,
        without blocking writes (after a swap, or to finish one a crash interrupted)."""

    def close(self) -> None:
        """Release connections and persist what should survive a restart."""


def clean_terms(terms: Sequence[str]) -> list[str]:
    """Drop empty and over-long terms; others are kept exactly as the analyzer gave them."""
    return [t for t in terms if t and len(t) <= MAX_TERM_CHARS and not t.isspace()]


def unique_terms(terms: Sequence[str]) -> list[str]:
    """Query terms without repeats, in first-seen order."""
    return list(dict.fromkeys(clean_terms(terms)))


def candidate_budget(n_chunks: int | None) -> int:
    """How many chunks the chosen terms may match (sum of document frequencies) in a corpus of
    ``n_chunks``: all of it up to ``FULL_QUERY_CHUNKS``, never under the fixed budget."""
    if n_chunks is None:
        return KEYWORD_CANDIDATE_BUDGET
    return max(KEYWORD_CANDIDATE_BUDGET, min(n_chunks, FULL_QUERY_CHUNKS))


def candidate_terms(
    dfs: dict[str, int], terms: Sequence[str], n_chunks: int | None = None
) -> list[str]:
    """The query terms that drive matching: rarest first, within the candidate budget.

    Terms missing from ``dfs`` are kept (they cost nothing if they match nothing). With the
    corpus size ``n_chunks`` the budget scales with it (``candidate_budget``), and a corpus
    within the budget keeps every matching term: the full query is cheap there.
    """
    known = sorted((dfs[t], t) for t in terms if t in dfs)
    chosen = [t for t in terms if t not in dfs]
    limit = candidate_budget(n_chunks)
    if n_chunks is not None and n_chunks <= limit:
        return chosen + [t for df, t in known if df > 0]
    budget = 0
    for df, term in known:
        if df <= 0:
            continue
        if (chosen or budget) and budget + df > limit:
            break
        chosen.append(term)
        budget += df
    return chosen


def normalise_vector(vector: np.ndarray, *, dim: int, what: str) -> np.ndarray:
    """Validate shape and values and return a contiguous, L2-normalised float32 copy."""
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape[0] != dim:
        raise StoreError(f"{what} has {array.shape[0]} dimensions; the collection uses {dim}")
    if not np.all(np.isfinite(array)):
        raise StoreError(f"{what} contains NaN or infinite values")
    norm = float(np.linalg.norm(array))
    if norm == 0.0 or not math.isfinite(norm):
        raise StoreError(f"{what} is a zero vector")
    return np.ascontiguousarray(array / norm, dtype=np.float32)


def check_k(k: int) -> None:
    if k < 1 or k > 1000:
        raise StoreError(f"k must be between 1 and 1000, got {k}")


def check_metadata_filters(metadata: Mapping[str, MetadataValue] | None) -> None:
    for key, value in (metadata or {}).items():
        if not isinstance(value, str | int | float | bool):
            raise StoreError(f"metadata filter {key!r} must be a string, number or boolean")
