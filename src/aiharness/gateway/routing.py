"""Which backends serve a request: aliases -> ordered backends, and ``auto`` -> chat or code.

``auto`` looks at the last user message with cheap rules (code fences, programming words and
languages, stack traces, file names; Korean and English): a few precompiled regular
expressions over at most the last 4,000 characters, so the choice costs microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiharness.gateway.settings import AUTO, GatewaySettings

CHAT = "chat"
CODE = "code"
EMBEDDINGS = "embeddings"
_SCAN_CHARS = 4000

# Strong signals: any one of them means code.
_STRONG = re.compile(
    r"```"
    r"|Traceback \(most recent call last\)"
    r"|^\s*at [\w.$]+\([\w.]+:\d+\)"  # Java/JS stack frame
    r"|\b\w+(Error|Exception):\s"
    r"|^\s*(def|class|import|from \S+ import|#include|package|fn|func|public class)\b"
    r"|\b[\w-]+\.(py|js|ts|tsx|jsx|java|kt|go|rs|c|cc|cpp|h|hpp|cs|rb|php|sh|sql|yaml|yml|"
    r"toml|json|ipynb|vue|swift|scala|lua|m|r|pl|ps1|bat|dockerfile|gradle)\b"
    r"|\bnpm |\bpip install\b|\bgit (commit|push|merge|rebase|clone)\b"
    r"|[{};]\s*$",
    re.MULTILINE | re.IGNORECASE,
)
# Weaker signals: two or more mean code.
_WORDS = re.compile(
    r"\b(python|javascript|typescript|java|kotlin|golang|rust|c\+\+|c#|sql|bash|shell|regex|"
    r"function|method|variable|compile[rd]?|debug|bug|refactor|unit test|api|endpoint|json|"
    r"yaml|docker|kubernetes|stack trace|null pointer|segfault|lambda|async|await|loop|array|"
    r"dataframe|pandas|numpy|script|code|syntax|library|import|class|struct|enum|git)\b"
    r"|코드|함수|변수|컴파일|디버그|디버깅|버그|리팩터링|리팩토링|스크립트|프로그램|프로그래밍|"
    r"파이썬|자바스크립트|타입스크립트|자바|러스트|쿼리|정규식|정규표현식|에러|오류 메시지|"
    r"예외|배열|클래스|메서드|메소드|라이브러리|컨테이너|도커|깃|커밋",
    re.IGNORECASE,
)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and "text" in p
        )
    return ""


def looks_like_code(messages: Sequence[Mapping[str, Any]]) -> bool:
    """True when the last user message (or the system prompt) asks about code."""
    text = ""
    for message in reversed(messages):
        if message.get("role") == "user":
            text = _text_of(message.get("content"))
            break
    system = next((m for m in messages if m.get("role") == "system"), None)
    if system is not None:
        text = _text_of(system.get("content"))[-500:] + "\n" + text
    text = text[-_SCAN_CHARS:]
    if _STRONG.search(text):
        return True
    return any(hits >= 2 for hits, _ in enumerate(_WORDS.finditer(text), start=1))


def choose_alias(model: str, messages: Sequence[Mapping[str, Any]]) -> str:
    """The alias a request is for: itself, or ``code``/``chat`` for ``auto``."""
    if model != AUTO:
        return model
    return CODE if looks_like_code(messages) else CHAT


def alias_table(section: GatewaySettings) -> dict[str, list[str]]:
    """Every public name -> ordered backend names.

    Configured aliases win; ``chat``, ``code`` and ``embeddings`` default to the backends with
    that capability by priority (``code`` falls back to ``chat``'s); each backend is also
    reachable by its own name and by its served model name.
    """
    backends = sorted(section.all_backends(), key=lambda b: (b.priority, b.name))
    table: dict[str, list[str]] = {}
    for capability in (CHAT, CODE, EMBEDDINGS):
        members = [b.name for b in backends if capability in b.capabilities]
        if members:
            table[capability] = members
    if CODE not in table and CHAT in table:
        table[CODE] = list(table[CHAT])
    if CHAT not in table and CODE in table:
        table[CHAT] = list(table[CODE])
    for backend in backends:
        table.setdefault(backend.model, [backend.name])
        table[backend.name] = [backend.name]
    table.update({alias: list(members) for alias, members in section.aliases.items()})
    return table
