"""/api/runs on the real job runner: the built-ins, failures, cancel, re-run, compare, delete."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.jobs.worker import JobRunner
from tests.pipelines import pl_fixtures
from tests.pipelines.pl_fixtures import drain_jobs, pl_settings_for, sensor_frame, write_csv

pytestmark = pytest.mark.integration

pl_app = pl_fixtures.pl_app
pl_client = pl_fixtures.pl_client
pl_settings = pl_fixtures.pl_settings
run_jobs = pl_fixtures.run_jobs


def register(client: TestClient, path: Path) -> int:
    response = client.post("/api/datasets", json={"path": str(path)})
    assert response.status_code == 201, response.text
    dataset_id: int = response.json()["dataset"]["id"]
    return dataset_id


def start(client: TestClient, dataset_id: int, pipeline: str, **params: Any) -> str:
    response = client.post(
        "/api/runs", json={"dataset_id": dataset_id, "pipeline": pipeline, "params": params}
    )
    assert response.status_code == 202, response.text
    run_id: str = response.json()["id"]
    return run_id


def test_anomaly_run_records_steps_metrics_logs_and_artifacts(
    pl_client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    dataset_id = register(pl_client, write_csv(data / "pump.csv", sensor_frame()))
    run_id = start(pl_client, dataset_id, "sensor_anomaly", train_rows=300)
    assert len(run_jobs()) == 3
    run = pl_client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "succeeded", run
    assert [s["status"] for s in run["steps"]] == ["succeeded"] * 3
    evaluation = run["metrics"]["evaluate"]
    assert evaluation["f1"] > 0.8
    assert evaluation["roc_auc"] > 0.9
    run_dir = data / "pipelines" / "runs" / run_id
    assert (run_dir / "metrics.json").exists()
    assert (run_dir / "artifacts" / "model.joblib").exists()
    assert (run_dir / "artifacts" / "anomaly_score.svg").read_text().startswith("<svg")
    assert "anomaly_score.svg" in run["steps"][2]["artifacts"]
    logs = pl_client.get(f"/api/runs/{run_id}/logs", params={"tail": 3}).json()
    assert len(logs["lines"]) == 3
    assert "evaluate finished" in logs["lines"][-1]
    assert pl_client.get(f"/api/runs/{run_id}/logs", params={"tail": 0}).status_code == 422


def test_wrong_param_type_and_unknown_pipeline_are_refused(
    pl_client: TestClient, tmp_path: Path
) -> None:
    dataset_id = register(pl_client, write_csv(tmp_path / "data" / "p.csv", sensor_frame(60)))
    wrong = pl_client.post(
        "/api/runs",
        json={"dataset_id": dataset_id, "pipeline": "sensor_anomaly", "params": {"window": "x"}},
    )
    assert wrong.status_code == 422
    assert "window" in wrong.json()["error"]["message"]
    extra = pl_client.post(
        "/api/runs",
        json={"dataset_id": dataset_id, "pipeline": "tabular", "params": {"nope": 1}},
    )
    assert extra.status_code == 422
    unknown = pl_client.post(
        "/api/runs", json={"dataset_id": dataset_id, "pipeline": "magic", "params": {}}
    )
    assert unknown.status_code == 404
    assert pl_client.get("/api/runs").json() == []


def test_failing_step_fails_its_run_only(
    pl_client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    frame = sensor_frame(200)
    frame["status"] = "ok"
    dataset_id = register(pl_client, write_csv(data / "mixed.csv", frame))
    no_target = start(pl_client, dataset_id, "tabular", target="quality")
    text_sensor = start(pl_client, dataset_id, "sensor_anomaly", sensors="pressure,status")
    healthy = start(pl_client, dataset_id, "sensor_anomaly", train_rows=100)
    run_jobs()
    failed = pl_client.get(f"/api/runs/{no_target}").json()
    assert failed["status"] == "failed"
    assert "target column quality not in the dataset" in failed["error"]
    assert [s["status"] for s in failed["steps"]] == ["failed", "skipped", "skipped"]
    text = pl_client.get(f"/api/runs/{text_sensor}").json()
    assert text["status"] == "failed"
    assert "status is not numeric" in text["error"]
    assert pl_client.get(f"/api/runs/{healthy}").json()["status"] == "succeeded"
    jobs = pl_client.get("/api/jobs", params={"status": "failed"}).json()
    assert jobs["total"] == 2


def test_user_pipeline_that_raises(tmp_path: Path) -> None:
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    (user_dir / "broken.py").write_text(
        "from aiharness.pipelines.definition import Step, pipeline\n"
        "def explode(ctx):\n"
        "    ctx.log('about to fail')\n"
        "    raise RuntimeError('sensor map missing')\n"
        "PIPELINES = [pipeline('explodes', 'always fails', [Step('boom', explode)])]\n",
        encoding="utf-8",
    )
    (user_dir / "syntax.py").write_text("this is not python", encoding="utf-8")
    settings = pl_settings_for(tmp_path, user_pipelines_dir=str(user_dir))
    app = create_app(settings)
    with TestClient(app) as client:
        listed = client.get("/api/pipelines").json()
        names = [p["name"] for p in listed["pipelines"]]
        assert {"explodes", "sensor_anomaly", "rul_regression", "tabular"} <= set(names)
        assert any("syntax.py" in p for p in listed["problems"])
        dataset_id = register(client, write_csv(tmp_path / "data" / "d.csv", sensor_frame(60)))
        run_id = start(client, dataset_id, "explodes")
        drain_jobs(app.state.platform)
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "failed"
        assert run["error"] == "step boom failed: RuntimeError: sensor map missing"
        logs = client.get(f"/api/runs/{run_id}/logs").json()["lines"]
        assert any("about to fail" in line for line in logs)


def test_cancel_stops_at_the_step_boundary_and_delete_waits(
    pl_client: TestClient, pl_app: Any, tmp_path: Path
) -> None:
    dataset_id = register(pl_client, write_csv(tmp_path / "data" / "p.csv", sensor_frame(300)))
    run_id = start(pl_client, dataset_id, "sensor_anomaly", train_rows=100)
    busy = pl_client.delete(f"/api/datasets/{dataset_id}")
    assert busy.status_code == 409
    platform = pl_app.state.platform
    runner = JobRunner(platform=platform, worker_id="t")
    queue = runner.queues.get("default")
    first = queue.receive()
    assert first is not None
    runner(first)  # preprocess runs; train is queued
    assert pl_client.post(f"/api/runs/{run_id}/cancel").status_code == 200
    drain_jobs(platform)
    run = pl_client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "cancelled"
    assert [s["status"] for s in run["steps"]] == ["succeeded", "cancelled", "cancelled"]
    assert pl_client.post(f"/api/runs/{run_id}/cancel").status_code == 409
    assert pl_client.delete(f"/api/datasets/{dataset_id}").status_code == 204
    assert pl_client.get(f"/api/runs/{run_id}").status_code == 404
    assert not (tmp_path / "data" / "pipelines" / "runs" / run_id).exists()


def test_rerun_with_changed_params_and_compare(
    pl_client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    dataset_id = register(pl_client, write_csv(tmp_path / "data" / "p.csv", sensor_frame()))
    first = start(pl_client, dataset_id, "sensor_anomaly", train_rows=300)
    run_jobs()
    again = pl_client.post(f"/api/runs/{first}/rerun", json={"params": {"margin": 6.0}})
    assert again.status_code == 202
    second = again.json()["id"]
    assert again.json()["rerun_of"] == first
    assert again.json()["params"]["train_rows"] == 300
    run_jobs()
    compared = pl_client.get("/api/runs/compare", params={"ids": f"{first},{second[:8]}"}).json()
    assert compared["params"]["margin"] == {first: 3.0, second: 6.0}
    thresholds = compared["metrics"]["train.threshold"]
    assert thresholds[second] == pytest.approx(2 * thresholds[first])
    bad = pl_client.post(f"/api/runs/{first}/rerun", json={"params": {"margin": "high"}})
    assert bad.status_code == 422


def test_rul_and_tabular_builtins(
    pl_client: TestClient, run_jobs: Callable[[], list[str]], tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    rows = []
    for unit in range(1, 13):
        life = int(rng.integers(60, 120))
        for cycle in range(1, life + 1):
            wear = cycle / life
            rows.append(
                {
                    "unit": unit,
                    "cycle": cycle,
                    "temp": 500 + 30 * wear**2 + rng.normal(0, 0.5),
                    "vib": 0.1 + 0.5 * wear**3 + rng.normal(0, 0.01),
                    "const": 1.0,
                }
            )
    rul = register(pl_client, write_csv(tmp_path / "data" / "engines.csv", pd.DataFrame(rows)))
    rul_run = start(pl_client, rul, "rul_regression", max_iter=60, test_fraction=0.25)
    n = 400
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    line = rng.choice(["A", "B"], size=n)
    target = np.where(x1 + 0.5 * x2 > 1.2, "defect", "ok")  # about 15 % defects
    tab_frame = pd.DataFrame({"x1": x1, "x2": x2, "line": line, "target": target})
    tab = register(pl_client, write_csv(tmp_path / "data" / "quality.csv", tab_frame))
    tab_run = start(pl_client, tab, "tabular", max_iter=50)
    run_jobs()
    rul_detail = pl_client.get(f"/api/runs/{rul_run}").json()
    assert rul_detail["status"] == "succeeded", rul_detail["error"]
    evaluation = rul_detail["metrics"]["evaluate"]
    assert evaluation["rmse"] < 25
    assert set(evaluation) >= {"mae", "nasa_score", "rmse_cutoff"}
    assert rul_detail["metrics"]["train"]["sensors_used"] == 2  # the constant one is dropped
    tab_detail = pl_client.get(f"/api/runs/{tab_run}").json()
    assert tab_detail["status"] == "succeeded", tab_detail["error"]
    assert tab_detail["metrics"]["preprocess"]["task"] == "classification"
    metrics = tab_detail["metrics"]["evaluate"]
    assert metrics["f1"] > 0.6
    assert metrics["roc_auc"] > 0.85
    assert metrics["confusion_matrix"]["classes"] == ["defect", "ok"]


def test_a_step_job_that_dies_outside_the_handler_fails_the_run(
    pl_client: TestClient, pl_app: Any, tmp_path: Path
) -> None:
    dataset_id = register(pl_client, write_csv(tmp_path / "data" / "p.csv", sensor_frame(100)))
    run_id = start(pl_client, dataset_id, "sensor_anomaly", train_rows=50)
    job_id = pl_client.get(f"/api/runs/{run_id}").json()["steps"][0]["job_id"]
    # Cancelled through the jobs API before any worker ran it: the step handler never runs.
    assert pl_client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    assert pl_client.delete(f"/api/datasets/{dataset_id}").status_code == 204
    assert pl_client.get(f"/api/runs/{run_id}").status_code == 404


def test_a_reconciled_run_shows_why(pl_client: TestClient, pl_app: Any, tmp_path: Path) -> None:
    dataset_id = register(pl_client, write_csv(tmp_path / "data" / "p.csv", sensor_frame(100)))
    run_id = start(pl_client, dataset_id, "sensor_anomaly", train_rows=50)
    job_id = pl_client.get(f"/api/runs/{run_id}").json()["steps"][0]["job_id"]
    assert pl_client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    run = pl_client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "cancelled"
    assert run["steps"][0]["status"] == "cancelled"
    assert run["steps"][1]["status"] == "cancelled"
    assert run["error"].startswith("step preprocess cancelled")
