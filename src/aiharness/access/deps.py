"""The access runtime as a route dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aiharness.access.runtime import AccessRuntime
from aiharness.deps import provided

AccessDep = Annotated[AccessRuntime, Depends(provided(AccessRuntime))]
