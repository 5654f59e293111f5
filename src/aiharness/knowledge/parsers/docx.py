"""Word ``.docx`` with python-docx: paragraphs and tables in order, Heading styles as headings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from aiharness.knowledge.documents import ParsedDocument, ParsedSection
from aiharness.knowledge.parsers.common import HeadingPath, keep, row_text, section

_HEADING_STYLE = re.compile(r"^(?:heading|제목|개요)\s*(\d)$", re.IGNORECASE)
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse_docx(path: Path, *, file_name: str) -> ParsedDocument:
    document = docx.Document(str(path))
    path_tracker = HeadingPath()
    sections: list[ParsedSection | None] = []
    buffer: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            buffer.extend(table_lines(block))
            continue
        text = block.text.strip()
        if not text:
            continue
        level = heading_level(block)
        if level is None:
            buffer.append(text)
            continue
        sections.append(section("\n".join(buffer), heading=path_tracker.current))
        path_tracker.enter(level, text)
        buffer = [text]
    sections.append(section("\n".join(buffer), heading=path_tracker.current))
    metadata: dict[str, Any] = {"title": (document.core_properties.title or "").strip() or None}
    return ParsedDocument(sections=keep(sections), page_count=None, metadata=metadata)


def heading_level(paragraph: Paragraph) -> int | None:
    """1-9 for headings (by style name, then by outline level), None for body text."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 1
    match = _HEADING_STYLE.match(name.strip())
    if match:
        return max(int(match.group(1)), 1)
    outline = paragraph._p.find(f"{_W_NS}pPr/{_W_NS}outlineLvl")
    if outline is not None:
        value = outline.get(f"{_W_NS}val")
        if value is not None and value.isdigit() and int(value) < 9:
            return int(value) + 1
    return None


def table_lines(table: Table) -> list[str]:
    """Rows as ``header: value | ...`` (first row as header); merged cells are not repeated."""
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        previous: Any = None
        for cell in row.cells:
            if cell._tc is previous:  # a horizontally merged cell comes back once per grid column
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(cells)
    if len(rows) < 2:
        return [" | ".join(c for c in r if c) for r in rows]
    headers = rows[0]
    return [row_text(headers, r) for r in rows[1:]]
