"""Web UI of the knowledge base: collections, multi-file upload with live per-document status,
the document list with errors, and search with highlighted query terms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import ValidationError

from aiharness.deps import CurrentPrincipal, SessionDep, SettingsDep
from aiharness.errors import APIError
from aiharness.jobs.router import QueuesDep
from aiharness.knowledge import ingest, retrieval, service
from aiharness.knowledge.router import RuntimeDep
from aiharness.knowledge.schemas import (
    IN_PROGRESS,
    SEARCH_MODES,
    CollectionCreate,
    SearchHit,
)
from aiharness.web.templating import WebDep

router = APIRouter(include_in_schema=False)
MAX_TERMS = 30


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
    request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    collections = service.list_collections(session=session)
    return web.render(request, "knowledge.html", {"collections": collections}, active="knowledge")


@router.post("/ui/knowledge/collections", response_model=None)
def create_collection_action(
    request: Request,
    web: WebDep,
    session: SessionDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    _p: CurrentPrincipal,
    name: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        collection_in = CollectionCreate(name=name.strip(), description=description)
        model, dim = runtime.identity()
        service.create_collection(
            session=session, collection_in=collection_in, settings=settings, model=model, dim=dim
        )
    except ValidationError as exc:
        message = f"{name!r}: {exc.errors()[0]['msg']}"
        return web.render(request, "_knowledge_flash.html", {"ok": False, "message": message})
    except APIError as exc:
        return web.render(request, "_knowledge_flash.html", {"ok": False, "message": exc.message})
    response = HTMLResponse("")
    response.headers["HX-Redirect"] = f"/knowledge/{collection_in.name}"
    return response


@router.get("/knowledge/{name}", response_class=HTMLResponse)
def collection_page(
    name: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    try:
        collection = service.show_collection(session=session, name=name)
    except APIError as exc:
        return web.render_error(request, 404, exc.message, active="knowledge")
    documents = service.list_documents(session=session, collection=name, limit=200)
    return web.render(
        request,
        "knowledge_collection.html",
        {
            "collection": collection,
            "documents": documents,
            "busy": any(d.status in IN_PROGRESS for d in documents.items),
            "modes": SEARCH_MODES,
        },
        active="knowledge",
    )


@router.get("/ui/partials/knowledge/{name}/documents", response_class=HTMLResponse)
def documents_partial(
    name: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    try:
        documents = service.list_documents(session=session, collection=name, limit=200)
    except APIError as exc:
        return web.render(request, "_knowledge_flash.html", {"ok": False, "message": exc.message})
    return web.render(
        request,
        "_knowledge_documents.html",
        {
            "collection": {"name": name},
            "documents": documents,
            "busy": any(d.status in IN_PROGRESS for d in documents.items),
        },
    )


@router.post("/ui/knowledge/{name}/upload", response_class=HTMLResponse)
def upload_action(
    name: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    settings: SettingsDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> HTMLResponse:
    uploads = [f for f in files or [] if f.filename]
    if not uploads:
        return web.render(
            request, "_knowledge_flash.html", {"ok": False, "message": "knowledge.upload.none"}
        )
    try:
        result = ingest.ingest_uploads(
            session=session,
            queues=queues,
            settings=settings,
            collection_name=name,
            files=[(f.filename, f.file) for f in uploads],
        )
    except APIError as exc:
        return web.render(request, "_knowledge_flash.html", {"ok": False, "message": exc.message})
    response = web.render(request, "_knowledge_upload_result.html", {"result": result})
    response.headers["HX-Trigger"] = "documents-changed"
    return response


@router.post("/ui/knowledge/documents/{document_id}/delete", response_class=HTMLResponse)
def delete_document_action(
    document_id: int,
    request: Request,
    web: WebDep,
    session: SessionDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    try:
        service.delete_document(
            session=session,
            store=runtime.writer_store(),
            document_id=document_id,
            settings=settings,
        )
    except APIError as exc:
        return web.render(request, "_knowledge_flash.html", {"ok": False, "message": exc.message})
    response = web.render(
        request, "_knowledge_flash.html", {"ok": True, "message": "knowledge.flash.deleted"}
    )
    response.headers["HX-Trigger"] = "documents-changed"
    return response


@router.get("/ui/partials/knowledge/search", response_class=HTMLResponse)
def search_partial(
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: RuntimeDep,
    _p: CurrentPrincipal,
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
                raise APIError(422, f"mode must be one of {', '.join(SEARCH_MODES)}")
            hits = runtime.search(
                session=session,
                query=q,
                k=k,
                mode=mode,  # type: ignore[arg-type]
                collection=collection or None,
            )
            analyzers = {c.analyzer for c in service.list_collections(session=session)}
            terms = retrieval.query_terms(q, sorted(analyzers) or ["kiwi"])
            terms += [w for w in q.split() if len(w) > 1]
        except APIError as exc:
            error = exc.message
    results = [(hit, highlight(hit.text, terms)) for hit in hits]
    return web.render(
        request,
        "_knowledge_results.html",
        {"results": results, "error": error, "query": q.strip()},
    )
