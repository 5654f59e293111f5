"""What the SQLite and PostgreSQL stores share: chunk rows to insert, counts, chunk fetches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text

from aiharness.knowledge.stores.base import (
    ChunkHit,
    ChunkRecord,
    StoreError,
    clean_terms,
    normalise_vector,
)


def chunk_rows(
    *, document_id: int, collection_id: int, dim: int, chunks: Sequence[ChunkRecord]
) -> list[dict[str, Any]]:
    """Validate chunks and turn them into insert parameters (vectors as float32 bytes)."""
    seen: set[int] = set()
    rows = []
    for chunk in chunks:
        if chunk.index in seen:
            raise StoreError(f"chunk index {chunk.index} appears twice in document {document_id}")
        seen.add(chunk.index)
        vector = normalise_vector(chunk.vector, dim=dim, what=f"vector of chunk {chunk.index}")
        terms = clean_terms(chunk.terms)
        rows.append(
            {
                "document_id": document_id,
                "collection_id": collection_id,
                "chunk_index": chunk.index,
                "text": chunk.text,
                "page": chunk.page,
                "heading": chunk.heading,
                "token_count": chunk.token_count,
                "metadata": json.dumps(dict(chunk.metadata), ensure_ascii=False),
                "terms": " ".join(terms),
                "term_count": len(terms),
                "embedding": vector,
            }
        )
    return rows


def count_rows(conn: Connection, collection_id: int) -> tuple[int, int]:
    documents = conn.execute(
        text("SELECT count(*) FROM documents WHERE collection_id = :c"), {"c": collection_id}
    ).scalar_one()
    chunks = conn.execute(
        text("SELECT count(*) FROM chunks WHERE collection_id = :c"), {"c": collection_id}
    ).scalar_one()
    return int(documents), int(chunks)


def fetch_chunks(engine: Engine, chunk_ids: Sequence[int]) -> list[ChunkHit]:
    """Chunks with their document and collection, in the caller's order (shared by both stores)."""
    ids = list(dict.fromkeys(int(i) for i in chunk_ids))
    if not ids:
        return []
    sql = text(
        "SELECT c.id, c.document_id, c.collection_id, col.name, d.source_path, d.file_name, "
        "c.chunk_index, c.page, c.heading, c.text, c.metadata, c.token_count FROM chunks c "
        "JOIN documents d ON d.id = c.document_id JOIN collections col ON col.id = c.collection_id "
        "WHERE c.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    with engine.connect() as conn:
        rows = {int(r[0]): r for r in conn.execute(sql, {"ids": ids})}
    hits = []
    for chunk_id in ids:
        r = rows.get(chunk_id)
        if r is None:
            continue
        meta = r[10]
        if isinstance(meta, str):
            meta = json.loads(meta)
        hits.append(
            ChunkHit(
                chunk_id=chunk_id,
                document_id=int(r[1]),
                collection_id=int(r[2]),
                collection=str(r[3]),
                source_path=str(r[4]),
                file_name=str(r[5]),
                index=int(r[6]),
                page=r[7],
                heading=r[8],
                text=str(r[9]),
                metadata=dict(meta or {}),
                token_count=int(r[11] or 0),
            )
        )
    return hits
