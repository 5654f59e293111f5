"""The ``access`` settings section: when sign-in is required, sessions, cookies, lock-out."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from aiharness.config import Section


class AccessSettings(Section):
    """Who may call the platform."""

    key: ClassVar[str] = "access"

    mode: Literal["auto", "required", "open"] = Field(
        "auto",
        description=(
            "`auto`: open (no sign-in) when bound to a loopback address only, required "
            "otherwise; `required`: always sign in or send a key; `open`: never (refused on a "
            "non-loopback bind)."
        ),
    )
    session_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="Hours a web sign-in lasts before it expires."
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto",
        description=(
            "`Secure` flag of the session cookie: `auto` sets it when the request came over "
            "HTTPS (or `X-Forwarded-Proto: https` with `trust_proxy_headers`)."
        ),
    )
    trust_proxy_headers: bool = Field(
        False,
        description=(
            "Believe `X-Forwarded-Proto`/`X-Forwarded-For` from a reverse proxy (set it only "
            "behind one)."
        ),
    )
    lockout_attempts: int = Field(
        5, ge=1, le=1000, description="Failed sign-ins (per user name and address) before a lock."
    )
    lockout_window_s: int = Field(
        900, ge=1, description="Seconds in which failed sign-ins are counted."
    )
    lockout_s: int = Field(900, ge=1, description="Seconds a locked user name and address wait.")
    cache_s: float = Field(
        10.0,
        ge=0,
        le=300,
        description=(
            "Seconds a checked API key or session is remembered in-process; a revocation in "
            "another process takes effect within this time."
        ),
    )
    public_metrics: bool = Field(
        False, description="Serve `/metrics` to anyone (otherwise it needs `metrics:read`)."
    )
    min_password_length: int = Field(
        10, ge=8, le=128, description="Shortest password accepted for a user."
    )
