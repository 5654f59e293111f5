"""/api/collections, /api/documents, /api/ingest and /api/rag/search (plus the old /rag/search)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from aiharness.api_errors import error_responses
from aiharness.deps import MAX_ROW_ID, CurrentPrincipal, Offset, RowId, SessionDep, SettingsDep
from aiharness.jobs.deps import QueuesDep
from aiharness.knowledge import ingest, reembed, retrieval, service
from aiharness.knowledge.deps import KnowledgeDep
from aiharness.knowledge.schemas import (
    CollectionCreate,
    CollectionPublic,
    DocumentPage,
    DocumentPublic,
    DocumentStatus,
    IngestPathRequest,
    IngestProgress,
    IngestResponse,
    ReembedRequest,
    ReembedResponse,
    SearchHit,
    SearchMode,
)

router = APIRouter(tags=["knowledge"], responses=error_responses(403, 404, 409, 413, 415, 422, 503))
alias_router = APIRouter(include_in_schema=False)
NameQuery = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.post("/api/collections", status_code=status.HTTP_201_CREATED, summary="Create a collection")
def create_collection(
    collection_in: CollectionCreate,
    session: SessionDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> CollectionPublic:
    service.check_may_create(collection_in.name, principal.collections)
    return runtime.create_collection(session=session, collection_in=collection_in)


@router.get("/api/collections", summary="Collections with document and chunk counts")
def list_collections(session: SessionDep, principal: CurrentPrincipal) -> list[CollectionPublic]:
    return service.list_collections(session=session, allowed=principal.collections)


@router.get("/api/collections/{name}", summary="One collection")
def show_collection(
    name: str, session: SessionDep, principal: CurrentPrincipal
) -> CollectionPublic:
    return service.show_collection(session=session, name=name, allowed=principal.collections)


@router.delete(
    "/api/collections/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a collection with its documents, chunks and vectors",
)
def delete_collection(
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> Response:
    service.delete_collection(
        session=session,
        store=runtime.writer_store(),
        name=name,
        settings=settings,
        allowed=principal.collections,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/collections/{name}/reembed",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Re-embed a collection with the configured embedder (a knowledge.reembed job)",
    responses={
        404: {"description": "No such collection."},
        409: {"description": "Already re-embedding, or already on the configured model."},
    },
)
def reembed_collection(
    name: str,
    session: SessionDep,
    queues: QueuesDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
    request: ReembedRequest | None = None,
) -> ReembedResponse:
    service.get_collection(session=session, name=name, allowed=principal.collections)
    return reembed.submit_reembed(
        session=session,
        queues=queues,
        collection_name=name,
        identity=runtime.identity,
        force=request.force if request is not None else False,
    )


@router.post(
    "/api/collections/{name}/documents",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload files (several at once); returns the ingest job and each file's outcome",
)
def upload_documents(
    name: str,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
    session: SessionDep,
    settings: SettingsDep,
    queues: QueuesDep,
    principal: CurrentPrincipal,
) -> IngestResponse:
    service.get_collection(session=session, name=name, allowed=principal.collections)
    return ingest.ingest_uploads(
        session=session,
        queues=queues,
        settings=settings,
        collection_name=name,
        files=[(f.filename, f.file) for f in files],
    )


@router.post(
    "/api/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ingest a file or folder on the server (inside the allowed roots)",
)
def ingest_server_path(
    request: IngestPathRequest,
    session: SessionDep,
    queues: QueuesDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> IngestResponse:
    service.check_may_create(request.collection, principal.collections)
    return ingest.ingest_path(
        session=session,
        queues=queues,
        runtime=runtime,
        raw_path=request.path,
        collection_name=request.collection,
        recursive=request.recursive,
        create_collection=request.create_collection,
    )


@router.get(
    "/api/collections/{name}/progress",
    summary="Document counts by status and ready chunks: one poll for a whole ingest",
)
def ingest_progress(
    name: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    first_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Only documents from this id")
    ] = None,
    last_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Only documents up to this id")
    ] = None,
) -> IngestProgress:
    return service.ingest_progress(
        session=session,
        name=name,
        first_id=first_id,
        last_id=last_id,
        allowed=principal.collections,
    )


@router.get("/api/documents", summary="Documents, newest first")
def list_documents(
    session: SessionDep,
    principal: CurrentPrincipal,
    collection: NameQuery = None,
    status_: Annotated[DocumentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> DocumentPage:
    return service.list_documents(
        session=session,
        collection=collection,
        status=status_,
        limit=limit,
        offset=offset,
        allowed=principal.collections,
    )


@router.get("/api/documents/{document_id}", summary="One document with its status and error")
def get_document(
    document_id: RowId, session: SessionDep, principal: CurrentPrincipal
) -> DocumentPublic:
    return service.get_document(
        session=session, document_id=document_id, allowed=principal.collections
    )


@router.delete(
    "/api/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a document with its chunks and vectors",
)
def delete_document(
    document_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> Response:
    service.delete_document(
        session=session,
        store=runtime.writer_store(),
        document_id=document_id,
        settings=settings,
        allowed=principal.collections,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


HINT_HEADER = "X-Aiharness-Hint"


def _search(
    response: Response,
    session: SessionDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=retrieval.MAX_QUERY_CHARS)],
    k: Annotated[int, Query(ge=1, le=100)] = 5,
    collection: NameQuery = None,
    mode: SearchMode = "hybrid",
    per_document: Annotated[
        bool, Query(description="Only the best passage of each document (k documents)")
    ] = False,
) -> list[SearchHit]:
    """An empty collection is not an outage: 200 with no hits and a hint header saying why."""
    try:
        return runtime.search(
            session=session,
            query=q,
            k=k,
            mode=mode,
            collection=collection,
            per_document=per_document,
            allowed=principal.collections,
        )
    except retrieval.NothingIndexedError as exc:
        # Headers are ASCII: a Korean collection name travels percent-encoded.
        response.headers[HINT_HEADER] = quote(exc.message, safe=" `'/:;,.()-_=?!@")
        if exc.retry_after_s:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return []


router.add_api_route(
    "/api/rag/search",
    _search,
    methods=["GET"],
    summary="Ranked passages for a query: keyword, vector or hybrid",
)
alias_router.add_api_route("/rag/search", _search, methods=["GET"])
