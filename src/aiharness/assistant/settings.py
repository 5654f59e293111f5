"""The ``assistant`` settings section: retrieval depth, context budget, generation and refusal."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from aiharness.config import Section


class AssistantSettings(Section):
    """Grounded answers: how many passages, how much context, which model, when to refuse."""

    key: ClassVar[str] = "assistant"

    k: int = Field(5, ge=1, le=20, description="Passages retrieved per question by default.")
    context_tokens: int = Field(
        3000,
        ge=256,
        description="Most tokens of passages put into a prompt; the model's context length "
        "(when the gateway knows it) lowers it further.",
    )
    max_answer_tokens: int = Field(
        512, ge=16, le=8192, description="Most tokens the model may write for one answer."
    )
    alias: str = Field(
        "chat",
        description="Gateway model that writes answers: `chat`, `auto` (chat or code by the "
        "question) or any alias or backend name.",
    )
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature of answers.")
    duplicate_overlap: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Share of shared words above which two passages of one document count as "
        "the same text (the later one is dropped when packing).",
    )
    max_question_chars: int = Field(
        8000, ge=100, le=8000, description="Longest question accepted, in characters."
    )
    rewrite_with_llm: bool = Field(
        True,
        description="Rewrite follow-up questions of a chat session with the model when one is "
        "configured (else a heuristic carries the previous subject).",
    )
    history_turns: int = Field(
        3, ge=0, le=20, description="Earlier turns of a chat session shown to the rewriter."
    )
