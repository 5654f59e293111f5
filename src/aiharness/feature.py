"""What a feature says about itself: one ``Feature`` per feature package, in its ``feature.py``.

The composition root (``aiharness.features``) lists the features in order; the app factory, the
Alembic environment, the job registry loader, the web navigation and the CLI iterate that list,
so adding a feature touches nothing central but that list.

Modules are named by strings (``"aiharness.knowledge.models"``, ``"pkg.router:router"``) and
imported only by the process that needs them: the CLI's ``--help`` imports no router and no
model, and a worker imports no router.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiharness.config import Section
    from aiharness.health.checks import DependencyCheck
    from aiharness.platform import BackgroundService, Platform


# Route markers a feature may use besides real permissions (``route_permissions`` and the app
# factory): anyone (the short public list), or any signed-in caller. Here, not in
# ``aiharness.principal``, so that describing a feature imports no web framework.
PUBLIC = "@public"
AUTHENTICATED = "@authenticated"


@dataclass(frozen=True)
class Feature:
    """One feature's description; every part is optional."""

    name: str
    # The feature's settings section (``AIHARNESS_<KEY>__...``): the class, or its
    # ``"module:Class"`` (keeps pydantic out of commands that need no settings, like --help).
    settings: type[Section] | str | None = None
    # The module that defines its ORM tables (imported by Alembic and every process).
    models: str | None = None
    # Modules whose ``@job_type`` handlers register themselves when imported.
    jobs: tuple[str, ...] = ()
    # ``"module:attribute"`` API routers, shown in the OpenAPI docs.
    routers: tuple[str, ...] = ()
    # ``"module:attribute"`` routers of paths older clients call, hidden from the docs.
    alias_routers: tuple[str, ...] = ()
    # Builds the feature's runtime from the platform; the platform keeps it by its type
    # (``platform.get(KnowledgeRuntime)``) and closes it on shutdown.
    install: Callable[[Platform], object | None] | None = None
    # Readiness checks shown by ``/ready``, ``aiharness doctor`` and the dashboard.
    checks: Callable[[Platform], Sequence[DependencyCheck]] | None = None
    # Background services of this process (``platform.role`` says which process it is).
    services: Callable[[Platform], Sequence[BackgroundService]] | None = None
    # Runs once the platform has started (API process): e.g. queue the demo documents.
    on_started: Callable[[Platform], None] | None = None
    # Access: the permissions this feature defines (name -> what it allows, for the docs'
    # table and the role editor), and what its routes and pages need: ``read_permission`` for
    # GET/HEAD, ``write_permission`` for other methods, ``route_permissions`` for paths that
    # need another (``"/v1"``, ``"POST /api/feedback"`` or a whole-path pattern with ``*``;
    # the longest wins). A route's own
    # ``Depends(require(...))`` beats all three. The app factory applies them to every route.
    permissions: Mapping[str, str] = field(default_factory=dict)
    read_permission: str | None = None
    write_permission: str | None = None
    route_permissions: Mapping[str, str] = field(default_factory=dict)

    def permission_for(self, path: str, methods: Iterable[str]) -> str | None:
        """The permission a route of this feature needs, by its path and methods."""
        verbs = {m.upper() for m in methods}
        best: tuple[int, str] | None = None
        for pattern, permission in self.route_permissions.items():
            method, _, prefix = pattern.rpartition(" ")
            if method and method.upper() not in verbs:
                continue
            if "*" in prefix:  # a whole-path pattern: "/api/ask/*/feedback"
                if fnmatchcase(path, prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), permission)
                continue
            under = path.startswith(prefix if prefix.endswith("/") else prefix + "/")
            if (path == prefix or under) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), permission)
        if best is not None:
            return best[1]
        if verbs and verbs <= {"GET", "HEAD", "OPTIONS"}:
            return self.read_permission
        return self.write_permission


def settings_section(feature: Feature) -> type[Section] | None:
    """The feature's settings class, imported if it was named by a string."""
    section: Any = (
        resolve(feature.settings) if isinstance(feature.settings, str) else feature.settings
    )
    return section  # type: ignore[no-any-return]


def resolve(ref: str) -> Any:
    """``"package.module:attribute"`` -> the attribute; ``"package.module"`` -> the module."""
    module_name, _, attribute = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module
