"""The ``events`` feature: the platform's own activity record (starts, stops)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.platform import BackgroundService, Platform


def _services(platform: Platform) -> Sequence[BackgroundService]:
    from aiharness.events.recorder import StartStopRecorder

    return [StartStopRecorder(platform)] if platform.role == "api" else []


FEATURE = Feature(
    name="events",
    models="aiharness.events.models",
    routers=("aiharness.events.router:router",),
    services=_services,
    permissions={"events:read": "See the platform's events (starts, stops, notices)."},
    read_permission="events:read",
)
