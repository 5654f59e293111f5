"""The ``jobs`` feature: durable background jobs, workers and the queue they share.

Other features build on it (they submit jobs and write handlers); it knows none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.health.checks import DependencyCheck
    from aiharness.jobs.queue import QueueHub
    from aiharness.platform import BackgroundService, Platform


def _install(platform: Platform) -> QueueHub:
    from aiharness.jobs.wiring import install_jobs

    return install_jobs(platform)


def _checks(platform: Platform) -> Sequence[DependencyCheck]:
    from aiharness.jobs.wiring import jobs_checks

    return jobs_checks(platform)


def _services(platform: Platform) -> Sequence[BackgroundService]:
    from aiharness.jobs.wiring import jobs_services

    return jobs_services(platform)


FEATURE = Feature(
    name="jobs",
    settings="aiharness.jobs.settings:JobsSettings",
    models="aiharness.jobs.models",
    jobs=("aiharness.jobs.builtin",),
    routers=("aiharness.jobs.router:router",),
    install=_install,
    checks=_checks,
    services=_services,
    permissions={
        "jobs:read": "See jobs, their logs and the workers.",
        "jobs:manage": "Submit, cancel and retry jobs.",
    },
    read_permission="jobs:read",
    write_permission="jobs:manage",
)
