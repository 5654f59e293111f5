"""The ``knowledge`` feature: ingestion and Korean-aware hybrid search over collections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.health.checks import DependencyCheck
    from aiharness.knowledge.runtime import KnowledgeRuntime
    from aiharness.platform import BackgroundService, Platform


def _install(platform: Platform) -> KnowledgeRuntime:
    from aiharness.knowledge.runtime import KnowledgeRuntime

    return KnowledgeRuntime(settings=platform.settings, engine=platform.engine)


def _checks(platform: Platform) -> Sequence[DependencyCheck]:
    from aiharness.knowledge.wiring import knowledge_checks

    return knowledge_checks(platform)


def _services(platform: Platform) -> Sequence[BackgroundService]:
    from aiharness.knowledge.wiring import knowledge_services

    return knowledge_services(platform)


FEATURE = Feature(
    name="knowledge",
    settings="aiharness.knowledge.settings:KnowledgeSettings",
    models="aiharness.knowledge.models",
    jobs=("aiharness.knowledge.ingest", "aiharness.knowledge.reembed"),
    routers=("aiharness.knowledge.router:router",),
    alias_routers=("aiharness.knowledge.router:alias_router",),
    install=_install,
    checks=_checks,
    services=_services,
    permissions={
        "knowledge:read": "Search, list and read collections and documents (in the caller's "
        "collections).",
        "knowledge:write": "Create and delete collections, upload, ingest, delete and re-embed "
        "documents.",
    },
    read_permission="knowledge:read",
    write_permission="knowledge:write",
)
