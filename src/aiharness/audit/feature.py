"""The ``audit`` feature: the append-only audit log, ``GET /api/audit`` and the process's actor
(CLI commands act as ``cli:<os user>``, workers as ``worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiharness.feature import Feature

if TYPE_CHECKING:
    from aiharness.platform import Platform


def _install(platform: Platform) -> None:
    import getpass

    from aiharness.observability.context import SYSTEM_ACTOR, Actor, set_process_actor

    if platform.role == "cli":
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container)
            user = "unknown"
        set_process_actor(Actor(id=f"cli:{user}", name=f"cli:{user}"))
    elif platform.role == "worker":
        set_process_actor(Actor(id="worker", name="worker"))
    else:
        set_process_actor(SYSTEM_ACTOR)


FEATURE = Feature(
    name="audit",
    models="aiharness.audit.models",
    routers=("aiharness.audit.router:router",),
    install=_install,
    permissions={"admin:audit": "Read the audit log (who changed what, when, from where)."},
    read_permission="admin:audit",
    write_permission="admin:audit",
)
