"""Remaining useful life from run-to-failure histories: per-unit cycle features, a piecewise-
linear target, gradient boosting.

The target is capped (``cap`` cycles): early in life a unit shows no degradation, so a linear
RUL that starts at several hundred is unlearnable noise; capping is the usual piecewise-linear
model. Features only look back (trailing windows per unit), so a prediction at cycle t uses the
history up to t, as it would in service. Sensors that do not move in training are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingRegressor  # type: ignore[import-untyped,unused-ignore]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RulConfig:
    cap: int = 125  # cycles: the plateau of the piecewise-linear target
    windows: tuple[int, ...] = (10, 30)  # trailing windows in cycles
    max_iter: int = 400
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    l2: float = 1.0
    seed: int = 0


def rul_target(frame: pd.DataFrame, unit: str, cycle: str, cap: int) -> pd.Series:
    """Cycles left before each unit's last recorded cycle, capped at ``cap``."""
    last = frame.groupby(unit)[cycle].transform("max")
    return (last - frame[cycle]).clip(upper=cap).astype("float64")


def moving_sensors(frame: pd.DataFrame, sensors: Sequence[str]) -> list[str]:
    """Sensors whose training values vary (relative spread above float noise)."""
    kept = []
    for name in sensors:
        values = frame[name].astype("float64")
        if values.std() > 1e-6 * max(abs(values.mean()), 1.0):
            kept.append(name)
    return kept


def features(
    frame: pd.DataFrame, *, unit: str, cycle: str, sensors: Sequence[str], windows: Sequence[int]
) -> pd.DataFrame:
    """Per row: the cycle number, each sensor, its trailing means and slopes per unit."""
    ordered = frame.sort_values([unit, cycle])
    grouped = ordered.groupby(unit, sort=False)
    parts: dict[str, pd.Series] = {"cycle": ordered[cycle].astype("float64")}
    for name in sensors:
        series = ordered[name].astype("float64")
        parts[name] = series
        for w in windows:
            rolled = grouped[name].rolling(w, min_periods=1)
            mean = rolled.mean().reset_index(level=0, drop=True)
            parts[f"{name}__mean{w}"] = mean
            parts[f"{name}__std{w}"] = rolled.std().reset_index(level=0, drop=True).fillna(0.0)
        # Drift since the unit's first cycles: degradation as change from its own baseline.
        start = grouped[name].transform(lambda s: s.iloc[: max(windows)].mean())
        parts[f"{name}__drift"] = parts[f"{name}__mean{max(windows)}"] - start
    return pd.DataFrame(parts, index=ordered.index).loc[frame.index]


@dataclass
class RulModel:
    config: RulConfig
    unit: str = "unit"
    cycle: str = "cycle"
    sensors: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    model: HistGradientBoostingRegressor | None = None

    def fit(self, frame: pd.DataFrame, sensors: Sequence[str]) -> RulModel:
        self.sensors = moving_sensors(frame, sensors)
        x = self._features(frame)
        self.columns = list(x.columns)
        y = rul_target(frame, self.unit, self.cycle, self.config.cap)
        self.model = HistGradientBoostingRegressor(
            max_iter=self.config.max_iter,
            learning_rate=self.config.learning_rate,
            max_leaf_nodes=self.config.max_leaf_nodes,
            min_samples_leaf=self.config.min_samples_leaf,
            l2_regularization=self.config.l2,
            random_state=self.config.seed,
        ).fit(x.to_numpy(), y.to_numpy())
        return self

    def predict(self, frame: pd.DataFrame) -> FloatArray:
        assert self.model is not None
        x = self._features(frame)[self.columns]
        predicted = self.model.predict(x.to_numpy())
        result: FloatArray = np.clip(predicted, 0.0, float(self.config.cap)).astype(np.float64)
        return result

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return features(
            frame,
            unit=self.unit,
            cycle=self.cycle,
            sensors=self.sensors,
            windows=self.config.windows,
        )


def last_cycles(frame: pd.DataFrame, unit: str, cycle: str) -> pd.DataFrame:
    """Each unit's last row (where the official C-MAPSS test split is scored)."""
    return frame.loc[frame.groupby(unit)[cycle].idxmax()]


def nasa_score(true: FloatArray, predicted: FloatArray) -> float:
    """PHM08 asymmetric score: late predictions (d > 0) cost more than early ones."""
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))


def rmse(true: FloatArray, predicted: FloatArray) -> float:
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))
