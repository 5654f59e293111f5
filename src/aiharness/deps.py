"""Typed FastAPI dependencies, declared once and shared by every router and page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from aiharness.config import Settings
from aiharness.db.engine import session_scope
from aiharness.platform import Platform
from aiharness.principal import CurrentPrincipal

T = TypeVar("T")


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_settings(platform: PlatformDep) -> Settings:
    return platform.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    with session_scope(platform.session_factory) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


# Row ids and offsets are 64-bit in both databases; larger numbers are a 422, not a 500.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="Items to skip.")]


def provided(kind: type[T]) -> Callable[[Request], T]:
    """A dependency that returns the platform's runtime of type ``kind``; a feature declares
    ``KnowledgeDep = Annotated[KnowledgeRuntime, Depends(provided(KnowledgeRuntime))]``."""

    def get(request: Request) -> T:
        return get_platform(request).get(kind)

    get.__name__ = f"get_{kind.__name__}"
    return get


__all__ = [
    "CurrentPrincipal",
    "Offset",
    "PlatformDep",
    "RowId",
    "SessionDep",
    "SettingsDep",
    "provided",
]
