"""The ``access`` feature: users, roles, API keys, web sign-in; it installs the platform's
principal resolver, so every feature's declared permissions are enforced."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiharness.feature import AUTHENTICATED, PUBLIC, Feature

if TYPE_CHECKING:
    from aiharness.access.runtime import AccessRuntime
    from aiharness.platform import Platform


def _install(platform: Platform) -> AccessRuntime:
    from aiharness.access.permissions import catalog
    from aiharness.access.runtime import AccessRuntime
    from aiharness.access.settings import AccessSettings
    from aiharness.observability.logging import get_logger

    runtime = AccessRuntime(
        settings=platform.settings,
        section=AccessSettings.of(platform.settings),
        session_factory=platform.session_factory,
        permissions=catalog(platform.features),
    )
    platform.use_principal_resolver(runtime)
    if platform.role == "api":
        log = get_logger("aiharness.access")
        if runtime.open:
            log.warning(
                "access is OPEN: no sign-in needed (bound to loopback only); set "
                "AIHARNESS_ACCESS__MODE=required to require one",
                host=platform.settings.host,
            )
        else:
            log.info("access: sign-in or an API key is required", host=platform.settings.host)
    return runtime


FEATURE = Feature(
    name="access",
    settings="aiharness.access.settings:AccessSettings",
    models="aiharness.access.models",
    routers=("aiharness.access.router:router",),
    install=_install,
    permissions={
        "admin:users": "Create and change users, roles and API keys.",
        "metrics:read": "Read the Prometheus metrics (/metrics).",
    },
    read_permission="admin:users",
    write_permission="admin:users",
    route_permissions={
        "/login": PUBLIC,
        "/first-run": PUBLIC,
        "/logout": AUTHENTICATED,
        "/account": AUTHENTICATED,
        "/api/auth": AUTHENTICATED,
    },
)
