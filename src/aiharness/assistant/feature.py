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
    permissions={
        "assistant:ask": "Ask questions and keep chat sessions (answers cite only the "
        "caller's collections).",
        "assistant:feedback": "Rate one's own answers and send corrections (with "
        "assistant:answers, any answer).",
        "assistant:answers": "Read every answer record with its trace, and all feedback "
        "(operators).",
    },
    read_permission="assistant:ask",
    write_permission="assistant:ask",
    route_permissions={
        "POST /api/ask/*/feedback": "assistant:feedback",
        "/ask/feedback": "assistant:feedback",
        "/api/feedback": "assistant:answers",  # everyone's feedback with its answers
        "/api/answers": "assistant:answers",
        "/ask/answers": "assistant:answers",  # the trace page (web)
        "/ui/ask/dashboard": "assistant:answers",  # the dashboard card: recent answers
    },
)
