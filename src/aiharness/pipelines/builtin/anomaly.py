"""Built-in ``sensor_anomaly``: multivariate anomaly detection on sensor time series.

preprocess: numeric sensors (time column and labels excluded), sorted by time, gaps filled
from the previous reading; train: PCA T²+Q on the leading anomaly-free window; evaluate:
scores, flags, the score chart, and precision/recall/F1/ROC-AUC/FAR/MAR when labels exist.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score  # type: ignore[import-untyped,unused-ignore]

from aiharness.pipelines.algorithms.anomaly import AnomalyConfig, PcaDetector
from aiharness.pipelines.builtin.columns import numeric_columns, require, split_names
from aiharness.pipelines.charts import score_chart
from aiharness.pipelines.definition import Param, Pipeline, Step, StepContext, StepFailed
from aiharness.pipelines.tables import time_column

LABEL = "__label"
LABEL_GUESSES = ("anomaly", "label", "is_anomaly", "fault")
# Columns that describe events, not sensor readings (SKAB's change points, for example).
NOT_SENSORS = ("changepoint", "change_point")


def _train_rows(ctx: StepContext, rows: int) -> int:
    explicit = ctx.params["train_rows"]
    wanted = int(explicit) if explicit else int(rows * float(ctx.params["train_fraction"]))
    if wanted < 20:
        raise StepFailed(f"the training window has {wanted} rows; at least 20 are needed")
    if wanted >= rows:
        raise StepFailed(f"the training window ({wanted} rows) covers all {rows} rows")
    return wanted


def preprocess(ctx: StepContext) -> dict[str, Any]:
    frame = ctx.load_dataset()
    label = ctx.params["label_column"] or next(
        (c for c in frame.columns if str(c).lower() in LABEL_GUESSES), None
    )
    if label:
        require(frame, [label], "label")
    found_time = time_column(frame)
    if found_time is not None:
        frame = frame.assign(**{found_time: pd.to_datetime(frame[found_time], format="mixed")})
        frame = frame.sort_values(found_time, kind="stable")
    excluded = {c for c in (label, found_time) if c} | {
        c for c in frame.columns if str(c).lower() in NOT_SENSORS
    }
    sensors = numeric_columns(
        frame, chosen=split_names(ctx.params["sensors"]), exclude=sorted(excluded)
    )
    data = frame[sensors].astype("float64").ffill().bfill()
    if data.isna().all().any():
        empty = [c for c in sensors if data[c].isna().all()]
        raise StepFailed(f"sensor column {', '.join(empty)} has no values")
    if label:
        data[LABEL] = (pd.to_numeric(frame[label], errors="coerce").fillna(0) > 0).astype(int)
    if found_time:
        data["__time"] = frame[found_time].astype(str)
    ctx.save_frame("processed", data.reset_index(drop=True))
    ctx.log(f"{len(data)} rows, sensors: {', '.join(sensors)}; labels: {label or 'none'}")
    return {"rows": len(data), "sensors": len(sensors), "has_labels": bool(label)}


def _sensors(data: pd.DataFrame) -> pd.DataFrame:
    return data[[c for c in data.columns if not c.startswith("__")]]


def train(ctx: StepContext) -> dict[str, Any]:
    data = ctx.load_frame("processed")
    rows = _train_rows(ctx, len(data))
    config = AnomalyConfig(
        window=int(ctx.params["window"]),
        smooth=int(ctx.params["smooth"]),
        variance=float(ctx.params["variance"]),
        quantile=float(ctx.params["quantile"]),
        margin=float(ctx.params["margin"]),
    )
    if LABEL in data and data[LABEL].iloc[:rows].mean() > 0.05:
        ctx.log(
            f"warning: {data[LABEL].iloc[:rows].mean():.0%} of the training window is labelled "
            "anomalous; the detector learns it as normal"
        )
    detector = PcaDetector(config).fit(_sensors(data), rows)
    assert detector.pca is not None
    ctx.save_model({"detector": detector, "train_rows": rows})
    ctx.log(
        f"trained on {rows} rows; {detector.pca.n_components_} components; "
        f"threshold {detector.threshold:.4g}"
    )
    return {
        "train_rows": rows,
        "components": int(detector.pca.n_components_),
        "threshold": float(detector.threshold),
    }


def evaluate(ctx: StepContext) -> dict[str, Any]:
    data = ctx.load_frame("processed")
    state = ctx.load_model()
    detector: PcaDetector = state["detector"]
    rows: int = state["train_rows"]
    score = detector.score(_sensors(data))
    flags = (score > detector.threshold).astype(int)
    out = pd.DataFrame({"score": score, "anomaly": flags})
    if "__time" in data:
        out.insert(0, "time", data["__time"])
    labels = data[LABEL].to_numpy() if LABEL in data else None
    if labels is not None:
        out["label"] = labels
    ctx.save_frame("scores", out)
    ctx.save_plot(
        "anomaly_score",
        score_chart(
            score,
            threshold=detector.threshold,
            labels=labels,
            train_rows=rows,
            title=f"anomaly score ({ctx.dataset_name})",
        ),
    )
    test = slice(rows, None)
    metrics: dict[str, Any] = {
        "threshold": float(detector.threshold),
        "flagged_share": float(flags[test].mean()),
        "flagged_rows": int(flags[test].sum()),
    }
    if labels is not None:
        y, p = labels[test], flags[test]
        metrics |= {
            "precision": float(precision_score(y, p, zero_division=0)),
            "recall": float(recall_score(y, p, zero_division=0)),
            "f1": float(f1_score(y, p, zero_division=0)),
            "far": float(((p == 1) & (y == 0)).sum() / max((y == 0).sum(), 1)),
            "mar": float(((p == 0) & (y == 1)).sum() / max((y == 1).sum(), 1)),
        }
        if len(np.unique(y)) == 2:
            metrics["roc_auc"] = float(roc_auc_score(y, score[test]))
    ctx.log("metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
    return metrics


SENSOR_ANOMALY = Pipeline(
    name="sensor_anomaly",
    description="Multivariate sensor anomaly detection: PCA T²+Q on rolling features, trained "
    "on a leading anomaly-free window, label-free threshold.",
    steps=(
        Step("preprocess", preprocess, "numeric sensors, time order, gaps filled"),
        Step("train", train, "fit the detector on the training window"),
        Step("evaluate", evaluate, "score every row; metrics when labels exist"),
    ),
    params=(
        Param(
            "train_rows",
            "int",
            None,
            "rows of the anomaly-free training window",
            minimum=1,
            optional=True,
        ),
        Param(
            "train_fraction",
            "float",
            0.3,
            "training share when train_rows is empty",
            minimum=0.05,
            maximum=0.9,
        ),
        Param("sensors", "str", "", "comma-separated sensor columns (empty: all numeric)"),
        Param("label_column", "str", "", "0/1 anomaly labels (empty: guessed, e.g. anomaly)"),
        Param("window", "int", 10, "rolling feature window in samples", minimum=1, maximum=10000),
        Param("smooth", "int", 10, "score smoothing window in samples", minimum=1, maximum=10000),
        Param(
            "variance", "float", 0.95, "normal variance kept by the PCA", minimum=0.5, maximum=0.999
        ),
        Param(
            "quantile",
            "float",
            0.99,
            "training-score quantile for the threshold",
            minimum=0.5,
            maximum=1.0,
        ),
        Param(
            "margin", "float", 3.0, "threshold = margin x that quantile", minimum=0.1, maximum=100.0
        ),
    ),
)
