"""API shapes of the knowledge base: collections, documents, ingestion and search results."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SearchMode = Literal["keyword", "vector", "hybrid"]
SEARCH_MODES: tuple[str, ...] = ("keyword", "vector", "hybrid")
DocumentStatus = Literal["queued", "parsing", "embedding", "ready", "failed"]
IN_PROGRESS: frozenset[str] = frozenset({"queued", "parsing", "embedding"})
# Letters (any script), digits, and - _ . inside; no spaces or slashes (names appear in URLs).
NAME_PATTERN = re.compile(r"^[^\W_][\w.-]{0,127}$")


class ChunkingSettings(BaseModel):
    """How a collection's documents are cut: a token budget and the overlapping share."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(400, ge=16, le=507, description="Token budget of one chunk.")
    overlap: float = Field(0.15, ge=0, le=0.5, description="Share repeated in the next chunk.")


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=128,
        description="Unique; used in URLs. Letters of any script, digits, '-', '_' or '.', "
        "starting with a letter or digit; no spaces or slashes.",
    )
    description: str = Field("", max_length=2000)
    chunking: ChunkingSettings | None = Field(
        None, description="Empty: the platform defaults (`AIHARNESS_KNOWLEDGE__CHUNKING__*`)."
    )
    analyzer: Literal["kiwi", "whitespace"] = Field(
        "kiwi", description="Keyword analyzer: Korean morphemes (`kiwi`) or `whitespace`."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "use letters, digits, '-', '_' or '.', starting with a letter or digit"
            )
        return value


class DocumentCounts(BaseModel):
    total: int = 0
    queued: int = 0
    parsing: int = 0
    embedding: int = 0
    ready: int = 0
    failed: int = 0


class ReembedState(BaseModel):
    """An unfinished re-embed of a collection (the ``knowledge.reembed`` job)."""

    job_id: str
    status: str = Field(description="queued, running or retrying.")
    target_model: str | None = Field(
        description="The model the collection moves to (empty: the workers' configured one)."
    )
    target_dim: int | None
    done: int = Field(description="Passages embedded so far.")
    total: int | None
    percent: float | None


class CollectionPublic(BaseModel):
    id: int
    name: str
    description: str
    embedding_model: str
    embedding_dim: int
    chunking: dict[str, Any]
    analyzer: str
    documents: DocumentCounts
    chunks: int
    created_at: datetime
    updated_at: datetime
    reembed: ReembedState | None = Field(
        None,
        description="The re-embed in progress; the vectors (and `embedding_model`) change "
        "all at once when it finishes.",
    )


class ReembedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = Field(
        False, description="Re-embed even if the collection already uses the configured model."
    )


class ReembedResponse(BaseModel):
    collection: str
    job_id: str = Field(description="The knowledge.reembed job; follow it at /api/jobs/{id}.")
    from_model: str
    from_dim: int
    to_model: str
    to_dim: int


class DocumentPublic(BaseModel):
    id: int
    collection: str
    collection_id: int
    source_kind: str
    source_path: str
    file_name: str
    mime_type: str
    size_bytes: int
    content_hash: str
    status: DocumentStatus
    error: str | None
    page_count: int | None
    chunk_count: int
    job_id: str | None = Field(None, description="The ingest job that handles it last.")
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None


class DocumentPage(BaseModel):
    items: list[DocumentPublic]
    total: int
    limit: int
    offset: int


IngestOutcome = Literal["queued", "unchanged", "duplicate", "rejected"]


class IngestedDocument(BaseModel):
    """What happened to one submitted file: queued for a job, deduplicated or rejected."""

    document_id: int | None
    file_name: str
    outcome: IngestOutcome
    status: DocumentStatus | None
    error: str | None = None
    duplicate_of: int | None = Field(None, description="The document with the same content.")
    duplicate_of_name: str | None = Field(
        None, description="File name of the document with the same content."
    )
    reason: Literal["too_large", "invalid", "unsupported"] | None = Field(
        None, description="Why a rejected file was refused at the door."
    )


class IngestProgress(BaseModel):
    """Where the documents of one collection stand (or those with ids in a range): one request
    answers for any number of files, so a client following an ingest polls only this."""

    collection: str
    documents: int = Field(description="Documents counted (in the id range, if one was given).")
    queued: int
    processing: int = Field(description="Being parsed or embedded.")
    ready: int
    failed: int
    chunks: int = Field(description="Chunks of the ready documents.")


class IngestResponse(BaseModel):
    collection: str
    job_ids: list[str]
    documents: list[IngestedDocument]
    skipped: list[str] = Field(
        default_factory=list, description="Files in a folder left out, with the reason."
    )


class IngestPathRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1,
        max_length=4096,
        pattern=r"^[^\x00]*$",
        description="A file or folder on the server (no NUL characters).",
    )
    collection: str = Field(min_length=1, max_length=128)
    recursive: bool = Field(True, description="Include files in sub-folders.")
    create_collection: bool = Field(True, description="Create the collection if it is missing.")


class SearchHit(BaseModel):
    """One ranked passage (the predecessor's shape plus heading, file name and position)."""

    chunk_id: int
    document_id: int
    source_path: str
    file_name: str
    page: int | None
    heading: str | None
    chunk_index: int
    score: float
    text: str
    collection: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    token_count: int = Field(0, description="Tokens of the passage (for context packing).")
