"""Collections and documents: create, list, show, delete; registering files for ingestion.

A collection records the embedding model, its dimension, the chunking settings and the keyword
analyzer when it is created: its vectors and terms only make sense with those. Documents are
identified by (collection, source path); content hashes make re-ingestion of an unchanged file
a no-op and let a changed file replace its chunks in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiharness.audit import record
from aiharness.config import Settings
from aiharness.db.base import utcnow
from aiharness.errors import Conflict, Forbidden, NotFound
from aiharness.knowledge.models import Chunk, Collection, Document
from aiharness.knowledge.schemas import (
    IN_PROGRESS,
    CollectionCreate,
    CollectionPublic,
    DocumentCounts,
    DocumentPage,
    DocumentPublic,
    IngestedDocument,
    IngestProgress,
    ReembedState,
)
from aiharness.knowledge.settings import KnowledgeSettings
from aiharness.knowledge.sources import SourceFile
from aiharness.knowledge.stores.base import KnowledgeStore

MIME_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".csv": "text/csv",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".hwpx": "application/hwp+zip",
}


class CollectionExistsError(Conflict):
    default_code = "collection_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"collection {name!r} already exists")


# -- collections ----------------------------------------------------------------------------
def create_collection(
    *, session: Session, collection_in: CollectionCreate, settings: Settings, model: str, dim: int
) -> CollectionPublic:
    """Record a collection with the embedding model (``model``, ``dim``) that will fill it."""
    chunking = collection_in.chunking
    chunking_dict = (
        chunking.model_dump()
        if chunking is not None
        else KnowledgeSettings.of(settings).chunking.model_dump()
    )
    collection = Collection(
        name=collection_in.name,
        description=collection_in.description,
        embedding_model=model,
        embedding_dim=dim,
        chunking=chunking_dict,
        analyzer=collection_in.analyzer,
        index_generation=0,
    )
    session.add(collection)
    record(
        session,
        action="knowledge.collection.create",
        target=f"collection:{collection_in.name}",
        details={"embedding_model": model, "analyzer": collection_in.analyzer},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise CollectionExistsError(collection_in.name) from None
    return collection_public(session=session, collection=collection)


# The collections a caller may use (the principal's ``collections``); None means every one. A
# collection outside them is answered exactly like one that does not exist.
Allowed = frozenset[str] | None


def may_use(name: str, allowed: Allowed) -> bool:
    return allowed is None or name in allowed


def check_may_create(name: str, allowed: Allowed) -> None:
    """A caller limited to some collections creates (or ingests into a new) one of those only."""
    if not may_use(name, allowed):
        raise Forbidden(
            f"this caller may only use the collections {', '.join(sorted(allowed or ()))}",
            code="collection_not_allowed",
        )


def find_collection(*, session: Session, name: str) -> Collection | None:
    return session.scalars(select(Collection).where(Collection.name == name)).first()


def get_collection(*, session: Session, name: str, allowed: Allowed = None) -> Collection:
    collection = find_collection(session=session, name=name) if may_use(name, allowed) else None
    if collection is None:
        raise NotFound(
            f"collection {name!r} does not exist; create it with "
            f"`aiharness collections create {name}` or POST /api/collections"
        )
    return collection


def _counts(session: Session, collection_ids: Sequence[int]) -> dict[int, DocumentCounts]:
    counts: dict[int, dict[str, int]] = {cid: {} for cid in collection_ids}
    if not collection_ids:
        return {}
    rows = session.execute(
        select(Document.collection_id, Document.status, func.count())
        .where(Document.collection_id.in_(collection_ids))
        .group_by(Document.collection_id, Document.status)
    ).all()
    for cid, status, n in rows:
        counts[cid][status] = int(n)
    return {
        cid: DocumentCounts(total=sum(by_status.values()), **by_status)
        for cid, by_status in counts.items()
    }


def _chunk_totals(session: Session, collection_ids: Sequence[int]) -> dict[int, int]:
    if not collection_ids:
        return {}
    rows = session.execute(
        select(Chunk.collection_id, func.count())
        .where(Chunk.collection_id.in_(collection_ids))
        .group_by(Chunk.collection_id)
    ).all()
    return {int(cid): int(n) for cid, n in rows}


def _reembeds(session: Session, collection_ids: Sequence[int]) -> dict[int, ReembedState]:
    from aiharness.knowledge.reembed import reembed_states  # reembed imports this module

    return reembed_states(session, collection_ids)


def _public(
    collection: Collection,
    counts: DocumentCounts,
    chunks: int,
    reembed: ReembedState | None = None,
) -> CollectionPublic:
    return CollectionPublic(
        id=collection.id,
        name=collection.name,
        description=collection.description,
        embedding_model=collection.embedding_model,
        embedding_dim=collection.embedding_dim,
        chunking=dict(collection.chunking or {}),
        analyzer=collection.analyzer,
        documents=counts,
        chunks=chunks,
        created_at=collection.created_at,
        updated_at=collection.updated_at,
        reembed=reembed,
    )


def collection_public(*, session: Session, collection: Collection) -> CollectionPublic:
    counts = _counts(session, [collection.id]).get(collection.id, DocumentCounts())
    chunks = _chunk_totals(session, [collection.id]).get(collection.id, 0)
    reembed = _reembeds(session, [collection.id]).get(collection.id)
    return _public(collection, counts, chunks, reembed)


def list_collections(*, session: Session, allowed: Allowed = None) -> list[CollectionPublic]:
    query = select(Collection).order_by(Collection.name)
    if allowed is not None:
        query = query.where(Collection.name.in_(sorted(allowed)))
    rows = session.scalars(query).all()
    ids = [c.id for c in rows]
    counts = _counts(session, ids)
    chunks = _chunk_totals(session, ids)
    reembeds = _reembeds(session, ids)
    return [
        _public(c, counts.get(c.id, DocumentCounts()), chunks.get(c.id, 0), reembeds.get(c.id))
        for c in rows
    ]


def show_collection(*, session: Session, name: str, allowed: Allowed = None) -> CollectionPublic:
    collection = get_collection(session=session, name=name, allowed=allowed)
    return collection_public(session=session, collection=collection)


def delete_collection(
    *,
    session: Session,
    store: KnowledgeStore,
    name: str,
    settings: Settings,
    allowed: Allowed = None,
) -> None:
    """Delete every document (chunks, vectors, keyword entries, unshared uploads), then the row."""
    collection = get_collection(session=session, name=name, allowed=allowed)
    doc_ids = session.scalars(
        select(Document.id).where(Document.collection_id == collection.id)
    ).all()
    session.commit()  # end the read transaction: SQLite store writes need the lock
    for document_id in doc_ids:
        delete_document(session=session, store=store, document_id=document_id, settings=settings)
    session.delete(session.get(Collection, collection.id) or collection)
    record(
        session,
        action="knowledge.collection.delete",
        target=f"collection:{name}",
        details={"documents": len(doc_ids)},
    )
    session.commit()
    store.forget_collection(collection_id=collection.id)


# -- documents ------------------------------------------------------------------------------
def document_public(document: Document, collection_name: str) -> DocumentPublic:
    meta = document.meta or {}
    return DocumentPublic(
        id=document.id,
        collection=collection_name,
        collection_id=document.collection_id,
        source_kind=document.source_kind,
        source_path=document.source_path,
        file_name=document.file_name,
        mime_type=document.mime_type,
        size_bytes=document.size_bytes,
        content_hash=document.content_hash,
        status=document.status,
        error=document.error,
        page_count=document.page_count,
        chunk_count=document.chunk_count,
        job_id=meta.get("job_id"),
        created_at=document.created_at,
        updated_at=document.updated_at,
        indexed_at=document.indexed_at,
    )


def list_documents(
    *,
    session: Session,
    collection: str | None = None,
    status: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 100,
    offset: int = 0,
    allowed: Allowed = None,
) -> DocumentPage:
    """Newest first; filtered by collection name, status or ids (and the caller's collections)."""
    query = select(Document, Collection.name).join(
        Collection, Collection.id == Document.collection_id
    )
    count = select(func.count()).select_from(Document)
    if allowed is not None:
        visible = select(Collection.id).where(Collection.name.in_(sorted(allowed)))
        query = query.where(Document.collection_id.in_(visible))
        count = count.where(Document.collection_id.in_(visible))
    if collection is not None:
        cid = get_collection(session=session, name=collection, allowed=allowed).id
        query = query.where(Document.collection_id == cid)
        count = count.where(Document.collection_id == cid)
    if status is not None:
        query = query.where(Document.status == status)
        count = count.where(Document.status == status)
    if ids is not None:
        query = query.where(Document.id.in_(list(ids)))
        count = count.where(Document.id.in_(list(ids)))
    rows = session.execute(
        query.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit).offset(offset)
    ).all()
    return DocumentPage(
        items=[document_public(doc, name) for doc, name in rows],
        total=session.scalar(count) or 0,
        limit=limit,
        offset=offset,
    )


