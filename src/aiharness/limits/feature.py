"""The ``limits`` feature: rate limits per caller and request body size limits, applied by the
app factory to every mounted route (``aiharness.limits.wiring.install_request_limits``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.limits.throttle import RateLimiter
    from aiharness.platform import Platform


def _install(platform: Platform) -> RateLimiter | None:
    from aiharness.limits.wiring import build_rate_limiter

    return build_rate_limiter(platform) if platform.role == "api" else None


FEATURE = Feature(
    name="limits",
    settings="aiharness.limits.settings:LimitsSettings",
    install=_install,
)
