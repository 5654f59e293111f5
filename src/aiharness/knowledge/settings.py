"""The ``knowledge`` settings section: embedder, chunking defaults, search, ingestion limits."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiharness.config import Section
from aiharness.knowledge.embedders.settings import EmbedderSettings

# The sample manuals and procedures that ship inside the package (the `demo` collection).
PACKAGED_DEMO_DOCS = Path(__file__).resolve().parent / "sample_docs"


class ChunkingDefaults(BaseModel):
    """How new collections cut documents unless they say otherwise."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(
        400, ge=16, le=507, description="Default token budget of a chunk for new collections."
    )
    overlap: float = Field(
        0.15, ge=0, le=0.5, description="Default share of a chunk repeated in the next one."
    )


class SearchSettings(BaseModel):
    """How hybrid search fuses the keyword and vector rankings."""

    model_config = ConfigDict(extra="forbid")

    # Defaults chosen by benchmarks/bench_retrieval_quality.py --tune (see docs/retrieval.md).
    fusion: Literal["rrf", "minmax", "zscore", "zscore-adaptive"] = Field(
        "zscore", description="How hybrid search fuses keyword and vector rankings."
    )
    keyword_weight: float | None = Field(
        None,
        ge=0,
        description="Fixed weight of the keyword ranking in hybrid search. Empty: chosen per "
        "query from its length (0.4 for short queries up to 0.9 for long questions).",
    )
    vector_weight: float | None = Field(
        None,
        ge=0,
        description="Fixed weight of the vector ranking in hybrid search. Empty: 1 minus the "
        "keyword weight.",
    )

    @field_validator("keyword_weight", "vector_weight", mode="before")
    @classmethod
    def _empty_weight_is_unset(cls, value: object) -> object:
        # AIHARNESS_KNOWLEDGE__SEARCH__KEYWORD_WEIGHT= (empty) means "not fixed".
        return None if isinstance(value, str) and not value.strip() else value


class KnowledgeSettings(Section):
    """The knowledge base: embedding model, chunking, search and ingestion."""

    key: ClassVar[str] = "knowledge"
    legacy_names: ClassVar[dict[str, str]] = {
        "embedder_kind": "embedder.kind",
        "embedder_model": "embedder.model",
        "embedder_base_url": "embedder.base_url",
        "embedder_api_key": "embedder.api_key",
        "embedder_timeout_s": "embedder.timeout_s",
        "embedder_batch_size": "embedder.batch_size",
        "embedder_dim": "embedder.dim",
        "embedder_num_threads": "embedder.num_threads",
        "chunk_max_tokens": "chunking.max_tokens",
        "chunk_overlap": "chunking.overlap",
        "search_fusion": "search.fusion",
        "search_keyword_weight": "search.keyword_weight",
        "search_vector_weight": "search.vector_weight",
        "knowledge_ingest_roots": "ingest_roots",
        "knowledge_max_upload_mb": "max_upload_mb",
        "knowledge_max_text_mb": "max_text_mb",
        "knowledge_max_pdf_mb": "max_pdf_mb",
        "knowledge_max_office_mb": "max_office_mb",
        "demo_docs_dir": "demo_docs_dir",
        "demo_ingest": "demo_ingest",
    }

    embedder: EmbedderSettings = Field(
        default_factory=EmbedderSettings, description="The embedding model."
    )
    chunking: ChunkingDefaults = Field(
        default_factory=ChunkingDefaults, description="Chunking defaults of new collections."
    )
    search: SearchSettings = Field(default_factory=SearchSettings, description="Hybrid search.")
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="Server folders `POST /api/ingest` may read. Empty: the data dir's "
        "`inbound/` and the demo documents folder.",
    )
    max_upload_mb: float = Field(
        200.0, gt=0, description="Largest file accepted by an upload, in MB."
    )
    max_text_mb: float = Field(
        20.0, gt=0, description="Largest text file (.txt, .md, .html, .csv, .json), in MB."
    )
    max_pdf_mb: float = Field(100.0, gt=0, description="Largest PDF file, in MB.")
    max_office_mb: float = Field(
        50.0, gt=0, description="Largest office file (.docx, .pptx, .xlsx, .hwpx), in MB."
    )
    demo_docs_dir: Path | None = Field(
        None,
        description="Folder ingested into the `demo` collection on a fresh data dir. "
        "Empty: the sample documents shipped in the package.",
    )
    demo_ingest: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Queue the demo ingest on a fresh data dir: `auto` does so when the "
        "embedded worker runs (`aiharness up`), `on` always, `off` never.",
    )

    @property
    def resolved_demo_docs_dir(self) -> Path:
        """The demo documents folder: the configured one or the packaged sample documents."""
        if self.demo_docs_dir is not None:
            return self.demo_docs_dir.expanduser()
        return PACKAGED_DEMO_DOCS

    def resolved_ingest_roots(self, data_dir: Path) -> list[Path]:
        """Folders server-side ingestion may read: configured, else inbound/ and the demo docs."""
        if self.ingest_roots:
            return [p.expanduser() for p in self.ingest_roots]
        return [data_dir / "inbound", self.resolved_demo_docs_dir]
