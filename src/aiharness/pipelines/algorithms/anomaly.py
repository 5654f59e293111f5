"""Multivariate sensor anomaly detection without labels: PCA T² + Q on rolling-window features.

The detector learns what "normal" looks like from a leading window the user vouches for
(``train_rows``): it standardises every feature on that window, fits a PCA that keeps most of
the normal variance, and scores each later row by Hotelling's T² (unusual inside the normal
subspace) and the Q statistic / squared prediction error (outside it). Both are divided by their
own high quantile on the training window so that they add on one scale, then smoothed, because
faults in plant data last many samples while single-sample spikes are noise. The threshold is a
quantile of the smoothed training score times a margin: it needs no labels. A short training
window under-samples the tail of normal behaviour (and plants drift), so the margin is well above
1; 3 was chosen on SKAB (benchmarks/bench_pipelines.py) and is a run parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray
from sklearn.decomposition import PCA  # type: ignore[import-untyped,unused-ignore]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AnomalyConfig:
    window: int = 10  # samples in each rolling feature window
    variance: float = 0.95  # share of the normal variance the PCA subspace keeps
    smooth: int = 10  # samples in the score's trailing median
    quantile: float = 0.99  # training-score quantile the threshold starts from
    margin: float = 3.0  # threshold = margin x that quantile
    features: tuple[str, ...] = ("value", "mean", "std")


def rolling_features(frame: pd.DataFrame, config: AnomalyConfig) -> pd.DataFrame:
    """Per sensor: the raw value, a trailing mean and a trailing standard deviation (causal,
    so a score at time t uses nothing after t)."""
    parts: dict[str, pd.Series] = {}
    roll = frame.rolling(config.window, min_periods=1)
    mean = roll.mean()
    std = roll.std().fillna(0.0)
    for column in frame.columns:
        if "value" in config.features:
            parts[f"{column}"] = frame[column]
        if "mean" in config.features:
            parts[f"{column}__mean"] = mean[column]
        if "std" in config.features:
            parts[f"{column}__std"] = std[column]
    return pd.DataFrame(parts, index=frame.index)


@dataclass
class PcaDetector:
    """Fitted state of the detector: scaler, PCA, score normalisers and the threshold."""

    config: AnomalyConfig
    columns: list[str] = field(default_factory=list)
    center: FloatArray | None = None
    scale: FloatArray | None = None
    pca: PCA | None = None
    t2_ref: float = 1.0
    q_ref: float = 1.0
    threshold: float = 1.0

    def fit(self, sensors: pd.DataFrame, train_rows: int) -> PcaDetector:
        """Learn normal behaviour from the first ``train_rows`` rows of ``sensors``."""
        features = rolling_features(sensors, self.config)
        self.columns = list(features.columns)
        train = features.iloc[:train_rows].to_numpy(dtype=np.float64)
        self.center = train.mean(axis=0)
        spread = train.std(axis=0)
        # A sensor flat during training would divide by zero; its unit spread keeps changes visible.
        self.scale = np.where(spread > 1e-9, spread, 1.0)
        z = (train - self.center) / self.scale
        self.pca = PCA(n_components=self.config.variance, svd_solver="full").fit(z)
        t2, q = self._statistics(z)
        self.t2_ref = _positive(np.quantile(t2, self.config.quantile))
        self.q_ref = _positive(np.quantile(q, self.config.quantile))
        train_score = self._smooth(t2 / self.t2_ref + q / self.q_ref)
        self.threshold = self.config.margin * _positive(
            np.quantile(train_score, self.config.quantile)
        )
        return self

    def score(self, sensors: pd.DataFrame) -> FloatArray:
        """Smoothed anomaly score per row (above ``threshold`` means anomalous)."""
        assert self.center is not None
        assert self.scale is not None
        features = rolling_features(sensors, self.config)[self.columns]
        z = (features.to_numpy(dtype=np.float64) - self.center) / self.scale
        t2, q = self._statistics(z)
        return self._smooth(t2 / self.t2_ref + q / self.q_ref)

    def _statistics(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        assert self.pca is not None
        scores = self.pca.transform(z)
        variances = np.maximum(self.pca.explained_variance_, 1e-12)
        t2 = np.sum(scores**2 / variances, axis=1)
        residual = z - self.pca.inverse_transform(scores)
        q = np.sum(residual**2, axis=1)
        return t2, q

    def _smooth(self, score: FloatArray) -> FloatArray:
        if self.config.smooth <= 1:
            return score
        smoothed = pd.Series(score).rolling(self.config.smooth, min_periods=1).median()
        result: FloatArray = smoothed.to_numpy(dtype=np.float64)
        return result


def _positive(value: float) -> float:
    return float(value) if value > 1e-12 else 1e-12


def rolling_zscore(sensors: pd.DataFrame, train_rows: int, window: int = 30) -> FloatArray:
    """The baseline: the largest |z| over sensors of a trailing mean, z against the training
    window's mean and spread; threshold = its maximum on the training window."""
    train = sensors.iloc[:train_rows]
    spread = train.std().replace(0.0, 1.0)
    smoothed = sensors.rolling(window, min_periods=1).mean()
    z = ((smoothed - train.mean()) / spread).abs().max(axis=1)
    result: FloatArray = z.to_numpy(dtype=np.float64)
    return result
