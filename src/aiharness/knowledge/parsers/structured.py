"""CSV and JSON: rows as ``header: value`` text, JSON as flattened ``key.path: value`` lines."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from aiharness.knowledge.documents import ParsedDocument, ParseError
from aiharness.knowledge.encoding import decode_text
from aiharness.knowledge.parsers.common import format_cell, header_names, keep, row_text, section
from aiharness.knowledge.parsers.limits import ParseLimits

_DELIMITERS = ",;\t|"


def parse_csv(data: bytes, *, file_name: str, limits: ParseLimits) -> ParsedDocument:
    decoded = decode_text(data, file_name=file_name)
    text = decoded.text.lstrip("\ufeff")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:20_000], delimiters=_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    headers: list[str] | None = None
    lines: list[str] = []
    rows = 0
    try:
        for values in csv.reader(io.StringIO(text), dialect):
            if not any(v.strip() for v in values):
                continue
            if headers is None:
                headers = header_names(values)
                continue
            rows += 1
            if rows > limits.max_rows:
                raise ParseError(f"{file_name} has more than {limits.max_rows:,} rows (the limit).")
            lines.append(row_text(headers, values))
    except csv.Error as exc:
        raise ParseError(f"{file_name} is not valid CSV: {exc}.") from exc
    if headers is not None and not lines:
        # A header-only file still says something (the column names); keep it searchable.
        lines.append(" | ".join(h for h in headers if h))
    return ParsedDocument(
        sections=keep([section("\n".join(lines))]),
        page_count=None,
        metadata={"encoding": decoded.encoding, "columns": headers or [], "rows": rows},
    )


def parse_json(data: bytes, *, file_name: str) -> ParsedDocument:
    decoded = decode_text(data, file_name=file_name)
    try:
        value = json.loads(decoded.text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{file_name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise ParseError(f"{file_name} is nested too deeply to read.") from exc
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        # A list of records: one block per record so chunks keep records whole.
        blocks = ["\n".join(flatten_json(v)) for v in value]
        text = "\n\n".join(b for b in blocks if b)
    else:
        text = "\n".join(flatten_json(value))
    return ParsedDocument(
        sections=keep([section(text)]),
        page_count=None,
        metadata={"encoding": decoded.encoding},
    )


def flatten_json(value: Any) -> list[str]:
    """``{"a": {"b": [1, 2]}}`` -> ``["a.b[0]: 1", "a.b[1]: 2"]`` (iterative)."""
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            children = [(f"{path}.{k}" if path else str(k), v) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}[{i}]", v) for i, v in enumerate(item)]))
        else:
            cell = format_cell(item)
            if cell:
                out.append(f"{path}: {cell}" if path else cell)
    return out
