"""The composition root's list: every installed feature, in the order they build and start.

The app factory, the Alembic environment (through ``build_platform``), the job registry, the web
navigation and the CLI iterate this list; a new feature adds one line here and nothing else
central. Importing this module is cheap: descriptions name their modules as strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiharness.access.feature import FEATURE as ACCESS
from aiharness.assistant.feature import FEATURE as ASSISTANT
from aiharness.audit.feature import FEATURE as AUDIT
from aiharness.events.feature import FEATURE as EVENTS
from aiharness.feature import Feature, settings_section
from aiharness.gateway.feature import FEATURE as GATEWAY
from aiharness.jobs.feature import FEATURE as JOBS
from aiharness.knowledge.feature import FEATURE as KNOWLEDGE
from aiharness.limits.feature import FEATURE as LIMITS
from aiharness.pipelines.feature import FEATURE as PIPELINES

if TYPE_CHECKING:
    from aiharness.config import Settings

FEATURES: tuple[Feature, ...] = (
    AUDIT,
    LIMITS,
    ACCESS,
    EVENTS,
    JOBS,
    KNOWLEDGE,
    GATEWAY,
    ASSISTANT,
    PIPELINES,
)


def settings_class(features: tuple[Feature, ...] = FEATURES) -> type[Settings]:
    """The settings tree of these features: the platform's settings plus their sections."""
    from aiharness.config import Settings

    sections = [settings_section(f) for f in features]
    return Settings.assemble([s for s in sections if s is not None])


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and the config file; any problem is one ``ConfigError``."""
    from aiharness import config

    return config.load_settings(settings_class(), **overrides)


def make_settings(**values: Any) -> Settings:
    """Settings from explicit values (tests, benchmarks), still reading the environment."""
    return settings_class()(**values)
