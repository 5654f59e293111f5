"""A synthetic pump-sensor file with injected anomalies, so the demo needs nothing else.

Physically linked signals (speed drives flow, pressure and current; bearings warm with load)
with noise and slow drift; after a normal leading part, three faults are injected and labelled:
cavitation (flow and pressure drop, vibration rises), a bearing fault (vibration and
temperature climb) and a sensor stuck at one value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]

DEFAULT_ROWS = 2000
NORMAL_SHARE = 0.4  # leading anomaly-free part (train the detector on it)


def pump_frame(rows: int = DEFAULT_ROWS, *, seed: int = 7) -> pd.DataFrame:
    if rows < 200:
        raise ValueError("a sample needs at least 200 rows")
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    speed = 1480 + 15 * np.sin(2 * np.pi * t / 300) + rng.normal(0, 2, rows)
    load = speed / 1480
    flow = 120 * load + rng.normal(0, 0.8, rows)
    pressure = 6.0 * load**2 + rng.normal(0, 0.04, rows)
    current = 35 * load**3 + rng.normal(0, 0.3, rows)
    vibration = 1.2 + 0.2 * load + rng.normal(0, 0.05, rows)
    temperature = 55 + 5 * load + np.cumsum(rng.normal(0, 0.01, rows))
    label = np.zeros(rows, dtype=int)
    start = int(rows * NORMAL_SHARE)
    span = max(20, rows // 12)
    cavitation = slice(start + span, start + 2 * span)
    flow[cavitation] -= 18
    pressure[cavitation] -= 0.9
    vibration[cavitation] += 0.9 + rng.normal(0, 0.2, span)
    label[cavitation] = 1
    bearing = slice(start + 4 * span, start + 5 * span)
    ramp = np.linspace(0, 1, span)
    vibration[bearing] += 1.5 * ramp
    temperature[bearing] += 12 * ramp
    label[bearing] = 1
    stuck = slice(start + 7 * span, min(rows, start + 8 * span))
    current[stuck] = current[stuck.start]
    flow[stuck] += 10
    label[stuck] = 1
    times = pd.date_range(datetime(2026, 1, 1, tzinfo=UTC), periods=rows, freq="s")
    return pd.DataFrame(
        {
            "timestamp": times.strftime("%Y-%m-%d %H:%M:%S"),
            "speed_rpm": speed.round(2),
            "flow_m3h": flow.round(3),
            "pressure_bar": pressure.round(4),
            "current_a": current.round(3),
            "vibration_mms": vibration.round(4),
            "temperature_c": temperature.round(3),
            "anomaly": label,
        }
    )


def write_sample(folder: Path, *, rows: int = DEFAULT_ROWS, seed: int = 7) -> Path:
    """Write ``pump-sample-<time>.csv`` into ``folder`` atomically (a temp name, then a rename),
    so a watcher never sees it half-written."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"pump-sample-{stamp}.csv"
    temp = folder / f".{target.name}.part"
    pump_frame(rows, seed=seed).to_csv(temp, index=False)
    temp.replace(target)
    return target
