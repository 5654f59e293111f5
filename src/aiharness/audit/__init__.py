"""The audit log: an append-only record of who changed what, written in the same transaction as
the change (``aiharness.audit.record``). A layer like ``jobs``: any feature may use it; it knows
none of them."""

from __future__ import annotations

from aiharness.audit.service import AuditResult, record, record_now

__all__ = ["AuditResult", "record", "record_now"]