def _load_document(
    session: Session, document_id: int, allowed: Allowed = None
) -> tuple[Document, str]:
    row = session.execute(
        select(Document, Collection.name)
        .join(Collection, Collection.id == Document.collection_id)
        .where(Document.id == document_id)
    ).first()
    if row is None or not may_use(row[1], allowed):
        raise NotFound(f"document {document_id} does not exist")
    return row[0], row[1]


def get_document(*, session: Session, document_id: int, allowed: Allowed = None) -> DocumentPublic:
    document, name = _load_document(session, document_id, allowed)
    return document_public(document, name)


def document_chunks(*, session: Session, document_id: int, limit: int = 1000) -> list[Chunk]:
    """A document's passages in reading order (for its page in the web UI)."""
    return list(
        session.scalars(
            select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.index).limit(limit)
        ).all()
    )


def delete_document(
    *,
    session: Session,
    store: KnowledgeStore,
    document_id: int,
    settings: Settings,
    allowed: Allowed = None,
) -> None:
    """Remove the document, its chunks and vectors, and its upload file if nothing else uses it."""
    document, collection_name = _load_document(session, document_id, allowed)
    stored = (document.meta or {}).get("stored_path")
    kind, content_hash = document.source_kind, document.content_hash
    details = {"collection": collection_name, "file_name": document.file_name}
    session.commit()
    store.delete_document(
        document_id=document_id,
        also=lambda conn: record(
            conn,
            action="knowledge.document.delete",
            target=f"document:{document_id}",
            details=details,
        ),
    )
    if kind == "upload" and stored and content_hash:
        others = session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.content_hash == content_hash, Document.source_kind == "upload")
        )
        if not others:
            from pathlib import Path

            path = Path(stored)
            if path.is_relative_to(settings.data_dir.resolve() / "uploads"):
                path.unlink(missing_ok=True)


