"""API shapes of the assistant: ask, answers with their trace, chat sessions, feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from aiharness.assistant.passages import Passage

# The longest question the API accepts (the settings may lower it, never raise it).
MAX_QUESTION_CHARS = 8000
Rating = Literal["up", "down"]
Generator = Literal["llm", "extractive"]
# Ids of sessions and answers: uuid4 hex (32 characters); other strings are a 404, not a 500.
IdStr = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CollectionName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# Text no database can store (NUL) is refused up front.
_STORABLE = r"^[^\x00]*$"


def _question(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("the question is empty")
    if len(value) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"the question has {len(value)} characters; at most {MAX_QUESTION_CHARS} are accepted"
        )
    if "\x00" in value:
        raise ValueError("the question contains a NUL character")
    return value


class AskRequest(BaseModel):
    """A question; ``collections`` empty or absent searches every collection."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS * 2,
        description=f"The question (1 to {MAX_QUESTION_CHARS} characters after trimming).",
    )
    collections: list[CollectionName] | None = Field(
        None, max_length=50, description="Collections to search; empty: all of them."
    )
    k: int | None = Field(None, ge=1, le=20, description="Passages to retrieve (default 5).")
    stream: bool = Field(False, description="Answer as server-sent events.")
    session_id: IdStr | None = Field(None, description="Chat session the turn belongs to.")
    model: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        None, description="Gateway model (alias) to answer with; default from the settings."
    )

    @field_validator("question")
    @classmethod
    def _check_question(cls, value: str) -> str:
        return _question(value)


class LegacyAskRequest(BaseModel):
    """The predecessor's ``POST /ask`` body."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS * 2)
    k: int | None = Field(None, ge=1, le=20)

    @field_validator("question")
    @classmethod
    def _check_question(cls, value: str) -> str:
        return _question(value)


class Source(BaseModel):
    """A passage as the reader sees it; ``n`` is its marker number in the answer."""

    n: int
    chunk_id: int
    document_id: int
    source_path: str
    file_name: str
    page: int | None
    heading: str | None
    score: float
    text: str
    collection: str

    @classmethod
    def of(cls, passage: Passage) -> Source:
        return cls(
            n=passage.n,
            chunk_id=passage.chunk_id,
            document_id=passage.document_id,
            source_path=passage.source_path,
            file_name=passage.file_name,
            page=passage.page,
            heading=passage.heading,
            score=round(passage.score, 6),
            text=passage.text,
            collection=passage.collection,
        )


class AskMeta(BaseModel):
    answer_id: str
    generator: Generator
    refused: bool
    model: str | None
    backend: str | None
    retrieval_mode: str
    language: Literal["ko", "en"]
    latency_ms: float
    ttft_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    fallback_reason: str | None = Field(
        None, description="Why an LLM was not used although one may be configured."
    )
    session_id: str | None


class AskResponse(BaseModel):
    """An answer with the sources it cites (``maybe_related`` only when it refused)."""

    answer: str
    sources: list[Source]
    maybe_related: list[Source] = Field(default_factory=list)
    meta: AskMeta


class RetrievedChunk(BaseModel):
    chunk_id: int
    score: float
    n: int | None = Field(description="Its passage number, or null when packing dropped it.")


class Timings(BaseModel):
    retrieval_ms: float
    generation_ms: float
    total_ms: float
    ttft_ms: float | None


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rating: Rating
    comment: str | None = Field(None, max_length=4000, pattern=_STORABLE)
    corrected_answer: str | None = Field(None, max_length=20000, pattern=_STORABLE)


class LegacyFeedbackCreate(FeedbackCreate):
    answer_id: IdStr


class FeedbackPublic(BaseModel):
    id: int
    answer_id: str
    rating: Rating
    comment: str | None
    corrected_answer: str | None
    created_at: datetime


class FeedbackItem(FeedbackPublic):
    """Feedback with the answer it is about."""

    question: str
    answer: str
    generator: str
    model: str | None


class FeedbackPage(BaseModel):
    items: list[FeedbackItem]
    total: int


class AnswerSummary(BaseModel):
    answer_id: str
    question: str
    answer: str
    generator: str
    refused: bool
    model: str | None
    session_id: str | None
    total_ms: float
    created_at: datetime
    ratings: dict[str, int] = Field(description="Feedback counts by rating.")


class AnswerPage(BaseModel):
    items: list[AnswerSummary]
    total: int


class AnswerTrace(BaseModel):
    """Everything about one answer, for operators."""

    answer_id: str
    question: str
    search_query: str
    language: str
    collections: list[str] | None
    answer: str
    generator: str
    model: str | None
    backend: str | None
    refused: bool
    fallback_reason: str | None
    retrieval_mode: str
    prompt: list[dict[str, Any]] | None = Field(
        description="The messages sent to the model; null for extractive answers."
    )
    retrieved: list[RetrievedChunk]
    passages: list[Source] = Field(description="Every passage the generator was given.")
    sources: list[Source] = Field(description="The passages the answer cites.")
    maybe_related: list[Source]
    prompt_tokens: int | None
    completion_tokens: int | None
    timings: Timings
    session_id: str | None
    created_at: datetime
    feedback: list[FeedbackPublic]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(None, max_length=200, pattern=_STORABLE)


class SessionUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = Field(max_length=200, pattern=_STORABLE)


class SessionPublic(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int


class SessionPage(BaseModel):
    items: list[SessionPublic]
    total: int


class MessagePublic(BaseModel):
    id: int
    role: Literal["user", "assistant"]
    content: str
    sources: list[Source]
    answer_id: str | None
    created_at: datetime


class SessionDetail(SessionPublic):
    messages: list[MessagePublic]
