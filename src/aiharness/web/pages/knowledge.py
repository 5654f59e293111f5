"""Web UI of the knowledge base: collections, multi-file upload with live per-document status,
the document list with errors, and search with highlighted query terms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy.orm import Session

from aiharness.deps import CurrentPrincipal, RowId, SessionDep, SettingsDep
from aiharness.errors import DomainError, Invalid, NotFound
from aiharness.jobs import service as jobs_service
from aiharness.jobs.deps import QueuesDep
from aiharness.jobs.models import Job
from aiharness.knowledge import ingest, reembed, retrieval, service
from aiharness.knowledge.deps import KnowledgeDep
from aiharness.knowledge.embedders import EmbedderError
from aiharness.knowledge.runtime import KnowledgeRuntime
from aiharness.knowledge.schemas import (
    IN_PROGRESS,
    SEARCH_MODES,
    CollectionCreate,
    CollectionPublic,
    SearchHit,
)
from aiharness.web.templating import NavItem, WebDep, fragment_router, page_router

router = page_router()
fragments = fragment_router()
NAV = (NavItem("knowledge", "/knowledge", 20),)
MAX_TERMS = 30
# Tells the document table to refresh now rather than at its next poll.
CHANGED = "documents-changed"


def highlight(text: str, terms: Sequence[str]) -> Markup:
    """``text`` HTML-escaped with every occurrence of a term (case-insensitive) in ``<mark>``.

    Terms are analyzer output (정비 for 정비를, pump for pumps), so matching them as substrings
    marks the inflected forms in the passage too.
    """
    words = sorted({t for t in terms if t and len(t) >= 1}, key=len, reverse=True)[:MAX_TERMS]
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    # Safe: every piece of the passage went through escape(); only <mark> tags are ours.
    return Markup("".join(out))  # noqa: S704


@router.get("/knowledge", response_class=HTMLResponse)
def knowledge_page(
    request: Request, web: WebDep, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    collections = service.list_collections(session=session, allowed=principal.collections)
    return web.render(request, "knowledge.html", {"collections": collections}, active="knowledge")


@fragments.post("/ui/knowledge/collections", response_model=None)
def create_collection_action(
    session: SessionDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        collection_in = CollectionCreate(name=name.strip(), description=description)
    except ValidationError as exc:
        raise Invalid(f"{name!r}: {exc.errors()[0]['msg']}", code="validation_error") from None
    service.check_may_create(collection_in.name, principal.collections)
    runtime.create_collection(session=session, collection_in=collection_in)
    response = HTMLResponse("")
    response.headers["HX-Redirect"] = f"/knowledge/{collection_in.name}"
    return response


@router.get("/knowledge/{name}", response_class=HTMLResponse)
def collection_page(
    name: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    collection = service.show_collection(session=session, name=name, allowed=principal.collections)
    documents = service.list_documents(
        session=session, collection=name, limit=200, allowed=principal.collections
    )
    return web.render(
        request,
        "knowledge_collection.html",
        {
            "collection": collection,
            "documents": documents,
            "busy": any(d.status in IN_PROGRESS for d in documents.items),
            "modes": SEARCH_MODES,
            **_reembed_context(session, runtime, collection),
        },
        active="knowledge",
    )


@fragments.get("/ui/partials/knowledge/{name}/documents", response_class=HTMLResponse)
def documents_partial(
    name: str, request: Request, web: WebDep, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    documents = service.list_documents(
        session=session, collection=name, limit=200, allowed=principal.collections
    )
    return web.render(
        request,
        "_knowledge_documents.html",
        {
            "collection": {"name": name},
            "documents": documents,
            "busy": any(d.status in IN_PROGRESS for d in documents.items),
        },
    )


@fragments.post("/ui/knowledge/{name}/upload", response_class=HTMLResponse)
def upload_action(
    name: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    settings: SettingsDep,
    queues: QueuesDep,
    principal: CurrentPrincipal,
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> HTMLResponse:
    uploads = [f for f in files or [] if f.filename]
    if not uploads:
        return web.flash(request, ok=False, key="knowledge.upload.none")
    service.get_collection(session=session, name=name, allowed=principal.collections)
    result = ingest.ingest_uploads(
        session=session,
        queues=queues,
        settings=settings,
        collection_name=name,
        files=[(f.filename, f.file) for f in uploads],
    )
    response = web.render(request, "_knowledge_upload_result.html", {"result": result})
    response.headers["HX-Trigger"] = CHANGED
    return response


@fragments.post("/ui/knowledge/documents/{document_id}/delete", response_class=HTMLResponse)
def delete_document_action(
    document_id: RowId,
    request: Request,
    web: WebDep,
    session: SessionDep,
    settings: SettingsDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    service.delete_document(
        session=session,
        store=runtime.writer_store(),
        document_id=document_id,
        settings=settings,
        allowed=principal.collections,
    )
    return web.flash(request, ok=True, key="knowledge.flash.deleted", trigger=CHANGED)


@fragments.post("/ui/knowledge/{name}/delete", response_model=None)
def delete_collection_action(
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
) -> Response:
    """Delete the collection (the page asked the user to confirm) and go back to the list."""
    service.delete_collection(
        session=session,
        store=runtime.writer_store(),
        name=name,
        settings=settings,
        allowed=principal.collections,
    )
    response = HTMLResponse("")
    response.headers["HX-Redirect"] = "/knowledge"
    return response


@router.get("/knowledge/{name}/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    name: str,
    document_id: RowId,
    request: Request,
    web: WebDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    """A document's facts, status and error, and its passages (search results link here)."""
    document = service.get_document(
        session=session, document_id=document_id, allowed=principal.collections
    )
    if document.collection != name:
        raise NotFound(f"document {document_id} does not exist")
    chunks = service.document_chunks(session=session, document_id=document_id)
    return web.render(
        request,
        "knowledge_document.html",
        {"document": document, "chunks": chunks},
        active="knowledge",
    )


