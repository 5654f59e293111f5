"""The permission catalog (every installed feature's declarations) and the built-in roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiharness.feature import Feature

BUILTIN_ROLES = ("admin", "operator", "viewer")
# Besides reading, a viewer may ask the assistant and call the models: neither changes data.
VIEWER_EXTRA = frozenset({"assistant:ask", "models:use"})
ROLE_DESCRIPTIONS = {
    "admin": "Everything, including users, keys and the audit log.",
    "operator": "Everything but administration (admin:*).",
    "viewer": "Read everything (*:read), ask the assistant and use the models; change nothing.",
}


def catalog(features: Sequence[Feature]) -> dict[str, str]:
    """Every permission the installed features declare, with what it allows, sorted."""
    found: dict[str, str] = {}
    for feature in features:
        found.update(feature.permissions)
    return dict(sorted(found.items()))


def builtin_permissions(role: str, known: Mapping[str, str]) -> frozenset[str]:
    names = frozenset(known)
    if role == "admin":
        return names
    if role == "operator":
        return frozenset(p for p in names if not p.startswith("admin:"))
    if role == "viewer":
        return frozenset(p for p in names if p.endswith(":read") or p in VIEWER_EXTRA)
    raise KeyError(role)
