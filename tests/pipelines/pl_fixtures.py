"""Fixtures for the pipelines tests: an app on a temp data dir, a real job drain, data files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.app import create_app
from aiharness.config import Settings
from aiharness.features import make_settings
from tests.fixtures.jobs import drain_jobs as drain_jobs  # re-exported for the tests here


def pl_settings_for(
    tmp_path: Path, *, database_url: str | None = None, **pipelines: Any
) -> Settings:
    return make_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_format="json",
        log_level="warning",
        jobs={"worker_enabled": False},
        knowledge={"demo_ingest": "off"},
        pipelines=pipelines,
    )


@pytest.fixture
def pl_settings(tmp_path: Path) -> Settings:
    return pl_settings_for(tmp_path)


@pytest.fixture
def pl_app(pl_settings: Settings) -> FastAPI:
    return create_app(pl_settings)


@pytest.fixture
def pl_client(pl_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(pl_app) as client:
        yield client


@pytest.fixture
def run_jobs(pl_app: FastAPI) -> Callable[[], list[str]]:
    return lambda: drain_jobs(pl_app.state.platform)


def sensor_frame(rows: int = 600, *, seed: int = 0, anomaly_from: int = 420) -> pd.DataFrame:
    """Three correlated sensors; from ``anomaly_from`` for 100 rows one drifts off (labelled)."""
    rng = np.random.default_rng(seed)
    base = np.sin(np.linspace(0, 20, rows))
    frame = pd.DataFrame(
        {
            "datetime": pd.date_range("2026-01-01", periods=rows, freq="s").astype(str),
            "pressure": base + rng.normal(0, 0.05, rows),
            "flow": 2 * base + rng.normal(0, 0.05, rows),
            "temperature": 60 + rng.normal(0, 0.1, rows),
        }
    )
    labels = np.zeros(rows, dtype=int)
    end = min(rows, anomaly_from + 100)
    labels[anomaly_from:end] = 1
    frame.loc[anomaly_from : end - 1, "flow"] += 1.5
    frame.loc[anomaly_from : end - 1, "temperature"] += 2.0
    frame["anomaly"] = labels
    return frame


def write_csv(path: Path, frame: pd.DataFrame, **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, **kwargs)
    return path
