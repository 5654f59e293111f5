"""Who is acting: the request being served (its id, client address, and the principal the
kernel's dependency resolved) or, outside a request, the process's own actor.

The request middleware sets ``current_request`` for each HTTP request; the principal dependency
stores the caller on ``request.state.principal``, which is the same ``state`` mapping kept here,
so readers (the audit log, rate limits) see the caller without knowing how it was resolved.
CLI and worker processes name themselves with ``set_process_actor`` ("cli:<os user>", "worker").
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who did something: a stable id and a display name."""

    id: str
    name: str


@dataclass(frozen=True)
class RequestInfo:
    """The HTTP request being served; ``state`` is the ASGI scope's ``state`` mapping."""

    request_id: str
    client_address: str | None
    state: MutableMapping[str, Any] = field(default_factory=dict)

    def principal_actor(self) -> Actor | None:
        principal = self.state.get("principal")
        pid = getattr(principal, "id", None)
        if principal is None or not isinstance(pid, str):
            return None
        name = getattr(principal, "name", None)
        return Actor(id=pid, name=name if isinstance(name, str) else pid)


SYSTEM_ACTOR = Actor(id="system", name="system")

current_request: ContextVar[RequestInfo | None] = ContextVar("aiharness_request", default=None)
_explicit_actor: ContextVar[Actor | None] = ContextVar("aiharness_actor", default=None)
_process_actor: Actor = SYSTEM_ACTOR


def set_process_actor(actor: Actor) -> None:
    """The actor of work done outside any request in this process (CLI user, worker)."""
    global _process_actor
    _process_actor = actor


def process_actor() -> Actor:
    return _process_actor


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute what runs inside the block to ``actor`` (a login before its session exists)."""
    token = _explicit_actor.set(actor)
    try:
        yield actor
    finally:
        _explicit_actor.reset(token)


def current_actor() -> Actor:
    """The explicit actor, else the request's principal, else the process's actor."""
    explicit = _explicit_actor.get()
    if explicit is not None:
        return explicit
    request = current_request.get()
    if request is not None:
        found = request.principal_actor()
        if found is not None:
            return found
        return Actor(id="anonymous", name="anonymous")
    return _process_actor
