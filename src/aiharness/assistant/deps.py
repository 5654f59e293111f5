"""The assistant runtime as a typed dependency for routers and pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aiharness.assistant.runtime import AssistantRuntime
from aiharness.deps import provided

AssistantDep = Annotated[AssistantRuntime, Depends(provided(AssistantRuntime))]
