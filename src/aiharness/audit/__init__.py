"""The audit log: an append-only record of who changed what, written in the same transaction as
the change (``aiharness.audit.record``). A layer like ``jobs``: any feature may use it; it knows
none of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiharness.audit.service import AuditResult, record, record_now

__all__ = ["AuditResult", "record", "record_now"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the feature description (aiharness.audit.feature) is imported by
    # every CLI command, and the service brings SQLAlchemy with it.
    if name in __all__:
        from aiharness.audit import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
