"""An in-process BM25 index over pre-analyzed terms (see ``analysis.py``).

Used by the embedded store (rebuilt from SQLite at start) and by the retrieval benchmark. Postings
live in dicts so documents can be added and removed; each term's postings are compiled to numpy
arrays on first use after a change, so a search is a few vectorised adds per query term.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np
import numpy.typing as npt

Hit = tuple[str, float]


class BM25Index:
    """Okapi BM25 (Lucene's non-negative IDF) with add/remove and filtered top-k search."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
        self.k1 = k1
        self.b = b
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._ids: list[str | None] = []  # slot -> document id (None: free slot)
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._lengths = np.zeros(0, dtype=np.float64)
        self._total_length = 0.0
        self._postings: dict[str, dict[int, int]] = {}
        self._doc_terms: dict[int, tuple[str, ...]] = {}  # slot -> its distinct terms
        self._compiled: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot

    @property
    def vocabulary_size(self) -> int:
        return len(self._postings)

    def add(self, doc_id: str, terms: Sequence[str]) -> None:
        """Index ``terms`` under ``doc_id``, replacing that document if it is already indexed."""
        self.add_many([(doc_id, terms)])

    def add_many(self, docs: Iterable[tuple[str, Sequence[str]]]) -> None:
        with self._lock:
            for doc_id, terms in docs:
                if doc_id in self._slot:
                    self._remove(doc_id)
                slot = self._free.pop() if self._free else self._new_slot()
                self._ids[slot] = doc_id
                self._slot[doc_id] = slot
                self._lengths[slot] = len(terms)
                self._total_length += len(terms)
                counts = Counter(terms)
                self._doc_terms[slot] = tuple(counts)
                for term, tf in counts.items():
                    self._postings.setdefault(term, {})[slot] = tf
                    self._compiled.pop(term, None)

    def remove(self, doc_id: str) -> bool:
        """Drop a document; returns whether it was indexed."""
        with self._lock:
            if doc_id not in self._slot:
                return False
            self._remove(doc_id)
            return True

    def remove_many(self, doc_ids: Iterable[str]) -> int:
        with self._lock:
            return sum(self.remove(doc_id) for doc_id in doc_ids)

    def clear(self) -> None:
        with self._lock:
            self._reset()

    def search(
        self,
        query_terms: Sequence[str],
        k: int = 10,
        *,
        ids: Collection[str] | None = None,
        predicate: Callable[[str], bool] | None = None,
    ) -> list[Hit]:
        """Top ``k`` documents by BM25, best first (ties: earlier slot first).

        ``ids`` restricts the search to those documents; ``predicate`` is tested lazily on
        candidates in score order, so a selective filter costs only the candidates it rejects.
        """
        if k <= 0:
            return []
        with self._lock:
            scores = self._scores(query_terms)
            if scores is None:
                return []
            if ids is not None:
                allowed = np.zeros(len(scores), dtype=bool)
                slots = [self._slot[i] for i in ids if i in self._slot]
                allowed[slots] = True
                scores = np.where(allowed, scores, 0.0)
            candidates = np.flatnonzero(scores > 0)
            if predicate is None and len(candidates) > k:
                # Partial selection first: sorting 100k candidates for a top 10 is wasteful.
                top = np.argpartition(-scores[candidates], k - 1)[:k]
                candidates = candidates[top]
            order = candidates[np.lexsort((candidates, -scores[candidates]))]
            hits: list[Hit] = []
            for slot in order:
                doc_id = self._ids[slot]
                if doc_id is None or (predicate is not None and not predicate(doc_id)):
                    continue
                hits.append((doc_id, float(scores[slot])))
                if len(hits) == k:
                    break
            return hits

    def _scores(self, query_terms: Sequence[str]) -> npt.NDArray[np.float64] | None:
        n_docs = len(self._slot)
        terms = [t for t in dict.fromkeys(query_terms) if t in self._postings]
        if n_docs == 0 or not terms:
            return None
        avg_length = self._total_length / n_docs or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * self._lengths / avg_length)
        scores = np.zeros(len(self._ids), dtype=np.float64)
        for term in terms:
            slots, tfs = self._compile(term)
            df = len(slots)
            idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            scores[slots] += idf * tfs * (self.k1 + 1.0) / (tfs + norm[slots])
        return scores

    def _compile(self, term: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        compiled = self._compiled.get(term)
        if compiled is None:
            postings = self._postings[term]
            compiled = (
                np.fromiter(postings.keys(), dtype=np.int64, count=len(postings)),
                np.fromiter(postings.values(), dtype=np.float64, count=len(postings)),
            )
            self._compiled[term] = compiled
        return compiled

    def _new_slot(self) -> int:
        slot = len(self._ids)
        self._ids.append(None)
        if slot >= len(self._lengths):
            grown = np.zeros(max(16, 2 * len(self._lengths)), dtype=np.float64)
            grown[: len(self._lengths)] = self._lengths
            self._lengths = grown
        return slot

    def _remove(self, doc_id: str) -> None:
        slot = self._slot.pop(doc_id)
        self._ids[slot] = None
        self._total_length -= self._lengths[slot]
        self._lengths[slot] = 0.0
        self._free.append(slot)
        for term in self._doc_terms.pop(slot):
            postings = self._postings[term]
            del postings[slot]
            self._compiled.pop(term, None)
            if not postings:
                del self._postings[term]
