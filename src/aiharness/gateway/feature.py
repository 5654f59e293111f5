"""The ``gateway`` feature: an OpenAI-compatible endpoint in front of the team's LLM servers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.gateway.runtime import GatewayRuntime
    from aiharness.health.checks import DependencyCheck
    from aiharness.platform import BackgroundService, Platform


def _install(platform: Platform) -> GatewayRuntime:
    from aiharness.gateway.wiring import install_gateway

    return install_gateway(platform)


def _checks(platform: Platform) -> Sequence[DependencyCheck]:
    from aiharness.gateway.wiring import gateway_checks

    return gateway_checks(platform)


def _services(platform: Platform) -> Sequence[BackgroundService]:
    from aiharness.gateway.wiring import gateway_services

    return gateway_services(platform)


FEATURE = Feature(
    name="gateway",
    settings="aiharness.gateway.settings:GatewaySettings",
    models="aiharness.gateway.models",
    routers=("aiharness.gateway.router:router",),
    install=_install,
    checks=_checks,
    services=_services,
    permissions={
        "models:use": "Call the models through /v1 (chat, embeddings, model list).",
        "models:read": "See the model backends, their health and usage.",
        "models:manage": "Probe backends and reload the gateway configuration.",
    },
    read_permission="models:read",
    write_permission="models:manage",
    route_permissions={"/v1": "models:use"},
)