@fragments.get("/ui/partials/knowledge/search", response_class=HTMLResponse)
def search_partial(
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=retrieval.MAX_QUERY_CHARS)] = "",
    collection: Annotated[str | None, Query(max_length=128)] = None,
    mode: Annotated[str, Query(max_length=16)] = "hybrid",
    k: Annotated[int, Query(ge=1, le=50)] = 8,
) -> HTMLResponse:
    hits: list[SearchHit] = []
    error: str | None = None
    terms: list[str] = []
    if q.strip():
        try:
            if mode not in SEARCH_MODES:
                raise Invalid(f"mode must be one of {', '.join(SEARCH_MODES)}")
            hits = runtime.search(
                session=session,
                query=q,
                k=k,
                mode=mode,  # type: ignore[arg-type]
                collection=collection or None,
                per_document=True,  # one result per document: neighbours would repeat it
                allowed=principal.collections,
            )
            analyzers = {
                c.analyzer
                for c in service.list_collections(session=session, allowed=principal.collections)
            }
            terms = retrieval.query_terms(q, sorted(analyzers) or ["kiwi"])
            terms += [w for w in q.split() if len(w) > 1]
        except DomainError as exc:
            error = exc.message
    results = [(hit, highlight(hit.text, terms)) for hit in hits]
    return web.render(
        request,
        "_knowledge_results.html",
        {"results": results, "error": error, "query": q.strip()},
    )


# -- re-embedding ------------------------------------------------------------------------------
def _reembed_context(
    session: Session,
    runtime: KnowledgeRuntime,
    collection: CollectionPublic,
    finished_job: str | None = None,
) -> dict[str, Any]:
    """What ``_knowledge_reembed.html`` shows: the running job, or how ``finished_job`` ended."""
    try:
        platform: tuple[str, int] | None = runtime.identity()
    except EmbedderError:
        platform = None  # the model server is down: offer nothing rather than fail the page
    job = finished = None
    if collection.reembed is not None:
        job = jobs_service.get_job(session=session, job_id=collection.reembed.job_id)
    elif finished_job:
        row = session.get(Job, finished_job)
        if row is not None and row.type == reembed.JOB_TYPE:
            finished = jobs_service.to_public(row)
    return {"collection": collection, "platform": platform, "job": job, "finished": finished}


@fragments.get("/ui/partials/knowledge/{name}/reembed", response_class=HTMLResponse)
def reembed_partial(
    name: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
    job: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    collection = service.show_collection(session=session, name=name, allowed=principal.collections)
    context = _reembed_context(session, runtime, collection, finished_job=job)
    return web.render(request, "_knowledge_reembed.html", context)


@fragments.post("/ui/knowledge/{name}/reembed", response_class=HTMLResponse)
def reembed_action(
    name: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    queues: QueuesDep,
    runtime: KnowledgeDep,
    principal: CurrentPrincipal,
    force: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    error: str | None = None
    service.get_collection(session=session, name=name, allowed=principal.collections)
    try:
        reembed.submit_reembed(
            session=session,
            queues=queues,
            collection_name=name,
            identity=runtime.identity,
            force=force,
        )
    except (DomainError, EmbedderError) as exc:
        error = exc.message if isinstance(exc, DomainError) else str(exc)
    collection = service.show_collection(session=session, name=name)
    context = _reembed_context(session, runtime, collection)
    return web.render(request, "_knowledge_reembed.html", {**context, "error": error})
