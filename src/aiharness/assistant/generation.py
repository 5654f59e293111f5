"""Prompts and the LLM path: Korean or English templates chosen by the question's language,
numbered passages in the user message, generation through the gateway's routing.

The system prompt restricts the model to the passages, asks for ``[n]`` after each claim and
gives it the exact sentence to reply with when the passages do not answer: the same sentence
the assistant uses when it refuses before generating, so a refusal reads the same either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from aiharness.assistant.passages import Language, Passage
from aiharness.gateway.public import ChatDelta, GatewayRuntime, chat, stream_chat

SYSTEM = {
    "en": (
        "You answer questions for an industrial team using ONLY the numbered passages the user "
        "gives you.\n"
        "Rules:\n"
        "1. Use only facts the passages state. Never add outside knowledge or guesses.\n"
        "2. End every sentence that uses a passage with its number in square brackets, such as "
        "[1] or [1][3]. Cite only the numbers of the given passages.\n"
        "3. If the passages do not contain the answer, reply with exactly this sentence and "
        'nothing else: "{not_found}"\n'
        "4. Answer in English, in one to four short sentences; keep numbers, units and part "
        "names exactly as the passages write them."
    ),
    "ko": (
        "당신은 산업 현장 팀의 질문에 답하는 도우미입니다. 사용자가 준 번호 붙은 문서 구절만 "
        "근거로 답하세요.\n"
        "규칙:\n"
        "1. 구절에 적힌 사실만 쓰고, 외부 지식이나 추측을 덧붙이지 마세요.\n"
        "2. 구절을 근거로 쓴 문장마다 끝에 대괄호 번호를 붙이세요. 예: [1] 또는 [1][3]. "
        "주어진 구절의 번호만 쓰세요.\n"
        "3. 구절에 답이 없으면 다른 말 없이 정확히 다음 문장으로만 답하세요: "
        '"{not_found}"\n'
        "4. 한국어로 한두 문장에서 네 문장 이내로 간결하게 답하고, 숫자·단위·부품명은 구절에 "
        "적힌 그대로 쓰세요."
    ),
}
PASSAGES_HEADING = {"en": "Passages:", "ko": "문서 구절:"}
QUESTION_HEADING = {"en": "Question:", "ko": "질문:"}

REWRITE_SYSTEM = {
    "en": (
        "Rewrite the user's last question as one standalone search query that can be "
        "understood without the conversation (replace pronouns with what they refer to). "
        "Reply with the query only, in the question's language."
    ),
    "ko": (
        "대화 없이도 이해할 수 있도록 사용자의 마지막 질문을 하나의 독립된 검색 질의로 바꾸세요 "
        "(대명사는 가리키는 대상으로 바꾸세요). 질문과 같은 언어로 질의만 답하세요."
    ),
}


def messages_for(
    question: str, passages: Sequence[Passage], language: Language, not_found: str
) -> list[dict[str, str]]:
    """The chat messages for one grounded answer."""
    blocks = [f"[{p.n}] {p.label}\n{p.text.strip()}" for p in passages]
    user = (
        f"{PASSAGES_HEADING[language]}\n\n"
        + "\n\n".join(blocks)
        + f"\n\n{QUESTION_HEADING[language]} {question}"
    )
    return [
        {"role": "system", "content": SYSTEM[language].format(not_found=not_found)},
        {"role": "user", "content": user},
    ]


def rewrite_messages(
    question: str, history: Sequence[tuple[str, str]], language: Language
) -> list[dict[str, str]]:
    """Messages asking the model for a standalone version of a follow-up question."""
    lines = [f"{role}: {content[:500]}" for role, content in history]
    return [
        {"role": "system", "content": REWRITE_SYSTEM[language]},
        {"role": "user", "content": "\n".join(lines) + f"\nuser: {question}"},
    ]


# Prompt tokens besides the passages: system prompt, headings, question (a safe estimate).
PROMPT_OVERHEAD_TOKENS = 400


async def rewrite(
    gateway: GatewayRuntime,
    question: str,
    history: Sequence[tuple[str, str]],
    language: Language,
    *,
    alias: str,
    caller: str | None,
) -> str:
    """The model's standalone version of a follow-up (domain errors pass through)."""
    answer = await chat(
        gateway,
        rewrite_messages(question, history, language),
        alias=alias,
        caller=caller,
        max_tokens=96,
        temperature=0.0,
    )
    return answer.text.strip().strip('"').strip()


def stream(
    gateway: GatewayRuntime,
    messages: Sequence[dict[str, str]],
    *,
    alias: str,
    max_tokens: int,
    temperature: float,
    caller: str | None,
) -> AsyncIterator[ChatDelta]:
    """The answer's pieces as the gateway streams them (continued on another backend if one
    breaks mid-answer)."""
    return stream_chat(
        gateway,
        messages,
        alias=alias,
        caller=caller,
        max_tokens=max_tokens,
        temperature=temperature,
    )
