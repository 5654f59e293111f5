"""Built-in ``rul_regression``: remaining useful life of units run to failure.

preprocess: unit and cycle columns, numeric sensors; train: gradient boosting on trailing
per-unit features against a capped (piecewise-linear) RUL, on a share of the units; evaluate:
on the held-out units, RMSE/MAE/NASA score at every cycle (against the capped target) and at
one random cut-off cycle per unit against the true RUL (how C-MAPSS test units are scored).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from aiharness.pipelines.algorithms.rul import RulConfig, RulModel, nasa_score, rmse, rul_target
from aiharness.pipelines.builtin.columns import numeric_columns, require, split_names
from aiharness.pipelines.charts import scatter_chart
from aiharness.pipelines.definition import Param, Pipeline, Step, StepContext, StepFailed

MIN_UNITS = 4


def preprocess(ctx: StepContext) -> dict[str, Any]:
    frame = ctx.load_dataset()
    unit, cycle = ctx.params["unit_column"], ctx.params["cycle_column"]
    require(frame, [unit, cycle], "unit/cycle")
    if not pd.api.types.is_numeric_dtype(frame[cycle]):
        raise StepFailed(f"cycle column {cycle} is not numeric")
    sensors = numeric_columns(
        frame, chosen=split_names(ctx.params["sensors"]), exclude=[unit, cycle]
    )
    data = frame[[unit, cycle, *sensors]].dropna(subset=[unit, cycle])
    data = data.rename(columns={unit: "unit", cycle: "cycle"})
    data[sensors] = data.groupby("unit")[sensors].ffill().fillna(data[sensors].median())
    units = data["unit"].nunique()
    if units < MIN_UNITS:
        raise StepFailed(f"{units} units found in {unit}; at least {MIN_UNITS} are needed")
    ctx.save_frame("processed", data.reset_index(drop=True))
    ctx.save_json("columns", {"sensors": sensors})
    ctx.log(f"{len(data)} rows, {units} units, {len(sensors)} sensors")
    return {"rows": len(data), "units": int(units), "sensors": len(sensors)}


def _split(data: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    units = np.array(sorted(data["unit"].unique()))
    rng = np.random.default_rng(seed)
    held = set(rng.choice(units, size=max(1, round(len(units) * fraction)), replace=False))
    mask = data["unit"].isin(held)
    return data[~mask], data[mask]


def train(ctx: StepContext) -> dict[str, Any]:
    data = ctx.load_frame("processed")
    sensors = ctx.load_json("columns")["sensors"]
    fit_part, _ = _split(data, float(ctx.params["test_fraction"]), int(ctx.params["seed"]))
    config = RulConfig(
        cap=int(ctx.params["cap"]),
        max_iter=int(ctx.params["max_iter"]),
        learning_rate=float(ctx.params["learning_rate"]),
        seed=int(ctx.params["seed"]),
    )
    ctx.check_cancelled()
    model = RulModel(config).fit(fit_part, sensors)
    ctx.save_model(model)
    ctx.log(f"trained on {fit_part['unit'].nunique()} units; sensors kept: {len(model.sensors)}")
    return {"train_units": int(fit_part["unit"].nunique()), "sensors_used": len(model.sensors)}


def evaluate(ctx: StepContext) -> dict[str, Any]:
    data = ctx.load_frame("processed")
    model: RulModel = ctx.load_model()
    _, held = _split(data, float(ctx.params["test_fraction"]), int(ctx.params["seed"]))
    capped = rul_target(held, "unit", "cycle", model.config.cap).to_numpy()
    predicted = model.predict(held)
    rng = np.random.default_rng(int(ctx.params["seed"]))
    true_cut: list[float] = []
    pred_cut: list[float] = []
    for _, rows in held.groupby("unit"):
        rows = rows.sort_values("cycle")
        cut = int(rng.integers(max(1, len(rows) // 4), len(rows) + 1))
        part = rows.iloc[:cut]
        true_cut.append(float(rows["cycle"].max() - part["cycle"].max()))
        pred_cut.append(float(model.predict(part)[-1]))
    tc, pc = np.array(true_cut), np.array(pred_cut)
    ctx.save_frame(
        "predictions",
        pd.DataFrame(
            {
                "unit": held["unit"].to_numpy(),
                "cycle": held["cycle"].to_numpy(),
                "rul_capped": capped,
                "predicted": predicted,
            }
        ),
    )
    ctx.save_plot(
        "rul_pred_vs_actual",
        scatter_chart(
            capped, predicted, title="predicted vs actual RUL (held-out units)", label="RUL"
        ),
    )
    metrics = {
        "rmse": rmse(capped, predicted),
        "mae": float(np.mean(np.abs(predicted - capped))),
        "nasa_score": nasa_score(capped, predicted),
        "rmse_cutoff": rmse(tc, pc),
        "nasa_score_cutoff": nasa_score(tc, pc),
        "test_units": int(held["unit"].nunique()),
    }
    ctx.log("metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
    return metrics


RUL_REGRESSION = Pipeline(
    name="rul_regression",
    description="Remaining useful life: per-unit trailing cycle features, piecewise-linear "
    "target, gradient boosting; RMSE, MAE and the NASA score on held-out units.",
    steps=(
        Step("preprocess", preprocess, "units, cycles and numeric sensors"),
        Step("train", train, "gradient boosting on the training units"),
        Step("evaluate", evaluate, "held-out units: RMSE, MAE, NASA score"),
    ),
    params=(
        Param("unit_column", "str", "unit", "column naming the unit (engine, pump, ...)"),
        Param("cycle_column", "str", "cycle", "column counting cycles or time steps"),
        Param("sensors", "str", "", "comma-separated sensor columns (empty: all numeric)"),
        Param("cap", "int", 125, "RUL plateau of the piecewise-linear target", minimum=1),
        Param("test_fraction", "float", 0.2, "share of units held out", minimum=0.05, maximum=0.5),
        Param("max_iter", "int", 400, "boosting iterations", minimum=10, maximum=5000),
        Param("learning_rate", "float", 0.05, "boosting learning rate", minimum=0.001, maximum=1.0),
        Param("seed", "int", 0, "random seed of the unit split and the model"),
    ),
)
