"""A platform with something on every page, shared by the browser tests that walk the whole UI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.site import seed
from tests.fixtures.servers import RunningPlatform, start_platform


@dataclass
class SeededPlatform:
    running: RunningPlatform
    document_id: int

    @property
    def base_url(self) -> str:
        return self.running.base_url


@pytest.fixture(scope="module")
def seeded_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededPlatform]:
    running = start_platform(tmp_path_factory.mktemp("seeded") / "data")
    try:
        yield SeededPlatform(running, seed(running.base_url))
    finally:
        running.stop()
