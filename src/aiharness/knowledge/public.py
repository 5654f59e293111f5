"""What other features may use of the knowledge base; everything else in the package is its own.

Get the runtime from the platform (``platform.get(KnowledgeRuntime)``) and search through it:
the same path the API, the UI and the CLI take, so every caller gets the same ranking and the
reranker hook. Hits carry their source (file, page, heading), score and token count.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiharness.knowledge import service
from aiharness.knowledge.analysis import (
    TextSentence,
    get_analyzer,
    split_sentences_batch,
    text_script,
)
from aiharness.knowledge.kiwi import get_kiwi
from aiharness.knowledge.models import Chunk, Collection
from aiharness.knowledge.retrieval import EmbedderMismatchError, NothingIndexedError
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.knowledge.schemas import CollectionPublic, SearchHit, SearchMode
from aiharness.knowledge.service import CollectionExistsError


def search(
    runtime: KnowledgeRuntime,
    *,
    session: Session,
    query: str,
    k: int = 5,
    mode: SearchMode = "hybrid",
    collection: str | None = None,
    per_document: bool = False,
    collections: frozenset[str] | None = None,
    bilingual: bool = True,
) -> list[SearchHit]:
    """The ``k`` best passages for ``query`` in one collection (or all of them).

    ``per_document=True``: the best passage of each of the ``k`` best documents (an assistant
    citing sources gets ``k`` different documents instead of neighbouring chunks of one).
    ``collections``: the caller's allow-list (``principal.collections``; None = all): nothing
    outside it is searched, and a named collection outside it is "not found".
    ``bilingual=False``: the rules for collections of both languages stay off (see
    ``retrieval.search``).
    """
    return runtime.search(
        session=session,
        query=query,
        k=k,
        mode=mode,
        collection=collection,
        per_document=per_document,
        allowed=collections,
        bilingual=bilingual,
    )


def keyword_terms(text: str) -> list[str]:
    """The keyword terms search makes of ``text`` (Kiwi: Korean content morphemes, stemmed
    English words, whole part codes), in order, duplicates kept."""
    return get_analyzer("kiwi").terms(text)


@lru_cache(maxsize=256)  # the relevance check and the extractive answer ask for the same question
def predicate_words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` that Kiwi reads as a verb or an adjective with
    its endings (쓰면, 되는, 있나요): they say what is done, not what it is done to."""
    words: set[str] = set()
    for token in get_kiwi().tokenize(text):
        if token.tag in ("VV", "VA", "VX"):
            start = text.rfind(" ", 0, token.start) + 1
            end = text.find(" ", token.start)
            word = text[start : end if end >= 0 else len(text)]
            if start == token.start:  # the word begins with the stem (not 정비하려면)
                words.add(word)
    return frozenset(words)


def split_sentences(texts: list[str]) -> list[list[TextSentence]]:
    """Each text's sentences (lines first, then Kiwi's sentence splitter) with their keyword
    terms, in one Kiwi pass over all the texts."""
    return split_sentences_batch(texts)


def find_collection(
    *, session: Session, name: str, collections: frozenset[str] | None = None
) -> CollectionPublic | None:
    """The named collection with its counts, or None (also when it is outside the caller's
    ``collections`` allow-list)."""
    if not service.may_use(name, collections):
        return None
    found = service.find_collection(session=session, name=name)
    return service.collection_public(session=session, collection=found) if found else None


def list_collections(
    *, session: Session, collections: frozenset[str] | None = None
) -> list[CollectionPublic]:
    return service.list_collections(session=session, allowed=collections)


@dataclass(frozen=True)
class PassageLocation:
    """Where a passage (chunk) lives: its collection, document and position in the document."""

    collection: str
    document_id: int
    index: int


def locate_passage(
    *, session: Session, chunk_id: int, collections: frozenset[str] | None = None
) -> PassageLocation | None:
    """Where the passage is, or None when it is gone or outside the caller's ``collections``."""
    found = session.execute(
        select(Collection.name, Chunk.document_id, Chunk.index)
        .join(Collection, Collection.id == Chunk.collection_id)
        .where(Chunk.id == chunk_id)
    ).first()
    if found is None or not service.may_use(found[0], collections):
        return None
    return PassageLocation(found[0], found[1], found[2])


__all__ = [
    "CollectionExistsError",
    "CollectionPublic",
    "EmbedderMismatchError",
    "KnowledgeRuntime",
    "NothingIndexedError",
    "PassageLocation",
    "SearchHit",
    "SearchMode",
    "TextSentence",
    "find_collection",
    "keyword_terms",
    "list_collections",
    "locate_passage",
    "predicate_words",
    "search",
    "split_sentences",
    "text_script",
]