# -- registering files for ingestion ---------------------------------------------------------
def mime_type(file_name: str) -> str:
    from pathlib import Path

    return MIME_TYPES.get(Path(file_name).suffix.lower(), "application/octet-stream")


def register_source(
    *, session: Session, collection: Collection, source: SourceFile, token: str
) -> IngestedDocument:
    """Create or update the document row for ``source`` and decide whether it needs a job.

    - same path, same hash, ready or in progress: ``unchanged`` (nothing to do);
    - same hash under another path in this collection: ``duplicate`` (nothing to do);
    - refused at the door (bad name, over the size cap, a type we cannot read): ``rejected``
      without writing a row (an existing row, and the version it indexed, stay as they were);
    - otherwise ``queued`` with ``token``: the ingest job of that token owns the row. A changed
      file keeps its old chunks searchable until the job swaps them atomically.
    """
    existing = session.scalars(
        select(Document).where(
            Document.collection_id == collection.id, Document.source_path == source.source_path
        )
    ).first()
    if source.error is None and source.content_hash:
        if (
            existing is not None
            and existing.content_hash == source.content_hash
            and existing.status != "failed"
            and (existing.status == "ready" or _job_alive(session, existing))
        ):
            return _outcome(existing, "unchanged")
        twin = session.scalars(
            select(Document).where(
                Document.collection_id == collection.id,
                Document.content_hash == source.content_hash,
                Document.source_path != source.source_path,
                Document.status != "failed",
            )
        ).first()
        if twin is not None:
            return IngestedDocument(
                document_id=twin.id,
                file_name=source.file_name,
                outcome="duplicate",
                status=twin.status,
                duplicate_of=twin.id,
                duplicate_of_name=twin.file_name,
                error=f"{source.file_name} has the same content as {twin.file_name} "
                f"(document {twin.id}); not ingested again",
            )
    if source.error is not None:
        kept = existing is not None and existing.status == "ready"
        return IngestedDocument(
            document_id=existing.id if existing is not None else None,
            file_name=source.file_name,
            outcome="rejected",
            status=existing.status if existing is not None else None,
            error=f"{source.error}; the version already indexed stays as it was"
            if kept
            else source.error,
            reason=source.error_kind,
        )
    now = utcnow()
    values: dict[str, Any] = {
        "source_kind": source.source_kind,
        "file_name": source.file_name,
        "mime_type": mime_type(source.file_name),
        "size_bytes": source.size_bytes,
        "content_hash": source.content_hash,
        "status": "queued",
        "error": None,
        "updated_at": now,
    }
    meta = {
        "stored_path": str(source.stored_path) if source.stored_path else None,
        "ingest_token": token,
    }
    audit_details = {
        "collection": collection.name,
        "file_name": source.file_name,
        "size_bytes": source.size_bytes,
        "changed": existing is not None,
    }
    document = existing
    if document is None:
        document = Document(
            collection_id=collection.id,
            source_path=source.source_path,
            chunk_count=0,
            created_at=now,
            meta=meta,
            **values,
        )
        session.add(document)
        try:
            session.flush()  # the row's id names the audit entry's target
            _record_registration(session, document, source, audit_details)
            session.commit()
        except IntegrityError:
            # A concurrent request registered the same path first: treat it like a re-submit.
            session.rollback()
            return register_source(
                session=session, collection=collection, source=source, token=token
            )
    else:
        for key, value in values.items():
            setattr(document, key, value)
        document.meta = {**(document.meta or {}), **meta}
        _record_registration(session, document, source, audit_details)
        session.commit()
    return _outcome(document, "queued")


