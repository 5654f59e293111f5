"""Apps with sign-in required, and helpers that make users and keys through the service."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.access import service
from aiharness.access.runtime import AccessRuntime
from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.features import make_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def required_settings(tmp_path: Path) -> Settings:
    return make_settings(
        data_dir=tmp_path / "data",
        log_format="json",
        log_level="warning",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
        access={"mode": "required"},
    )


@pytest.fixture
def app(required_settings: Settings) -> FastAPI:
    return create_app(required_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def runtime_of(app: FastAPI) -> AccessRuntime:
    runtime: AccessRuntime = app.state.platform.get(AccessRuntime)
    return runtime


def make_user(
    app: FastAPI,
    username: str,
    role: str,
    *,
    collections: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> None:
    runtime = runtime_of(app)
    with app.state.platform.unit_of_work() as session:
        service.create_user(
            session=session,
            section=runtime.section,
            known=runtime.permissions,
            username=username,
            password=PASSWORD,
            role=role,
            collections=collections,
            models=models,
        )


def make_key(
    app: FastAPI,
    *,
    user: str | None = None,
    role: str | None = None,
    collections: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    name: str = "test",
) -> str:
    runtime = runtime_of(app)
    with app.state.platform.unit_of_work() as session:
        _row, secret = service.create_key(
            session=session,
            known=runtime.permissions,
            name=name,
            username=user,
            role=role,
            collections=collections,
            models=models,
        )
    return secret


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the page's CSRF token."""
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get("/")
    assert page.status_code == 200
    match = re.search(r'data-csrf="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)
