"""The pipelines runtime as a typed dependency for routers and pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aiharness.deps import provided
from aiharness.pipelines.runtime import PipelinesRuntime

PipelinesDep = Annotated[PipelinesRuntime, Depends(provided(PipelinesRuntime))]
