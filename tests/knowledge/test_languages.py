"""A collection's languages, sampled from its chunks on both stores."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from aiharness.knowledge import languages
from aiharness.knowledge.models import Collection
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import CONVEYOR_EN, PUMP_KO, drain_jobs

pytestmark = pytest.mark.integration


any_client = kb_fixtures.any_client


def _scripts(client: TestClient, name: str) -> frozenset[str]:
    platform = client.app.state.platform  # type: ignore[attr-defined]
    with platform.session_factory() as session:
        collection = session.scalars(select(Collection).where(Collection.name == name)).one()
        return languages.collection_scripts(session, [collection])


def _add(client: TestClient, name: str, file_name: str, text: str) -> None:
    client.post(f"/api/collections/{name}/documents", files=[("files", (file_name, text.encode()))])
    drain_jobs(client.app.state.platform)  # type: ignore[attr-defined]


def test_a_collection_knows_its_languages_and_notices_a_new_one(
    any_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    any_client.post("/api/collections", json={"name": "plant"})
    assert _scripts(any_client, "plant") == frozenset()
    # A long Korean manual: more chunks than the sample, so the sample strides over them.
    monkeypatch.setattr(languages, "SAMPLE_SIZE", 3)
    _add(any_client, "plant", "pump.txt", "\n\n".join([PUMP_KO] * 40))
    assert _scripts(any_client, "plant") == {"hangul"}
    _add(any_client, "plant", "belt.txt", "\n\n".join([CONVEYOR_EN] * 40))
    # Cached until the collection changed and the resample interval passed.
    assert _scripts(any_client, "plant") == {"hangul"}
    monkeypatch.setattr(languages, "RESAMPLE_AFTER_S", 0.0)
    assert _scripts(any_client, "plant") == {"hangul", "latin"}
