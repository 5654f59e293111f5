"""Pipelines' server messages read in Korean (``msg.pipelines.*`` keys): messages the code really
writes, and a failed run's page in Korean with the step's reason translated inside the run's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.errors import DomainError
from aiharness.pipelines.registry import PipelineRegistry
from aiharness.pipelines.tables import TableError, read_table
from aiharness.web.i18n import Catalogs
from tests.pipelines import pl_fixtures
from tests.pipelines.pl_fixtures import sensor_frame, write_csv

pl_app = pl_fixtures.pl_app
pl_client = pl_fixtures.pl_client
pl_settings = pl_fixtures.pl_settings
run_jobs = pl_fixtures.run_jobs


def table_error(path: Path) -> str:
    with pytest.raises(TableError) as caught:
        read_table(path)
    return str(caught.value)


@pytest.mark.unit
def test_messages_the_code_writes_read_in_korean(tmp_path: Path) -> None:
    catalogs = Catalogs.load()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "one.csv").write_text("reading\n1\n2\n3\n")
    (tmp_path / "notes.json").write_text("{}")
    registry = PipelineRegistry()
    with pytest.raises(DomainError) as unknown:
        registry.get("nope")
    written = {
        table_error(tmp_path / "empty.csv"): "빈 파일입니다",
        table_error(tmp_path / "one.csv"): "구분자를 찾지 못했습니다",
        table_error(tmp_path / "notes.json"): "지원하지 않는 파일 형식",
        str(unknown.value): "파이프라인 'nope'이(가) 없습니다",
        "cancelled by a user": "사용자가 취소했습니다",
    }
    for message, korean in written.items():
        assert korean in (catalogs.phrase("ko", message) or ""), message
        assert catalogs.phrase("en", message) is not None  # English readers get it as written


@pytest.mark.unit
def test_a_message_inside_a_message_is_translated_too() -> None:
    catalogs = Catalogs.load()
    message = "step train failed: the training window has 5 rows; at least 20 are needed"
    assert (
        catalogs.phrase("ko", message)
        == "train 단계 실패: 학습 구간이 5행입니다. 최소 20행이 필요합니다"
    )
    odd = "step train failed: ValueError: something odd"
    assert catalogs.phrase("ko", odd) == "train 단계 실패: ValueError: something odd"


@pytest.mark.integration
def test_a_failed_run_reads_in_korean(
    pl_client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "data" / "pump.csv", sensor_frame(100))
    dataset = pl_client.post("/api/datasets", json={"path": str(path)}).json()["dataset"]
    started = pl_client.post(
        "/api/runs",
        json={
            "dataset_id": dataset["id"],
            "pipeline": "sensor_anomaly",
            "params": {"train_rows": 5},
        },
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    run_jobs()
    run = pl_client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "failed"
    assert "at least 20 are needed" in run["error"], run["error"]  # the API keeps English
    page = pl_client.get(f"/runs/{run_id}", params={"lang": "ko"}).text
    assert "train 단계 실패: 학습 구간이 5행입니다. 최소 20행이 필요합니다" in page
    english = pl_client.get(f"/runs/{run_id}", params={"lang": "en"}).text
    assert "step train failed: the training window has 5 rows" in english
