"""Figures for the pipelines feature (issue 11), on ../shared/datasets/timeseries.

Run: uv run python benchmarks/bench_pipelines.py [--only skab|cmapss|watcher]

- SKAB with SKAB's protocol (each experiment's first 400 rows are the anomaly-free training
  part; the rest is scored): F1, FAR and MAR per group (valve1, valve2, other) over the pooled
  test rows, and their mean, for the built-in detector (default parameters) and a rolling
  z-score baseline run here. Target: mean F1 >= 0.78.
- C-MAPSS FD001, official test split (score each test unit's last cycle against RUL_FD001):
  RMSE and NASA score of the built-in RUL model against predicting the training mean.
  Target: RMSE <= 15.
- Platform overhead: the built-in rul_regression pipeline on train_FD001 through the API and
  the job system (in-process job runner, SQLite) against the same step functions called as a
  plain script. Target: <= 10 %.
- Watcher latency: from a file complete in the inbound folder to its run recorded. Target:
  <= stable_seconds + 5 s.
Data is read in place; temporary copies go to a temp dir, never into the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "datasets" / "timeseries"
SKAB_GROUPS = ("valve1", "valve2", "other")
SKAB_TRAIN = 400
CMAPSS_COLUMNS = ["unit", "cycle", "op1", "op2", "op3"] + [f"s{i}" for i in range(1, 22)]


def rates(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    tp = int(((y == 1) & (p == 1)).sum())
    fp = int(((y == 0) & (p == 1)).sum())
    fn = int(((y == 1) & (p == 0)).sum())
    tn = int(((y == 0) & (p == 0)).sum())
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    return f1, fp / max(fp + tn, 1), fn / max(fn + tp, 1)


def bench_skab() -> None:
    from aiharness.pipelines.algorithms.anomaly import AnomalyConfig, PcaDetector, rolling_zscore

    print("SKAB (first 400 rows of each experiment train; F1 / FAR / MAR on the rest)")
    print(
        f"{'group':8} {'files':>5} | {'ours F1':>7} {'FAR':>6} {'MAR':>6} | "
        f"{'z-score F1':>10} {'FAR':>6} {'MAR':>6}"
    )
    ours_f1: list[float] = []
    base_f1: list[float] = []
    started = time.perf_counter()
    for group in SKAB_GROUPS:
        files = sorted((DATA / "skab" / group).glob("*.csv"))
        ys, ps, bs = [], [], []
        for name in files:
            frame = pd.read_csv(name, sep=";", index_col="datetime")
            sensors = frame.drop(columns=["anomaly", "changepoint"])
            detector = PcaDetector(AnomalyConfig()).fit(sensors, SKAB_TRAIN)
            score = detector.score(sensors)
            ps.append((score > detector.threshold).astype(int)[SKAB_TRAIN:])
            z = rolling_zscore(sensors, SKAB_TRAIN)
            bs.append((z > z[:SKAB_TRAIN].max()).astype(int)[SKAB_TRAIN:])
            ys.append(frame["anomaly"].to_numpy().astype(int)[SKAB_TRAIN:])
        y = np.concatenate(ys)
        ours = rates(y, np.concatenate(ps))
        base = rates(y, np.concatenate(bs))
        ours_f1.append(ours[0])
        base_f1.append(base[0])
        print(
            f"{group:8} {len(files):>5} | {ours[0]:7.3f} {ours[1]:6.3f} {ours[2]:6.3f} | "
            f"{base[0]:10.3f} {base[1]:6.3f} {base[2]:6.3f}"
        )
    print(
        f"{'mean':8} {'':>5} | {np.mean(ours_f1):7.3f} {'':>6} {'':>6} | {np.mean(base_f1):10.3f}"
    )
    print(
        f"SKAB mean F1 {np.mean(ours_f1):.3f} (target >= 0.78), rolling z-score "
        f"{np.mean(base_f1):.3f}; {time.perf_counter() - started:.1f} s"
    )


def cmapss(name: str) -> pd.DataFrame:
    path = DATA / "cmapss-fd001" / name
    return pd.read_csv(path, sep=r"\s+", header=None, names=CMAPSS_COLUMNS)


def bench_cmapss_official() -> None:
    from aiharness.pipelines.algorithms.rul import RulConfig, RulModel, nasa_score, rmse

    train, test = cmapss("train_FD001.txt"), cmapss("test_FD001.txt")
    truth = pd.read_csv(DATA / "cmapss-fd001" / "RUL_FD001.txt", header=None)[0].to_numpy(float)
    sensors = [c for c in CMAPSS_COLUMNS if c not in ("unit", "cycle")]
    started = time.perf_counter()
    model = RulModel(RulConfig()).fit(train, sensors)
    predicted = pd.Series(model.predict(test), index=test.index)
    last = test.groupby("unit")["cycle"].idxmax().to_numpy()
    ours = predicted.loc[last].to_numpy()
    elapsed = time.perf_counter() - started
    # The training mean of the RUL target over every training row, for every test unit.
    mean_rul = float((train.groupby("unit")["cycle"].transform("max") - train["cycle"]).mean())
    baseline = np.full_like(truth, mean_rul)
    print("C-MAPSS FD001 official test split (100 units, last cycle)")
    print(
        f"  ours: RMSE {rmse(truth, ours):.2f}  NASA {nasa_score(truth, ours):.1f}  "
        f"(fit+predict {elapsed:.1f} s; target RMSE <= 15)"
    )
    print(
        f"  training mean ({mean_rul:.1f} cycles): RMSE {rmse(truth, baseline):.2f}  "
        f"NASA {nasa_score(truth, baseline):.3g}"
    )


def bench_overhead(repeat: int = 2) -> None:
    from fastapi.testclient import TestClient
    from tests.pipelines.pl_fixtures import drain_jobs, pl_settings_for

    from aiharness.app import create_app
    from aiharness.pipelines.builtin.rul import RUL_REGRESSION
    from aiharness.pipelines.definition import StepContext

    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        csv = tmp / "data" / "fd001-train.csv"
        csv.parent.mkdir(parents=True)
        cmapss("train_FD001.txt").to_csv(csv, index=False)
        params = RUL_REGRESSION.validate_params({})

        def plain() -> float:
            run_dir = tmp / f"plain-{time.perf_counter_ns()}"
            (run_dir / "logs").mkdir(parents=True)
            ctx = StepContext(
                run_id="plain",
                params=params,
                dataset_path=csv,
                dataset_name=csv.name,
                run_dir=run_dir,
                log_file=run_dir / "logs" / "plain.log",
            )
            began = time.perf_counter()
            for step in RUL_REGRESSION.steps:
                step.run(ctx)
            return time.perf_counter() - began

        app = create_app(pl_settings_for(tmp))
        with TestClient(app) as client:
            client.get("/api/pipelines")  # loads the registry, as a running server has

            def platform() -> tuple[float, float]:
                """Wall seconds from registration to the finished run, and the seconds the
                step functions themselves took (recorded per step by the runner)."""
                began = time.perf_counter()
                registered = client.post("/api/datasets", json={"path": str(csv)}).json()
                run = client.post(
                    "/api/runs",
                    json={
                        "dataset_id": registered["dataset"]["id"],
                        "pipeline": RUL_REGRESSION.name,
                    },
                ).json()
                drain_jobs(app.state.platform)
                detail = client.get(f"/api/runs/{run['id']}").json()
                assert detail["status"] == "succeeded", detail["error"]
                in_steps = sum(s["duration_s"] for s in detail["steps"])
                return time.perf_counter() - began, in_steps

            # Interleaved so that load from other processes hits both sides alike.
            plain_times: list[float] = []
            platform_runs: list[tuple[float, float]] = []
            for _ in range(repeat):
                plain_times.append(plain())
                platform_runs.append(platform())
            plain_s = min(plain_times)
            platform_s, in_steps = min(platform_runs)
            metrics = detail_metrics(client)
    overhead = (platform_s - plain_s) / plain_s * 100
    outside = platform_s - in_steps
    print(f"Platform overhead, rul_regression on train_FD001 (20,631 rows; best of {repeat})")
    print(
        f"  plain script {plain_s:.2f} s, platform (register + API + 3 step jobs + DB) "
        f"{platform_s:.2f} s: {overhead:+.1f} % (target <= 10 %)"
    )
    print(
        f"  within that platform run: {in_steps:.2f} s in the step functions, {outside:.2f} s "
        f"outside them ({outside / in_steps * 100:.1f} % of the step time; robust to machine load)"
    )
    print(f"  held-out units: {metrics}")


def detail_metrics(client: Any) -> str:
    runs = client.get("/api/runs").json()
    evaluation = runs[0]["metrics"].get("evaluate", {})
    return ", ".join(f"{k} {v:.2f}" for k, v in evaluation.items() if isinstance(v, float))


def bench_watcher(stable_seconds: float = 2.0, poll_s: float = 0.5, files: int = 3) -> None:
    from sqlalchemy import select
    from tests.pipelines.pl_fixtures import pl_settings_for

    from aiharness.features import FEATURES
    from aiharness.pipelines.models import InboundFile, Run
    from aiharness.pipelines.sample import write_sample
    from aiharness.pipelines.watcher import InboundWatcher
    from aiharness.platform import build_platform

    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        settings = pl_settings_for(tmp, stable_seconds=stable_seconds, poll_interval_s=poll_s)
        platform = build_platform(settings, role="worker", features=FEATURES)
        watcher = next(s for s in platform.services if isinstance(s, InboundWatcher))
        watcher.start()
        # Measure the steady state: the watcher loads the pipelines once when it starts.
        while "registry" not in vars(watcher.runtime):
            time.sleep(0.1)
        latencies: list[float] = []
        detected: list[float] = []
        try:
            for _ in range(files):
                path = write_sample(tmp / "data" / "inbound", rows=400)
                complete = time.time()
                while True:
                    with platform.unit_of_work() as session:
                        record = session.scalar(
                            select(InboundFile).where(InboundFile.path == str(path))
                        )
                        run = session.get(Run, record.run_id) if record and record.run_id else None
                    if run is not None and record is not None and record.seen_complete_at:
                        latencies.append(run.created_at.timestamp() - complete)
                        detected.append(record.seen_complete_at.timestamp() - complete)
                        break
                    if time.time() - complete > stable_seconds + 30:
                        raise SystemExit(f"watcher did not pick up {path.name}")
                    time.sleep(0.05)
        finally:
            watcher.stop()
            platform.close()
    print(
        f"Watcher latency, file complete -> run started (stable_seconds {stable_seconds:g}, "
        f"poll {poll_s:g} s, {files} files)"
    )
    print(
        f"  mean {np.mean(latencies):.2f} s, max {max(latencies):.2f} s "
        f"(target <= {stable_seconds + 5:g} s); seen complete after {np.mean(detected):.2f} s "
        "on average, the rest is registering and queueing"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("skab", "cmapss", "overhead", "watcher"))
    parser.add_argument("--repeat", type=int, default=2, help="overhead: runs of each side")
    args = parser.parse_args()
    if args.only in (None, "skab"):
        bench_skab()
    if args.only in (None, "cmapss"):
        bench_cmapss_official()
    if args.only in (None, "overhead"):
        bench_overhead(args.repeat)
    if args.only in (None, "watcher"):
        bench_watcher()


if __name__ == "__main__":
    main()
