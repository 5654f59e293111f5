"""In-process exact dense index for the embedded store, one per collection, fed from SQLite.

SQLite is the source of truth. Each collection's vectors sit in one contiguous float32 matrix
searched with a single matrix-vector product (exact, no recall loss); from
``PREFILTER_MIN_ROWS`` rows an int8 copy screens the rows first (``int8_prefilter``: still the
exact top k, at a quarter of the memory traffic). The matrix is saved to a
file in the data dir and reused at start only if its generation equals the collection's
``index_generation`` in the database; otherwise it is rebuilt from SQLite. Copies and files are
keyed by the collection's random ``uid``, never by its integer id or name: a collection deleted
and created again is a new collection, even where SQLite hands out the same id. While running, a
stale copy is brought up to date incrementally: chunk ids only grow (AUTOINCREMENT), so the
rows to add are those above the copy's highest id and the rows to drop are the missing ones.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from aiharness.knowledge.stores import int8_prefilter
from aiharness.knowledge.stores.int8_prefilter import Int8Rows

FILE_VERSION = 1
# Collections with at least this many vectors get the int8 prefilter (+25% memory). Below it a
# float32 scan takes a few milliseconds and the copy is not worth keeping (384 dims, k = 100,
# busy 2-core machine: exact / prefiltered p50 17 / 6 ms at 50k rows, 23 / 8 ms at 100k).
PREFILTER_MIN_ROWS = 50_000
_FETCH_BATCH = 5000

# -- re-embedding: vectors rewritten under the same chunk ids ------------------------------------
# Catching up only sees chunk ids added or removed, not vectors rewritten in place. A re-embed
# swap therefore moves ``index_generation`` to the next multiple of this step (a new "epoch"),
# and a copy from an earlier epoch is rebuilt instead of caught up. Ordinary writes add 1, so
# they would cross into a new epoch only after 2**32 writes (costing one needless rebuild).
VECTOR_EPOCH = 2**32


def next_vector_epoch(generation: int) -> int:
    """The generation a re-embed swap sets: the start of the next epoch."""
    return (generation // VECTOR_EPOCH + 1) * VECTOR_EPOCH


def vectors_replaced(old_generation: int, generation: int) -> bool:
    return old_generation // VECTOR_EPOCH != generation // VECTOR_EPOCH


@dataclass(frozen=True)
class IndexSnapshot:
    """An immutable view of one collection's vectors; searches never see a half-applied sync."""

    collection_id: int
    uid: str
    generation: int
    dim: int
    ids: np.ndarray  # int64, ascending
    document_ids: np.ndarray  # int64, aligned with ids
    matrix: np.ndarray  # float32 (n, dim), C-contiguous, rows L2-normalised
    int8: Int8Rows | None = None  # the prefilter's copy of ``matrix`` (large collections)

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    def search(
        self, query: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (row positions, scores) by inner product, best first."""
        if self.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if self.int8 is not None:
            return int8_prefilter.search(self.matrix, self.int8, query, k, mask)
        scores = self.matrix @ query
        if mask is not None:
            scores = np.where(mask, scores, np.float32(-np.inf))
            available = int(np.count_nonzero(mask))
        else:
            available = self.size
        k = min(k, available)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        order = top[np.argsort(-scores[top], kind="stable")]
        return order, scores[order]


def _empty(collection_id: int, uid: str, generation: int, dim: int) -> IndexSnapshot:
    return IndexSnapshot(
        collection_id=collection_id,
        uid=uid,
        generation=generation,
        dim=dim,
        ids=np.empty(0, dtype=np.int64),
        document_ids=np.empty(0, dtype=np.int64),
        matrix=np.empty((0, dim), dtype=np.float32),
    )


def _with_prefilter(snap: IndexSnapshot, int8: Int8Rows | None = None) -> IndexSnapshot:
    """``snap`` with the prefilter's int8 rows if it is large enough (``int8`` reused if given)."""
    if snap.size < PREFILTER_MIN_ROWS:
        return replace(snap, int8=None) if snap.int8 is not None else snap
    if int8 is None or not int8.fits(snap.matrix):
        int8 = int8_prefilter.quantise(snap.matrix)
    return replace(snap, int8=int8)


def _rows_to_arrays(
    rows: Sequence[tuple[int, int, bytes]], dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    doc_ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").astype(np.float32)
    return ids, doc_ids, matrix.reshape(len(rows), dim)


class VectorIndex:
    """Per-collection exact indexes kept in step with SQLite; safe to use from many threads."""

    def __init__(self, *, engine: Engine, directory: Path) -> None:
        self._engine = engine
        self._directory = directory
        self._snapshots: dict[int, IndexSnapshot] = {}
        self._lock = threading.Lock()
        self._purged = False
        self.rebuilds = 0  # full rebuilds from SQLite, for tests and diagnostics

    def path(self, uid: str) -> Path:
        return self._directory / f"collection-{uid}.npz"

    def snapshot(self, collection_id: int) -> IndexSnapshot | None:
        """The collection's index, synced to the database's current generation."""
        self._purge_orphan_files_once()
        with self._engine.connect() as conn:
            # One read transaction: the generation and the rows come from the same snapshot.
            conn.exec_driver_sql("BEGIN")
            try:
                row = conn.execute(
                    text(
                        "SELECT index_generation, embedding_dim, uid FROM collections WHERE id = :c"
                    ),
                    {"c": collection_id},
                ).first()
                if row is None:
                    self.forget(collection_id)  # deleted: drop its copy and its file
                    return None
                generation, dim, uid = int(row[0]), int(row[1]), str(row[2])
                current = self._snapshots.get(collection_id)
                if current is not None and (current.uid, current.generation) == (uid, generation):
                    return current
                with self._lock:
                    current = self._snapshots.get(collection_id)
                    if current is not None and current.uid != uid:
                        # Same id, another collection (SQLite reused the id of a deleted one).
                        self.path(current.uid).unlink(missing_ok=True)
                        current = None
                    if current is not None and current.generation == generation:
                        return current
                    fresh = self._sync(conn, collection_id, uid, generation, dim, current)
                    self._snapshots[collection_id] = fresh
                    return fresh
            finally:
                conn.rollback()

    def _sync(
        self,
        conn: Connection,
        collection_id: int,
        uid: str,
        generation: int,
        dim: int,
        current: IndexSnapshot | None,
    ) -> IndexSnapshot:
        if current is None:
            current = self._load_file(collection_id, uid, generation, dim)
            if current is not None:
                return current
        if current is None or current.dim != dim or current.generation > generation:
            return self._rebuild(conn, collection_id, uid, generation, dim)
        if vectors_replaced(current.generation, generation):
            return self._rebuild(conn, collection_id, uid, generation, dim)
        return self._catch_up(conn, current, generation)

    def _rebuild(
        self, conn: Connection, collection_id: int, uid: str, generation: int, dim: int
    ) -> IndexSnapshot:
        self.rebuilds += 1
        rows = conn.execute(
            text(
                "SELECT id, document_id, embedding FROM chunks "
                "WHERE collection_id = :c AND embedding IS NOT NULL ORDER BY id"
            ),
            {"c": collection_id},
        ).all()
        if not rows:
            snap = _empty(collection_id, uid, generation, dim)
        else:
            ids, doc_ids, matrix = _rows_to_arrays([tuple(r) for r in rows], dim)
            snap = _with_prefilter(
                IndexSnapshot(collection_id, uid, generation, dim, ids, doc_ids, matrix)
            )
        self._save(snap)
        return snap

    def _catch_up(self, conn: Connection, old: IndexSnapshot, generation: int) -> IndexSnapshot:
        top = int(old.ids[-1]) if old.size else 0
        alive = conn.execute(
            text(
                "SELECT id FROM chunks WHERE collection_id = :c AND id <= :top "
                "AND embedding IS NOT NULL"
            ),
            {"c": old.collection_id, "top": top},
        ).scalars()
        keep = np.isin(old.ids, np.fromiter(alive, dtype=np.int64))
        new_rows = conn.execute(
            text(
                "SELECT id, document_id, embedding FROM chunks "
                "WHERE collection_id = :c AND id > :top AND embedding IS NOT NULL ORDER BY id"
            ),
            {"c": old.collection_id, "top": top},
        ).all()
        ids, doc_ids, matrix = old.ids[keep], old.document_ids[keep], old.matrix[keep]
        # Only the added rows are quantised; the kept ones keep their int8 copy.
        int8 = old.int8.select(keep) if old.int8 is not None else None
        if new_rows:
            add_ids, add_docs, add_matrix = _rows_to_arrays([tuple(r) for r in new_rows], old.dim)
            ids = np.concatenate([ids, add_ids])
            doc_ids = np.concatenate([doc_ids, add_docs])
            matrix = np.concatenate([matrix, add_matrix])
            if int8 is not None:
                int8 = int8.append(int8_prefilter.quantise(add_matrix))
        snap = IndexSnapshot(
            old.collection_id,
            old.uid,
            generation,
            old.dim,
            ids,
            doc_ids,
            np.ascontiguousarray(matrix),
        )
        return _with_prefilter(snap, int8)

    def _load_file(
        self, collection_id: int, uid: str, generation: int, dim: int
    ) -> IndexSnapshot | None:
        path = self.path(uid)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if (
                    header.get("version") != FILE_VERSION
                    or header.get("uid") != uid
                    or header.get("generation") != generation
                    or header.get("dim") != dim
                ):
                    return None
                snap = IndexSnapshot(
                    collection_id,
                    uid,
                    generation,
                    dim,
                    np.ascontiguousarray(data["ids"], dtype=np.int64),
                    np.ascontiguousarray(data["document_ids"], dtype=np.int64),
                    np.ascontiguousarray(data["matrix"], dtype=np.float32),
                )
                int8 = None
                if snap.size >= PREFILTER_MIN_ROWS and "int8_codes" in data.files:
                    # Saved with the matrix, so it matches it (quantised again if it does not).
                    int8 = Int8Rows(
                        np.ascontiguousarray(data["int8_codes"], dtype=np.int8),
                        np.ascontiguousarray(data["int8_scales"], dtype=np.float32),
                        np.ascontiguousarray(data["int8_l1"], dtype=np.float32),
                    )
                return _with_prefilter(snap, int8)
        except (OSError, ValueError, KeyError):
            # A torn or foreign file is only a cache: rebuild from SQLite.
            return None

    def _save(self, snap: IndexSnapshot) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self.path(snap.uid)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        header = {
            "version": FILE_VERSION,
            "uid": snap.uid,
            "generation": snap.generation,
            "dim": snap.dim,
        }
        # The int8 copy is optional in the file: readers without it ignore it, and a file
        # without it is quantised again at load (~3 s per 1M rows).
        int8: dict[str, Any] = {}
        if snap.int8 is not None:
            int8 = {
                "int8_codes": snap.int8.codes,
                "int8_scales": snap.int8.scales,
                "int8_l1": snap.int8.l1,
            }
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                header=np.array(json.dumps(header)),
                ids=snap.ids,
                document_ids=snap.document_ids,
                matrix=snap.matrix,
                **int8,
            )
        tmp.replace(path)  # atomic: readers see the old file or the new one

    def save_all(self) -> None:
        """Bring every loaded collection up to date and persist those whose file is not current."""
        with self._lock:
            loaded = list(self._snapshots)
        for collection_id in loaded:
            snap = self.snapshot(collection_id)
            if snap is not None and self._load_header_generation(snap.uid) != snap.generation:
                self._save(snap)
        self.purge_orphan_files()

    def _load_header_generation(self, uid: str) -> int | None:
        path = self.path(uid)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                generation = json.loads(str(data["header"])).get("generation")
                return int(generation) if generation is not None else None
        except (OSError, ValueError, KeyError):
            return None

    def forget(self, collection_id: int) -> None:
        """Drop a deleted collection's copy and its file."""
        with self._lock:
            gone = self._snapshots.pop(collection_id, None)
        if gone is not None:
            self.path(gone.uid).unlink(missing_ok=True)
        self.purge_orphan_files()

    def purge_orphan_files(self) -> int:
        """Delete index files of collections that no longer exist (deleted by another process,
        or while this one was down); returns how many."""
        if not self._directory.is_dir():
            return 0
        with self._engine.connect() as conn:
            uids = {str(u) for u in conn.execute(text("SELECT uid FROM collections")).scalars()}
        removed = 0
        for path in self._directory.glob("collection-*.npz"):
            if path.stem.removeprefix("collection-") not in uids:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _purge_orphan_files_once(self) -> None:
        if not self._purged:
            self._purged = True
            self.purge_orphan_files()
