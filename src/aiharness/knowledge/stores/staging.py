"""SQL shared by both stores for re-embedding: vectors staged per chunk, then swapped in.

``chunk_vector_staging`` (migration 0004) holds one new vector per chunk id, tagged with the
model and dimension that made it. Chunk ids are never reused and a chunk's text never changes
under its id (a changed document gets new chunks), so a staged vector stays valid for as long as
its chunk exists: a retried job resumes from what earlier attempts staged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, TextClause, bindparam, text

from aiharness.db.base import UTCDateTime, utcnow
from aiharness.knowledge.stores.base import normalise_vector

# Chunks of the collection without a staged vector of the target model (the anti-join).
_UNSTAGED = (
    "FROM chunks c LEFT JOIN chunk_vector_staging s ON s.chunk_id = c.id "
    "AND s.collection_id = c.collection_id AND s.model = :model AND s.dim = :dim "
    "WHERE c.collection_id = :c AND s.chunk_id IS NULL"
)


def unstaged_chunk_ids(conn: Connection, *, collection_id: int, model: str, dim: int) -> list[int]:
    """Ids of the collection's chunks still lacking a staged vector, ascending.

    Two plain reads and a set difference in Python (ids only: 8 MB at a million chunks): an
    anti-join per page of texts was planned as a scan of the whole staging table on PostgreSQL,
    which made reading 100k passages ten times slower than staging them.
    """
    chunk_ids = conn.execute(
        text("SELECT id FROM chunks WHERE collection_id = :c"), {"c": collection_id}
    ).scalars()
    staged = set(
        conn.execute(
            text(
                "SELECT chunk_id FROM chunk_vector_staging "
                "WHERE collection_id = :c AND model = :model AND dim = :dim"
            ),
            {"c": collection_id, "model": model, "dim": dim},
        ).scalars()
    )
    return sorted(int(i) for i in chunk_ids if i not in staged)


def chunk_texts(conn: Connection, chunk_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(id, text) of those chunks that still exist, in the order of ``chunk_ids``."""
    if not chunk_ids:
        return []
    sql = text("SELECT id, text FROM chunks WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    found = {int(r[0]): str(r[1]) for r in conn.execute(sql, {"ids": list(chunk_ids)})}
    return [(i, found[i]) for i in chunk_ids if i in found]


def count_unstaged(conn: Connection, *, collection_id: int, model: str, dim: int) -> int:
    return int(
        conn.execute(
            text(f"SELECT count(*) {_UNSTAGED}"),
            {"c": collection_id, "model": model, "dim": dim},
        ).scalar_one()
    )


def count_chunks(conn: Connection, *, collection_id: int) -> int:
    return int(
        conn.execute(
            text("SELECT count(*) FROM chunks WHERE collection_id = :c"), {"c": collection_id}
        ).scalar_one()
    )


def stage_sql(embedding_expr: str) -> TextClause:
    """Upsert one staged vector, only if the chunk still belongs to the collection."""
    return text(
        "INSERT INTO chunk_vector_staging (chunk_id, collection_id, model, dim, embedding) "  # noqa: S608 (fixed expression)
        f"SELECT c.id, c.collection_id, :model, :dim, {embedding_expr} FROM chunks c "
        "WHERE c.id = :chunk_id AND c.collection_id = :c "
        "ON CONFLICT (chunk_id) DO UPDATE SET collection_id = excluded.collection_id, "
        "model = excluded.model, dim = excluded.dim, embedding = excluded.embedding"
    )


def stage_rows(
    *,
    collection_id: int,
    model: str,
    dim: int,
    vectors: Sequence[tuple[int, np.ndarray]],
) -> list[dict[str, Any]]:
    """Validated, L2-normalised parameters for ``stage_sql`` (``embedding`` still an array)."""
    return [
        {
            "chunk_id": int(chunk_id),
            "c": collection_id,
            "model": model,
            "dim": dim,
            "embedding": normalise_vector(vector, dim=dim, what=f"vector of chunk {chunk_id}"),
        }
        for chunk_id, vector in vectors
    ]


def discard(conn: Connection, *, collection_id: int, keep: tuple[str, int] | None) -> None:
    """Drop the collection's staged vectors, except those of ``keep`` = (model, dim)."""
    if keep is None:
        conn.execute(
            text("DELETE FROM chunk_vector_staging WHERE collection_id = :c"), {"c": collection_id}
        )
        return
    conn.execute(
        text(
            "DELETE FROM chunk_vector_staging WHERE collection_id = :c "
            "AND NOT (model = :model AND dim = :dim)"
        ),
        {"c": collection_id, "model": keep[0], "dim": keep[1]},
    )


def record_model(conn: Connection, *, collection_id: int, model: str, dim: int) -> None:
    """The collection now records the model and dimension of its vectors."""
    conn.execute(
        text(
            "UPDATE collections SET embedding_model = :model, embedding_dim = :dim, "
            "updated_at = :now WHERE id = :c"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        {"model": model, "dim": dim, "now": utcnow(), "c": collection_id},
    )
