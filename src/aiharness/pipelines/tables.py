"""Reading dataset files into DataFrames (CSV with encoding and delimiter detection, Parquet,
Excel) and profiling them. Every problem is a ``TableError`` whose message names the file."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
from charset_normalizer import from_bytes

from aiharness.pipelines.formats import FORMATS, TableError, format_of

DELIMITERS = ",;\t|"
PREVIEW_ROWS = 20
SNIFF_BYTES = 64 * 1024
# A column is a time column when this share of its values parse as dates.
MIN_TIME_SHARE = 0.9
TIME_NAMES = ("time", "timestamp", "datetime", "date", "시간", "일시", "날짜")


__all__ = ["FORMATS", "TableError", "format_of", "profile", "read_table", "time_column"]


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), then strict CP949 (Korean Windows
    exports), then charset-normalizer's best guess."""
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise TableError(f"{name}: not text in any known encoding (is it a binary file?)")
    return str(best), best.encoding


def sniff_delimiter(text: str, name: str) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields."""
    sample = "\n".join(text[:SNIFF_BYTES].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines() if line.strip()]
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        counts = {len(next(csv.reader([line], delimiter=delimiter))) for line in lines[:20]}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    return best


def read_table(path: Path, *, name: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The file as a DataFrame plus how it was read (format, encoding, delimiter)."""
    label = name or path.name
    fmt = format_of(label)
    if path.stat().st_size == 0:
        raise TableError(f"{label}: the file is empty")
    info = {"format": fmt}
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "excel":
            frame = pd.read_excel(path, engine="openpyxl")
        else:
            text, encoding = decode(path.read_bytes(), label)
            if not text.strip():
                raise TableError(f"{label}: the file is empty")
            delimiter = sniff_delimiter(text, label)
            info |= {"encoding": encoding, "delimiter": delimiter}
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, engine="c")
    except TableError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TableError(f"{label}: cannot be read as a {fmt} table ({first})") from None
    except Exception as exc:  # openpyxl/pyarrow raise their own types for corrupt files
        raise TableError(
            f"{label}: cannot be read as a {fmt} table ({type(exc).__name__})"
        ) from None
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise TableError(f"{label}: the table has no rows")
    if fmt == "csv" and frame.shape[1] == 1 and len(frame) > 1:
        raise TableError(
            f"{label}: only one column found; the delimiter could not be detected "
            f"(tried {' '.join(repr(d) for d in DELIMITERS)})"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, info


def time_column(frame: pd.DataFrame) -> str | None:
    """The first column that is, or parses as, a datetime (named ones are tried first)."""
    named = [c for c in frame.columns if str(c).lower() in TIME_NAMES]
    others = [c for c in frame.columns if c not in named and _texty(frame[c])]
    for column in [*named, *others][:10]:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            return str(column)
        if not _texty(series):
            continue
        parsed = pd.to_datetime(series.head(500), errors="coerce", format="mixed")
        if parsed.notna().mean() >= MIN_TIME_SHARE:
            return str(column)
    return None


def _texty(series: pd.Series) -> bool:
    return bool(series.dtype == object or pd.api.types.is_string_dtype(series))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else round(number, 6)


def profile(frame: pd.DataFrame, info: dict[str, str]) -> dict[str, Any]:
    """Rows, columns with types, missing share, numeric summaries, time range, a preview."""
    columns: list[dict[str, Any]] = []
    for name in frame.columns:
        series = frame[name]
        kind = (
            "numeric"
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            else "datetime"
            if pd.api.types.is_datetime64_any_dtype(series)
            else "boolean"
            if pd.api.types.is_bool_dtype(series)
            else "text"
        )
        entry: dict[str, Any] = {
            "name": str(name),
            "type": kind,
            "dtype": str(series.dtype),
            "missing_share": round(float(series.isna().mean()), 4),
            "distinct": int(series.nunique(dropna=True)),
        }
        if kind == "numeric":
            values = series.astype("float64")
            entry |= {
                "min": _number(values.min()),
                "max": _number(values.max()),
                "mean": _number(values.mean()),
                "std": _number(values.std()),
            }
        columns.append(entry)
    result: dict[str, Any] = {
        "rows": len(frame),
        "columns": columns,
        "read": info,
        "time_column": None,
        "time_range": None,
    }
    found = time_column(frame)
    if found is not None:
        times = pd.to_datetime(frame[found], errors="coerce", format="mixed")
        result["time_column"] = found
        for entry in columns:
            if entry["name"] == found:
                entry["type"] = "datetime"
        if times.notna().any():
            result["time_range"] = [times.min().isoformat(), times.max().isoformat()]
    preview = frame.head(PREVIEW_ROWS).replace({np.nan: None})
    result["preview"] = [
        [_cell(v) for v in row] for row in preview.itertuples(index=False, name=None)
    ]
    return result


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, np.generic):
        return _cell(value.item())
    return str(value)
