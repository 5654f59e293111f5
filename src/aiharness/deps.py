"""Typed FastAPI dependencies, declared once and shared by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from aiharness.auth.principal import CurrentPrincipal
from aiharness.config import Settings
from aiharness.platform import Platform


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_settings(platform: PlatformDep) -> Settings:
    return platform.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    session = platform.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]

__all__ = ["CurrentPrincipal", "PlatformDep", "SessionDep", "SettingsDep"]