def _record_registration(
    session: Session, document: Document, source: SourceFile, details: dict[str, Any]
) -> None:
    """An upload or a server-path ingest accepted for indexing, with the document row."""
    record(
        session,
        action="knowledge.upload" if source.source_kind == "upload" else "knowledge.ingest",
        target=f"document:{document.id}",
        details={**details, "source_kind": source.source_kind},
    )


def _job_alive(session: Session, document: Document) -> bool:
    """An in-progress document whose job ended (cancelled while queued, lost) needs a new job."""
    from aiharness.jobs.models import Job
    from aiharness.jobs.schemas import TERMINAL_STATUSES

    job_id = (document.meta or {}).get("job_id")
    if not job_id:
        return True  # being registered right now by a concurrent request
    status = session.scalar(select(Job.status).where(Job.id == job_id))
    return status is not None and status not in TERMINAL_STATUSES


def _outcome(document: Document, outcome: str, *, error: str | None = None) -> IngestedDocument:
    return IngestedDocument(
        document_id=document.id,
        file_name=document.file_name,
        outcome=outcome,
        status=document.status,
        error=error,
    )


def set_job_id(*, session: Session, document_ids: Sequence[int], job_id: str) -> None:
    """Remember which job handles each document (shown in the UI and the API)."""
    for document in session.scalars(select(Document).where(Document.id.in_(list(document_ids)))):
        document.meta = {**(document.meta or {}), "job_id": job_id}
    session.commit()


def pending_count(*, session: Session, collection_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.collection_id == collection_id, Document.status.in_(IN_PROGRESS))
        )
        or 0
    )


def ingest_progress(
    *,
    session: Session,
    name: str,
    first_id: int | None = None,
    last_id: int | None = None,
    allowed: Allowed = None,
) -> IngestProgress:
    """Document counts by status and ready chunks of collection ``name``, optionally only of
    documents with ids from ``first_id`` to ``last_id`` (what one ingest queued)."""
    collection = get_collection(session=session, name=name, allowed=allowed)
    query = (
        select(Document.status, func.count(), func.coalesce(func.sum(Document.chunk_count), 0))
        .where(Document.collection_id == collection.id)
        .group_by(Document.status)
    )
    if first_id is not None:
        query = query.where(Document.id >= first_id)
    if last_id is not None:
        query = query.where(Document.id <= last_id)
    by_status = {str(s): (int(n), int(c)) for s, n, c in session.execute(query).all()}
    counts = {s: n for s, (n, _) in by_status.items()}
    return IngestProgress(
        collection=collection.name,
        documents=sum(counts.values()),
        queued=counts.get("queued", 0),
        processing=counts.get("parsing", 0) + counts.get("embedding", 0),
        ready=counts.get("ready", 0),
        failed=counts.get("failed", 0),
        chunks=by_status.get("ready", (0, 0))[1],
    )
