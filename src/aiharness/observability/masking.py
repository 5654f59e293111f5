"""Mask personal data and secrets before anything reaches a log line.

Covers e-mail addresses, phone numbers (Korean and international formats), Korean resident
registration numbers, bearer tokens and API keys, passwords inside URLs and ``key=value`` text,
and whole values of fields whose names look like secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

MASK = "[REDACTED]"

SECRET_FIELD = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|authorization|"
    r"cookie|credential|private[_-]?key|session[_-]?key)"
)

# Order matters: the more specific patterns run first.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Bearer / Basic credentials in headers or text.
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    # Well-known key shapes: OpenAI-style, GitHub, AWS access keys, our own keys, JWTs.
    (re.compile(r"\b(sk|pk|rk|aih)[-_][A-Za-z0-9_-]{12,}"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MASK),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
    # Passwords inside URLs: scheme://user:password@host
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+):[^@/\s]+@", re.IGNORECASE),
        r"\1:" + MASK + "@",
    ),
    # key=value or key: value where the key names a secret.
    (
        re.compile(
            r"(?i)\b((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey)\s*[=:]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "[EMAIL]"),
    # Korean resident registration number: YYMMDD-GNNNNNN with a plausible date and gender digit.
    (
        re.compile(
            r"(?<![0-9A-Za-z])\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r"\s?-?\s?[1-8]\d{6}(?![0-9A-Za-z])"
        ),
        "[RRN]",
    ),
    # Korean phones: mobile 010-1234-5678, Seoul 02-123-4567, regional 031-..., 070, +82 forms.
    (
        re.compile(
            r"(?<![0-9A-Za-z+])(?:\+82[-.\s]?|0)(?:1[016789]|2|[3-6][1-5]|70|50\d)"
            r"[-.\s)]?\d{3,4}[-.\s]?\d{4}(?![0-9A-Za-z])"
        ),
        "[PHONE]",
    ),
    # Other international numbers written with a leading +country code.
    (
        re.compile(r"(?<![\w+])\+\d{1,3}[-.\s]?\(?\d{1,4}\)?(?:[-.\s]?\d{2,4}){2,3}(?!\d)"),
        "[PHONE]",
    ),
)


def mask_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_value(value: Any, key: str | None = None) -> Any:
    """Mask a log value; whole values under secret-looking keys are replaced."""
    if key is not None and SECRET_FIELD.search(key) and value not in (None, "", False):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(v) for v in value)
    return value


# Keys whose values the platform itself generates; masking them could only corrupt them.
STRUCTURAL_KEYS = frozenset({"request_id", "timestamp", "level", "logger", "route", "method"})


def mask_event_dict(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """structlog processor: mask every value of the event, keys kept."""
    return {
        key: value if key in STRUCTURAL_KEYS else mask_value(value, key)
        for key, value in event_dict.items()
    }
