"""The ``assistant`` feature: grounded answers with citations, chat sessions and feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.assistant.runtime import AssistantRuntime
    from aiharness.platform import Platform


def _install(platform: Platform) -> AssistantRuntime:
    from aiharness.assistant.runtime import AssistantRuntime
    from aiharness.assistant.settings import AssistantSettings
    from aiharness.gateway.public import GatewayRuntime
    from aiharness.knowledge.public import KnowledgeRuntime
    from aiharness.platform import MissingRuntimeError

    try:
        gateway: GatewayRuntime | None = platform.get(GatewayRuntime)
    except MissingRuntimeError:  # a platform without the gateway answers extractively
        gateway = None
    return AssistantRuntime(
        settings=platform.settings,
        section=AssistantSettings.of(platform.settings),
        knowledge=platform.get(KnowledgeRuntime),
        gateway=gateway,
        unit_of_work=platform.unit_of_work,
    )


FEATURE = Feature(
    name="assistant",
    settings="aiharness.assistant.settings:AssistantSettings",
    models="aiharness.assistant.models",
    routers=("aiharness.assistant.router:router",),
    alias_routers=("aiharness.assistant.router:alias_router",),
    install=_install,
)
