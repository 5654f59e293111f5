"""The pipelines runtime: settings, folders and the pipeline registry of one process."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from aiharness.config import Settings
from aiharness.pipelines.settings import PipelinesSettings

if TYPE_CHECKING:
    from aiharness.pipelines.registry import PipelineRegistry


class PipelinesRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.section = PipelinesSettings.of(settings)

    @cached_property
    def registry(self) -> PipelineRegistry:
        # Built on first use: processes that never run a pipeline import neither user code nor
        # pandas and scikit-learn (seconds of start-up on a busy 2-core machine).
        from aiharness.pipelines.registry import PipelineRegistry

        return PipelineRegistry(self.section.resolved_user_dir(self.settings))

    @property
    def root(self) -> Path:
        return self.settings.data_dir / "pipelines"

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    @property
    def inbound_dir(self) -> Path:
        return self.section.resolved_inbound(self.settings)
