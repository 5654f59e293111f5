"""MLflow logging of pipeline runs, when ``MLFLOW_TRACKING_URI`` is set (extra ``mlflow``).

Our own records (the database, ``metrics.json``, step logs and artifacts) stay the tracking
store; MLflow gets a copy: one MLflow run per pipeline run (its id kept in the run folder, so
steps that run on different workers log to the same run), the run's params, each step's
numeric metrics (``step.metric``, with the step's position as MLflow's step), the step's
artifacts (the model file among them) and the final status. Logging is never required: a
missing package or an unreachable server is a warning in the run's log, and the run goes on.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from aiharness.observability.logging import get_logger

log = get_logger("aiharness.pipelines.tracking")
URI_ENV = "MLFLOW_TRACKING_URI"
EXPERIMENT_ENV = "AIHARNESS_MLFLOW_EXPERIMENT"
DEFAULT_EXPERIMENT = "aiharness"
RUN_ID_FILE = "mlflow_run_id"
STATUSES = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
_MAX_PARAM = 500  # MLflow's limit on a param value's length


def enabled() -> bool:
    return bool(os.environ.get(URI_ENV, "").strip())


def _numbers(values: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, float]]:
    for key, value in values.items():
        name = f"{prefix}.{key}"
        if isinstance(value, bool):
            yield name, float(value)
        elif isinstance(value, int | float):
            if value == value and abs(value) != float("inf"):  # no NaN or infinities
                yield name, float(value)
        elif isinstance(value, Mapping):
            yield from _numbers(value, name)


def _local_artifact_root(uri: str, data_dir: Path) -> str | None:
    """Artifacts of a database or file store go to the data dir, not the process's folder;
    a tracking server decides for itself."""
    if uri.startswith(("sqlite:", "file:", "postgresql", "mysql")) or "://" not in uri:
        return (data_dir / "mlflow-artifacts").resolve().as_uri()
    return None


class RunTracker:
    """Logs one pipeline run to MLflow; every method swallows and reports its own failures."""

    def __init__(self, *, run_dir: Path, data_dir: Path, warn: Any = None) -> None:
        self.uri = os.environ.get(URI_ENV, "").strip()
        self.run_dir = run_dir
        self.data_dir = data_dir
        self._warn = warn or (lambda message: None)
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            # An unreachable server must not hold a step for minutes of retries (MLflow's
            # defaults); settings made in the environment win.
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
            module = importlib.import_module("mlflow.tracking")
            self._client = module.MlflowClient(tracking_uri=self.uri)
        return self._client

    def _mlflow_run(
        self, client: Any, *, run_id: str, pipeline: str, params: Mapping[str, Any], dataset: str
    ) -> str:
        marker = self.run_dir / RUN_ID_FILE
        if marker.exists():
            return marker.read_text(encoding="utf-8").strip()
        name = os.environ.get(EXPERIMENT_ENV, "").strip() or DEFAULT_EXPERIMENT
        experiment = client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(
                name, artifact_location=_local_artifact_root(self.uri, self.data_dir)
            )
        )
        created = client.create_run(
            experiment_id,
            run_name=f"{pipeline} {run_id}",
            tags={
                "aiharness.run_id": run_id,
                "aiharness.pipeline": pipeline,
                "aiharness.dataset": dataset,
            },
        )
        mlflow_id = str(created.info.run_id)
        for key, value in {**params, "dataset": dataset}.items():
            client.log_param(mlflow_id, str(key), str(value)[:_MAX_PARAM])
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(mlflow_id, encoding="utf-8")
        return mlflow_id

    def log_step(
        self,
        *,
        run_id: str,
        pipeline: str,
        params: Mapping[str, Any],
        dataset: str,
        step: str,
        position: int,
        metrics: Mapping[str, Any],
        artifacts: list[Path],
    ) -> None:
        """After a step succeeded: its metrics and artifact files."""
        try:
            client = self._connect()
            mlflow_id = self._mlflow_run(
                client, run_id=run_id, pipeline=pipeline, params=params, dataset=dataset
            )
            for name, value in _numbers(metrics, step):
                client.log_metric(mlflow_id, name, value, step=position)
            for path in artifacts:
                if path.is_file():
                    client.log_artifact(mlflow_id, str(path), artifact_path=step)
        except Exception as exc:
            self._failed(exc)

    def finish(self, status: str) -> None:
        """After the run ended: its final status (only if it was logged at all)."""
        marker = self.run_dir / RUN_ID_FILE
        if not marker.exists():
            return
        try:
            client = self._connect()
            client.set_terminated(
                marker.read_text(encoding="utf-8").strip(), STATUSES.get(status, "FAILED")
            )
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, ImportError):
            message = (
                f"{URI_ENV} is set but MLflow is not installed (`uv sync --extra mlflow`); "
                "the run is recorded here only"
            )
        else:
            message = f"MLflow logging failed ({type(exc).__name__}: {str(exc)[:300]})"
        log.warning("mlflow logging skipped", error=message)
        self._warn(message)
