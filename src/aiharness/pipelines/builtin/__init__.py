"""The pipelines that ship with the package."""

from __future__ import annotations

from aiharness.pipelines.definition import Pipeline


def builtin_pipelines() -> list[Pipeline]:
    from aiharness.pipelines.builtin.anomaly import SENSOR_ANOMALY
    from aiharness.pipelines.builtin.rul import RUL_REGRESSION
    from aiharness.pipelines.builtin.tabular import TABULAR

    return [SENSOR_ANOMALY, RUL_REGRESSION, TABULAR]
