"""Domain errors: what went wrong, in words a user can act on, and nothing about HTTP.

Services raise these; each surface maps them to its own shape (``aiharness.api_errors``: the
platform's JSON on ``/api``, an HTML page for browsers, OpenAI's shape on ``/v1``; the CLI
prints one line and exits non-zero). ``code`` is a stable machine-readable name.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a caller can act on; ``kind`` says which family it belongs to."""

    kind: ClassVar[str] = "invalid"
    default_code: ClassVar[str] = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details


class NotFound(DomainError):
    """The thing named does not exist."""

    kind = "not_found"
    default_code = "not_found"


class Conflict(DomainError):
    """The thing exists but its state does not allow the action (already there, busy)."""

    kind = "conflict"
    default_code = "conflict"


class Invalid(DomainError):
    """The request is understood but its content breaks a rule (the message says which)."""

    kind = "invalid"
    default_code = "invalid_request"


class TooLarge(DomainError):
    """The input is bigger than a configured limit."""

    kind = "too_large"
    default_code = "too_large"


class Unsupported(DomainError):
    """The input is of a kind the platform does not handle (a file type, a format)."""

    kind = "unsupported"
    default_code = "unsupported"


class Unauthenticated(DomainError):
    """The caller is unknown: no credentials, or a wrong, expired or revoked key or session."""

    kind = "unauthenticated"
    default_code = "unauthenticated"


class Forbidden(DomainError):
    """The caller may not do this."""

    kind = "forbidden"
    default_code = "forbidden"


class Unavailable(DomainError):
    """Something the action needs is down or busy; trying again later can work."""

    kind = "unavailable"
    default_code = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s


class RateLimited(DomainError):
    """The caller sent more requests than its rate limit allows; ``retry_after_s`` says when the
    window resets."""

    kind = "rate_limited"
    default_code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after_s: int = 1,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s
