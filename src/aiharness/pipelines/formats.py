"""Which dataset files the platform reads, and the error for the ones it cannot; no pandas here,
so the modules every process imports (the job handlers) stay light."""

from __future__ import annotations

from pathlib import Path

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".xlsx": "excel"}


class TableError(ValueError):
    """The file cannot be read as a table; the message says why in one line."""


def format_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise TableError(f"{name}: unsupported file type {suffix or '(none)'}; use one of {known}")
    return FORMATS[suffix]
