"""Built-in ``tabular``: classification or regression on the column named by ``target``.

The task is inferred (text or few integer levels: classification) unless given. Numbers keep
their values (the gradient-boosted trees need no scaling and handle gaps); text columns become
categories. Classes are weighted inversely to their frequency so a rare defect class counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # type: ignore[import-untyped,unused-ignore]
from sklearn.metrics import (  # type: ignore[import-untyped,unused-ignore]
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped,unused-ignore]

from aiharness.pipelines.algorithms.rul import rmse
from aiharness.pipelines.builtin.columns import require
from aiharness.pipelines.charts import confusion_chart, scatter_chart
from aiharness.pipelines.definition import Param, Pipeline, Step, StepContext, StepFailed

MAX_CLASSES_INFERRED = 20
MAX_CATEGORIES = 255  # HistGradientBoosting's limit per categorical feature


def infer_task(target: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    values = target.dropna()
    integral = bool(np.all(np.mod(values, 1) == 0))
    levels = values.nunique()
    if integral and levels <= MAX_CLASSES_INFERRED and levels <= max(2, 0.05 * len(values)):
        return "classification"
    return "regression"


def preprocess(ctx: StepContext) -> dict[str, Any]:
    frame = ctx.load_dataset()
    target = ctx.params["target"]
    require(frame, [target], "target")
    frame = frame.dropna(subset=[target])
    if len(frame) < 20:
        raise StepFailed(f"only {len(frame)} rows have a value in {target}; at least 20 needed")
    task = ctx.params["task"] or infer_task(frame[target])
    features = frame.drop(columns=[target])
    categorical: list[str] = []
    for name in list(features.columns):
        column = features[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        levels = column.nunique(dropna=True)
        if levels > MAX_CATEGORIES or levels > 0.5 * len(column):
            features = features.drop(columns=[name])  # identifiers and free text carry no signal
            ctx.log(f"dropped column {name}: {levels} distinct text values")
            continue
        features[name] = column.astype("string").fillna("(missing)")
        categorical.append(str(name))
    if features.shape[1] == 0:
        raise StepFailed("no usable feature columns besides the target")
    if task == "classification" and frame[target].nunique() < 2:
        raise StepFailed(f"target {target} has a single class; nothing to learn")
    data = features.copy()
    data["__target"] = frame[target].astype(str) if task == "classification" else frame[target]
    ctx.save_frame("processed", data.reset_index(drop=True))
    ctx.save_json("columns", {"task": task, "categorical": categorical})
    ctx.log(f"task {task}; {features.shape[1]} features ({len(categorical)} categorical)")
    return {"rows": len(data), "features": int(features.shape[1]), "task": task}


def _xy(ctx: StepContext) -> tuple[pd.DataFrame, pd.Series, str, list[str]]:
    data = ctx.load_frame("processed")
    meta = ctx.load_json("columns")
    x = data.drop(columns=["__target"])
    for name in meta["categorical"]:
        x[name] = x[name].astype("category")
    return x, data["__target"], meta["task"], meta["categorical"]


def _split(ctx: StepContext, x: pd.DataFrame, y: pd.Series, task: str) -> list[Any]:
    stratify = y if task == "classification" and y.value_counts().min() >= 2 else None
    parts: list[Any] = train_test_split(
        x,
        y,
        test_size=float(ctx.params["test_fraction"]),
        random_state=int(ctx.params["seed"]),
        stratify=stratify,
    )
    return parts


def train(ctx: StepContext) -> dict[str, Any]:
    x, y, task, _ = _xy(ctx)
    x_train, _, y_train, _ = _split(ctx, x, y, task)
    common = {
        "max_iter": int(ctx.params["max_iter"]),
        "learning_rate": float(ctx.params["learning_rate"]),
        "categorical_features": "from_dtype",
        "random_state": int(ctx.params["seed"]),
    }
    model: Any
    if task == "classification":
        model = HistGradientBoostingClassifier(class_weight="balanced", **common)
    else:
        model = HistGradientBoostingRegressor(**common)
    ctx.check_cancelled()
    model.fit(x_train, y_train)
    ctx.save_model(model)
    ctx.log(f"trained a {type(model).__name__} on {len(x_train)} rows")
    return {"train_rows": len(x_train)}


def evaluate(ctx: StepContext) -> dict[str, Any]:
    x, y, task, _ = _xy(ctx)
    _, x_test, _, y_test = _split(ctx, x, y, task)
    model = ctx.load_model()
    predicted = model.predict(x_test)
    metrics: dict[str, Any] = {"test_rows": len(x_test)}
    if task == "classification":
        classes = [str(c) for c in model.classes_]
        metrics |= {
            "accuracy": float(accuracy_score(y_test, predicted)),
            "f1_macro": float(f1_score(y_test, predicted, average="macro", zero_division=0)),
        }
        if len(classes) == 2:
            metrics["f1"] = float(
                f1_score(y_test, predicted, pos_label=classes[1], zero_division=0)
            )
        proba = model.predict_proba(x_test)
        if len(set(y_test)) == len(classes):
            metrics["roc_auc"] = float(
                roc_auc_score(y_test, proba[:, 1])
                if len(classes) == 2
                else roc_auc_score(y_test, proba, multi_class="ovr", labels=classes)
            )
        matrix = confusion_matrix(y_test, predicted, labels=classes)
        metrics["confusion_matrix"] = {"classes": classes, "matrix": matrix.tolist()}
        ctx.save_plot(
            "confusion_matrix",
            confusion_chart(matrix.tolist(), classes, title="confusion matrix (test rows)"),
        )
    else:
        truth = y_test.to_numpy(dtype=np.float64)
        metrics |= {
            "rmse": rmse(truth, predicted),
            "mae": float(mean_absolute_error(truth, predicted)),
            "r2": float(r2_score(truth, predicted)),
        }
        ctx.save_plot(
            "pred_vs_actual",
            scatter_chart(truth, predicted, title="predicted vs actual (test rows)"),
        )
    ctx.log(
        "metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    )
    return metrics


TABULAR = Pipeline(
    name="tabular",
    description="Classification or regression on the column named by `target` (task inferred, "
    "class imbalance weighted): F1/ROC-AUC or RMSE/MAE/R².",
    steps=(
        Step("preprocess", preprocess, "features, categories, task type"),
        Step("train", train, "gradient-boosted trees"),
        Step("evaluate", evaluate, "held-out rows: metrics and charts"),
    ),
    params=(
        Param("target", "str", "target", "column to predict"),
        Param(
            "task",
            "str",
            None,
            "classification or regression (empty: inferred)",
            choices=("classification", "regression"),
            optional=True,
        ),
        Param("test_fraction", "float", 0.25, "share of rows held out", minimum=0.05, maximum=0.5),
        Param("max_iter", "int", 300, "boosting iterations", minimum=10, maximum=5000),
        Param("learning_rate", "float", 0.05, "learning rate", minimum=0.001, maximum=1.0),
        Param("seed", "int", 0, "random seed"),
    ),
)
