"""Which scripts (Hangul, Latin) a collection's passages are written in, from a sample.

Search treats a question in a collection of both languages differently (``retrieval``): the
embedding model's candidates for a Korean question can all be Korean even where an English
manual answers it better, so the candidates alone cannot tell that the collection holds English.
A sample of the collection's chunks can. It is cached per collection (``uid``, never reused)
and taken again when the collection's index generation has moved on, at most every
``RESAMPLE_AFTER_S`` seconds (an ingest bumps the generation with every batch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiharness.knowledge.analysis import Script, text_script
from aiharness.knowledge.models import Chunk, Collection

# Chunks read per collection: a language holding 2% of the chunks shows up with 99% certainty.
SAMPLE_SIZE = 256
# The start of a chunk tells its language; no need to read all of it.
SAMPLE_CHARS = 400
# A script counts when at least this share of the sampled chunks is written in it: a Korean
# manual's parts list or an English reference list is mostly Latin letters but does not make
# a Korean collection bilingual (one such passage in msmarco-ko's 1,500 cost Korean questions
# 0.978 -> 0.975 nDCG@10 when it did).
MIN_SHARE = 0.05
RESAMPLE_AFTER_S = 10.0

_cache: dict[str, tuple[int, float, frozenset[Script]]] = {}
_lock = threading.Lock()


def collection_scripts(session: Session, collections: Sequence[Collection]) -> frozenset[Script]:
    """The scripts that a sample of the collections' chunks is written in (``MIN_SHARE``)."""
    found: set[Script] = set()
    for collection in collections:
        found |= _scripts_of(session, collection)
    return frozenset(found)


def _scripts_of(session: Session, collection: Collection) -> frozenset[Script]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(collection.uid)
    if cached is not None:
        generation, taken_at, scripts = cached
        fresh = generation == collection.index_generation
        # An empty sample is not kept past a change: the first documents must show at once.
        if fresh or (scripts and now - taken_at < RESAMPLE_AFTER_S):
            return scripts
    scripts = _sample(session, collection.id)
    with _lock:
        _cache[collection.uid] = (collection.index_generation, now, scripts)
    return scripts


def _sample(session: Session, collection_id: int) -> frozenset[Script]:
    """Scripts of about ``SAMPLE_SIZE`` chunks spread over the collection (every n-th id: the
    collection's id index answers the filter, only the sampled rows are read)."""
    count = session.scalar(
        select(func.count()).select_from(Chunk).where(Chunk.collection_id == collection_id)
    )
    if not count:
        return frozenset()
    stride = max(1, count // SAMPLE_SIZE)
    query = select(func.substr(Chunk.text, 1, SAMPLE_CHARS)).where(
        Chunk.collection_id == collection_id
    )
    texts = session.scalars(query.where(Chunk.id % stride == 0).limit(SAMPLE_SIZE)).all()
    if not texts:  # ids that all miss the stride (a collection filled in step with another)
        texts = session.scalars(query.limit(SAMPLE_SIZE)).all()
    return frozenset(s for s, share in script_shares(texts).items() if share >= MIN_SHARE)


def script_shares(texts: Sequence[str]) -> dict[Script, float]:
    """Each script's share of ``texts`` (those without Hangul or Latin letters left out)."""
    scripts = [s for s in map(text_script, texts) if s is not None]
    return {s: scripts.count(s) / len(scripts) for s in set(scripts)}
