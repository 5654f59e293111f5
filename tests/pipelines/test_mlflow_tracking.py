"""MLflow logging of pipeline runs when MLFLOW_TRACKING_URI is set: params, per-step metrics
and the model file in a real MLflow store (skipped without the ``mlflow`` extra), and a run
that goes on when MLflow is missing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.pipelines import pl_fixtures
from tests.pipelines.pl_fixtures import sensor_frame, write_csv

pytestmark = pytest.mark.integration

pl_app = pl_fixtures.pl_app
pl_client = pl_fixtures.pl_client
pl_settings = pl_fixtures.pl_settings
run_jobs = pl_fixtures.run_jobs


def anomaly_run(client: TestClient, run_jobs: Callable[[], list[str]], data: Path) -> str:
    registered = client.post(
        "/api/datasets", json={"path": str(write_csv(data / "pump.csv", sensor_frame()))}
    )
    assert registered.status_code == 201, registered.text
    started = client.post(
        "/api/runs",
        json={
            "dataset_id": registered.json()["dataset"]["id"],
            "pipeline": "sensor_anomaly",
            "params": {"train_rows": 300},
        },
    )
    assert started.status_code == 202, started.text
    run_id: str = started.json()["id"]
    run_jobs()
    return run_id


@pytest.mark.slow
# MLflow's own SQLAlchemy store uses APIs that SQLAlchemy 2.1 deprecates: not ours to fix.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_run_is_logged_to_mlflow(
    pl_client: TestClient,
    run_jobs: Callable[[], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracking = pytest.importorskip("mlflow.tracking", reason="the mlflow extra is not installed")
    # MLflow 3 keeps its plain-file store in maintenance mode; a SQLite file is its local store.
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run_id = anomaly_run(pl_client, run_jobs, tmp_path / "data")
    ours = pl_client.get(f"/api/runs/{run_id}").json()
    assert ours["status"] == "succeeded", ours

    client = tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("aiharness")
    [logged] = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`aiharness.run_id` = '{run_id}'"
    )
    assert logged.info.status == "FINISHED"
    assert logged.data.params["train_rows"] == "300"
    assert logged.data.params["dataset"] == "pump.csv"
    f1 = ours["metrics"]["evaluate"]["f1"]
    assert logged.data.metrics["evaluate.f1"] == pytest.approx(f1)
    history = client.get_metric_history(logged.info.run_id, "evaluate.f1")
    assert [m.step for m in history] == [2]  # the evaluate step's position
    model_step = next(s["name"] for s in ours["steps"] if "model.joblib" in s["artifacts"])
    files = [a.path for a in client.list_artifacts(logged.info.run_id, model_step)]
    assert f"{model_step}/model.joblib" in files
    assert str(tmp_path / "data") in logged.info.artifact_uri  # not the process's folder


def test_a_run_goes_on_without_mlflow(
    pl_client: TestClient,
    run_jobs: Callable[[], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    run_id = anomaly_run(pl_client, run_jobs, tmp_path / "data")
    run = pl_client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "succeeded", run
    logs = pl_client.get(f"/api/runs/{run_id}/logs", params={"tail": 200}).json()["lines"]
    assert any("MLflow is not installed" in line for line in logs)
    assert not (tmp_path / "mlflow.db").exists()
