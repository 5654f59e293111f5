"""The ``limits`` settings section: rate limits per caller and request body sizes."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from aiharness.config import Section

MB = 1024 * 1024


class LimitsSettings(Section):
    """Rate limits and request size limits."""

    key: ClassVar[str] = "limits"

    api_per_minute: int = Field(
        1200,
        ge=0,
        description="Requests per minute to `/api` and the pages, per API key or user "
        "(per client address when nobody is signed in). 0: no limit.",
    )
    v1_per_minute: int = Field(
        1200,
        ge=0,
        description="Requests per minute to the OpenAI-compatible `/v1`, per key or user. "
        "0: no limit.",
    )
    login_per_minute: int = Field(
        20,
        ge=0,
        description="Sign-in attempts per minute per client address. 0: no limit.",
    )
    storage_url: str | None = Field(
        None,
        description="Where the counters live. Empty: the job queue's Redis or PostgreSQL "
        "(shared by every API process), else memory of this process. `memory`, "
        "`redis://...` or `postgresql://...` choose explicitly.",
    )
    max_body_mb: float = Field(
        16.0,
        gt=0,
        description="Largest request body other than a file upload (JSON, forms), in MB.",
    )
    max_upload_request_mb: float = Field(
        1024.0,
        gt=0,
        description="Largest multipart upload request (all its files together), in MB; each "
        "file also has its feature's own limit.",
    )

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MB)

    @property
    def max_upload_request_bytes(self) -> int:
        return int(self.max_upload_request_mb * MB)
