"""The ``pipelines`` feature: datasets, runs of steps on the job system, the inbound watcher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.pipelines.runtime import PipelinesRuntime
    from aiharness.platform import BackgroundService, Platform


def _install(platform: Platform) -> PipelinesRuntime:
    from aiharness.pipelines.runtime import PipelinesRuntime

    return PipelinesRuntime(platform.settings)


def _services(platform: Platform) -> Sequence[BackgroundService]:
    # The watcher runs with the workers (the embedded worker child of `aiharness up` and
    # `aiharness worker`), never inside an API process.
    from aiharness.pipelines.settings import PipelinesSettings

    if platform.role != "worker" or not PipelinesSettings.of(platform.settings).watcher_enabled:
        return []
    from aiharness.pipelines.watcher import InboundWatcher

    return [InboundWatcher(platform)]


FEATURE = Feature(
    name="pipelines",
    settings="aiharness.pipelines.settings:PipelinesSettings",
    models="aiharness.pipelines.models",
    jobs=("aiharness.pipelines.runner",),
    routers=("aiharness.pipelines.router:router",),
    install=_install,
    services=_services,
    permissions={
        "pipelines:read": "See datasets, pipelines, runs, their logs and metrics.",
        "pipelines:run": "Register and delete datasets; start, cancel and rerun runs.",
    },
    read_permission="pipelines:read",
    write_permission="pipelines:run",
)
