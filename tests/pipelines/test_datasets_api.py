"""/api/datasets: register by path and upload, versions by content, limits, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from tests.pipelines import pl_fixtures
from tests.pipelines.pl_fixtures import pl_settings_for, sensor_frame, write_csv

pytestmark = pytest.mark.integration

pl_app = pl_fixtures.pl_app
pl_client = pl_fixtures.pl_client
pl_settings = pl_fixtures.pl_settings


def test_same_content_is_one_version_new_content_a_second(
    pl_client: TestClient, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "data" / "pump.csv", sensor_frame(100), sep=";")
    first = pl_client.post("/api/datasets", json={"path": str(path)})
    assert first.status_code == 201, first.text
    again = pl_client.post("/api/datasets", json={"path": str(path)})
    assert again.json()["created"] is False
    assert again.json()["version"]["id"] == first.json()["version"]["id"]
    write_csv(path, sensor_frame(120), sep=";")
    second = pl_client.post("/api/datasets", json={"path": str(path)})
    assert second.json()["created"] is True
    assert second.json()["version"]["number"] == 2
    dataset_id = first.json()["dataset"]["id"]
    detail = pl_client.get(f"/api/datasets/{dataset_id}").json()
    assert [v["number"] for v in detail["version_list"]] == [2, 1]
    assert detail["profile"]["rows"] == 120
    assert detail["profile"]["read"]["delimiter"] == ";"
    assert len(detail["profile"]["preview"]) == 20
    assert [d["name"] for d in pl_client.get("/api/datasets").json()] == ["pump"]


def test_upload_with_cp949_and_bad_uploads(pl_client: TestClient) -> None:
    good = "일시,온도\n2026-01-01,20.5\n2026-01-02,21.0\n".encode("cp949")
    ok = pl_client.post(
        "/api/datasets/upload", files={"file": ("온도.csv", good)}, data={"name": "온도"}
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["dataset"]["name"] == "온도"
    empty = pl_client.post("/api/datasets/upload", files={"file": ("e.csv", b"")})
    assert empty.status_code == 422
    assert "empty" in empty.json()["error"]["message"]
    broken = pl_client.post(
        "/api/datasets/upload", files={"file": ("b.csv", b'a,b\n1,2\n3,"open\n')}
    )
    assert broken.status_code == 422
    assert "b.csv" in broken.json()["error"]["message"]
    kind = pl_client.post("/api/datasets/upload", files={"file": ("x.pdf", b"%PDF")})
    assert kind.status_code == 415
    assert pl_client.get("/api/datasets").json()[0]["name"] == "온도"


def test_over_the_size_limit_is_413(tmp_path: Path) -> None:
    settings = pl_settings_for(tmp_path, max_file_mb=0.001)
    with TestClient(create_app(settings)) as client:
        big = b"a,b\n" + b"1,2\n" * 1000
        response = client.post("/api/datasets/upload", files={"file": ("big.csv", big)})
        assert response.status_code == 413
        assert "MAX_FILE_MB" in response.json()["error"]["message"]
        leftovers = list((tmp_path / "data" / "pipelines" / "datasets").glob("*"))
        assert leftovers == []


def test_paths_outside_roots_missing_or_not_files(pl_client: TestClient, tmp_path: Path) -> None:
    outside = write_csv(tmp_path / "elsewhere" / "x.csv", sensor_frame(30))
    forbidden = pl_client.post("/api/datasets", json={"path": str(outside)})
    assert forbidden.status_code == 403
    assert "ALLOWED_ROOTS" in forbidden.json()["error"]["message"]
    missing = pl_client.post("/api/datasets", json={"path": str(tmp_path / "data" / "no.csv")})
    assert missing.status_code == 404
    assert pl_client.get("/api/datasets/999").status_code == 404


def test_allowed_root_setting_admits_a_folder(tmp_path: Path) -> None:
    outside = write_csv(tmp_path / "nas" / "x.csv", sensor_frame(30))
    settings = pl_settings_for(tmp_path, allowed_roots=[str(tmp_path / "nas")])
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/datasets", json={"path": str(outside)}).status_code == 201
