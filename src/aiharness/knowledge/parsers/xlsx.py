"""Excel ``.xlsx`` via openpyxl (read-only, cached values): a section per sheet, rows as text."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]

from aiharness.knowledge.documents import ParsedDocument, ParsedSection, ParseError
from aiharness.knowledge.parsers.common import header_names, keep, row_text, section
from aiharness.knowledge.parsers.limits import ParseLimits


def parse_xlsx(path: Path, *, file_name: str, limits: ParseLimits) -> ParsedDocument:
    with warnings.catch_warnings():
        # openpyxl warns about styles and extensions it ignores; they do not affect the text.
        warnings.simplefilter("ignore")
        # A file object, not the path: openpyxl refuses paths whose extension is not .xlsx, and
        # uploads are stored under names of our own.
        with path.open("rb") as f:
            workbook = openpyxl.load_workbook(f, read_only=True, data_only=True)
            try:
                return _parse(workbook, file_name=file_name, limits=limits)
            finally:
                workbook.close()


def _parse(workbook: Any, *, file_name: str, limits: ParseLimits) -> ParsedDocument:
    names = list(workbook.sheetnames)
    if len(names) > limits.max_pages:
        raise ParseError(f"{file_name} has {len(names):,} sheets (limit {limits.max_pages:,}).")
    sections: list[ParsedSection | None] = []
    total_rows = 0
    for number, name in enumerate(names, start=1):
        sheet = workbook[name]
        if not hasattr(sheet, "iter_rows"):  # chart sheets have no cells
            continue
        headers: list[str] | None = None
        lines: list[str] = []
        for values in sheet.iter_rows(values_only=True):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if headers is None:
                headers = header_names(values)
                continue
            total_rows += 1
            if total_rows > limits.max_rows:
                raise ParseError(f"{file_name} has more than {limits.max_rows:,} rows (the limit).")
            lines.append(row_text(headers, values))
        if headers is not None and not lines:
            lines.append(" | ".join(h for h in headers if h))
        sections.append(section("\n".join(lines), page=number, heading=name))
    title = (workbook.properties.title or "").strip() or None
    return ParsedDocument(
        sections=keep(sections),
        page_count=len(names),
        metadata={"title": title, "sheet_names": names, "rows": total_rows},
    )
