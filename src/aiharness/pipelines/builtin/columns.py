"""Column choices shared by the built-ins: named columns must exist and sensors must be numbers."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd  # type: ignore[import-untyped,unused-ignore]

from aiharness.pipelines.definition import StepFailed


def split_names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def require(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:30]))
        raise StepFailed(f"{what} column {', '.join(missing)} not in the dataset (columns: {have})")


def numeric_columns(
    frame: pd.DataFrame, *, chosen: Sequence[str], exclude: Sequence[str], what: str = "sensor"
) -> list[str]:
    """The chosen columns (each must be numeric) or every numeric column not excluded."""
    if chosen:
        require(frame, chosen, what)
        bad = [c for c in chosen if not pd.api.types.is_numeric_dtype(frame[c])]
        if bad:
            raise StepFailed(
                f"{what} column {', '.join(bad)} is not numeric (e.g. "
                f"{frame[bad[0]].dropna().astype(str).head(1).tolist()}); choose numeric columns"
            )
        return list(chosen)
    found = [
        str(c)
        for c in frame.columns
        if c not in exclude
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if not found:
        raise StepFailed(f"the dataset has no numeric {what} columns")
    return found
