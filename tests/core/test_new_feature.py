"""The kernel's promise, proven: a new feature is its own package, one line in the features list
and one migration. Nothing central is edited; the app, the schema, the job registry, the
settings tree, readiness and shutdown all pick it up from its description."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import load_settings
from aiharness.db import migrate
from aiharness.features import FEATURES, settings_class
from aiharness.jobs.worker import JobRunner
from tests.fixtures.notes_feature.feature import FEATURE as NOTES
from tests.fixtures.notes_feature.feature import MIGRATION
from tests.fixtures.notes_feature.runtime import NotesRuntime

pytestmark = pytest.mark.integration


@pytest.fixture
def with_notes_migration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The migrations folder plus the feature's one migration (a copy; the repo is untouched)."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    (folder / "versions" / "0900_notes.py").write_text(MIGRATION.format(down=head))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", folder)


@pytest.mark.usefixtures("with_notes_migration")
def test_a_new_feature_is_a_package_one_line_and_one_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = (*FEATURES, NOTES)  # the one line
    monkeypatch.setenv("AIHARNESS_NOTES__GREETING", "note:")
    settings = load_settings(
        settings_class(features), data_dir=tmp_path / "data", jobs={"worker_enabled": False}
    )
    with TestClient(create_app(settings, features=features)) as client:
        assert client.post("/api/notes", json={"text": "pump P-101 vibrates"}).status_code == 201
        empty = client.post("/api/notes", json={"text": " "})
        assert empty.status_code == 422
        assert empty.json()["error"]["code"] == "empty_note"
        assert client.get("/notes/count").json() == {"count": 1}  # the hidden alias
        paths = client.get("/openapi.json").json()["paths"]
        assert "/api/notes" in paths and "/notes/count" not in paths
        assert client.get("/ready").json()["checks"]["notes"]["detail"] == "notes are fine"

        job = client.post("/api/jobs", json={"type": "notes.count"}).json()
        platform = client.app.state.platform  # type: ignore[attr-defined]
        JobRunner(platform=platform, worker_id="test")(job["id"])
        assert client.get(f"/api/jobs/{job['id']}").json()["result"] == {"count": 1}

        runtime = platform.get(NotesRuntime)
        with platform.unit_of_work() as session:
            assert runtime.count(session) == 1
        from sqlalchemy import text

        with platform.engine.connect() as conn:
            assert (
                conn.execute(text("SELECT text FROM notes")).scalar() == "note: pump P-101 vibrates"
            )
    assert runtime.closed  # the platform closed the feature's runtime on shutdown


def test_an_unknown_nested_setting_of_a_feature_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiharness.config import ConfigError

    monkeypatch.setenv("AIHARNESS_NOTES__NO_SUCH", "1")
    with pytest.raises(ConfigError, match="AIHARNESS_NOTES__NO_SUCH"):
        load_settings(settings_class((*FEATURES, NOTES)), data_dir=tmp_path)
