"""The assistant's runtime: the platform's knowledge and gateway runtimes, and its settings.

One per process (``platform.get(AssistantRuntime)``); the API, the CLI's in-process mode and
the benchmarks ask through it, so every caller retrieves, packs and generates the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiharness.assistant.settings import AssistantSettings
from aiharness.config import Settings
from aiharness.gateway.public import GatewayRuntime
from aiharness.knowledge.public import KnowledgeRuntime


@dataclass
class AssistantRuntime:
    settings: Settings
    section: AssistantSettings
    knowledge: KnowledgeRuntime
    gateway: GatewayRuntime | None
    # A unit of work for records written after a stream ends (not the request's session).
    unit_of_work: Callable[[], Any]

    def close(self) -> None:
        """Nothing of its own to release: the knowledge and gateway runtimes close themselves."""
