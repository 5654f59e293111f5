"""Records the API process's start and stop as platform events."""

from __future__ import annotations

import os

from aiharness import __version__
from aiharness.events.schemas import EventCreate
from aiharness.events.service import record_event
from aiharness.platform import Platform


class StartStopRecorder:
    """A background service: started first, so it records ``platform.started`` before the other
    services start, and stopped last, so ``platform.stopped`` comes after they have stopped."""

    name = "events"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def _record(self, kind: str, message: str, details: dict[str, object] | None = None) -> None:
        with self.platform.unit_of_work() as session:
            record_event(
                session=session,
                event_in=EventCreate(kind=kind, message=message, details=details or {}),
            )

    def start(self) -> None:
        services = [s.name for s in self.platform.services if s is not self]
        self._record(
            "platform.started",
            f"aiharness {__version__} started",
            {"pid": os.getpid(), "services": services},
        )

    def stop(self) -> None:
        self._record("platform.stopped", "aiharness stopped")
