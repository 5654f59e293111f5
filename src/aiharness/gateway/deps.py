"""The gateway runtime as a typed dependency for routers and pages.

An ``async`` dependency on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
and a thread hop per request is a measurable share of the latency the gateway adds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aiharness.gateway.runtime import GatewayRuntime


async def get_gateway(request: Request) -> GatewayRuntime:
    return request.app.state.platform.get(GatewayRuntime)  # type: ignore[no-any-return]


GatewayDep = Annotated[GatewayRuntime, Depends(get_gateway)]
