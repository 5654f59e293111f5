"""The one dependency every API route takes to learn its caller.

For now every caller is the open local principal; the access-control feature replaces
``get_current_principal`` and every route is covered without being touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    authenticated: bool = False

    def has_role(self, role: str) -> bool:
        return "admin" in self.roles or role in self.roles


LOCAL_PRINCIPAL = Principal(id="local", name="local", roles=frozenset({"admin"}))


async def get_current_principal(request: Request) -> Principal:
    principal = LOCAL_PRINCIPAL
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]
