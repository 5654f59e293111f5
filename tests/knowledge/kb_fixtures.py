"""Fixtures for the knowledge service, API and CLI tests: an app on a temp data dir and a real
job drain (messages taken from the real queue, run by the jobs system's own JobRunner)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.features import make_settings
from tests.fixtures.jobs import drain_jobs as drain_jobs  # re-exported for the tests here

PUMP_KO = (
    "원심 펌프 정비 절차. 운전을 멈추고 전원을 차단한 뒤 베어링 온도를 점검한다. "
    "윤활유는 3개월마다 교체하고, 진동이 기준을 넘으면 축 정렬을 다시 맞춘다."
)
CONVEYOR_EN = (
    "Conveyor belt inspection. Check the belt tension every week and replace worn "
    "return rollers before they seize."
)
COMPRESSOR_CP949 = "공기 압축기 점검표: 흡입 필터를 매주 청소하고 드레인 밸브를 확인한다."


def kb_settings_for(
    tmp_path: Path, *, database_url: str | None = None, **knowledge: Any
) -> Settings:
    """Settings for knowledge tests; ``knowledge`` overrides the knowledge section."""
    return make_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_format="json",
        log_level="warning",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off", **knowledge},
    )


@pytest.fixture
def kb_settings(tmp_path: Path) -> Settings:
    return kb_settings_for(tmp_path)


@pytest.fixture
def kb_app(kb_settings: Settings) -> FastAPI:
    return create_app(kb_settings)


@pytest.fixture
def kb_client(kb_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(kb_app) as client:
        yield client


@pytest.fixture(params=["sqlite", "postgresql"])
def any_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """An app on each store: embedded SQLite, and PostgreSQL + pgvector."""
    database_url = None
    if request.param == "postgresql":
        database_url = request.getfixturevalue("pgvector_url")
    with TestClient(create_app(kb_settings_for(tmp_path, database_url=database_url))) as client:
        yield client


@pytest.fixture
def run_jobs(kb_app: FastAPI) -> Callable[[], list[str]]:
    return lambda: drain_jobs(kb_app.state.platform)


# -- bad files --------------------------------------------------------------------------------
def zip_bomb_docx() -> bytes:
    """A .docx whose document.xml inflates 10 MB of zeros from a few KB (ratio > 1000)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (10 * 1024 * 1024))
    return buffer.getvalue()


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\n%%EOF"


def binary_blob() -> bytes:
    return bytes(range(256)) * 40
