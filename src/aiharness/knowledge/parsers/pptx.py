"""PowerPoint ``.pptx``: one section per slide (slide number as page), slide title as heading."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE

from aiharness.knowledge.documents import ParsedDocument, ParsedSection, ParseError
from aiharness.knowledge.parsers.common import keep, row_text, section
from aiharness.knowledge.parsers.limits import ParseLimits


def parse_pptx(path: Path, *, file_name: str, limits: ParseLimits) -> ParsedDocument:
    presentation = pptx.Presentation(str(path))
    slides = list(presentation.slides)
    if len(slides) > limits.max_pages:
        raise ParseError(f"{file_name} has {len(slides):,} slides (limit {limits.max_pages:,}).")
    sections: list[ParsedSection | None] = []
    for number, slide in enumerate(slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        lines = list(_shape_lines(slide.shapes))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append(notes.text.strip())
        sections.append(section("\n".join(lines), page=number, heading=title or None))
    first_title = next((s.heading for s in keep(sections) if s.heading), None)
    metadata: dict[str, Any] = {
        "title": (presentation.core_properties.title or "").strip() or first_title,
    }
    return ParsedDocument(sections=keep(sections), page_count=len(slides), metadata=metadata)


def _shape_lines(shapes: Iterable[Any]) -> Iterable[str]:
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_lines(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[" ".join(c.text.split()) for c in row.cells] for row in shape.table.rows]
            rows = [r for r in rows if any(r)]
            if len(rows) >= 2:
                yield from (row_text(rows[0], r) for r in rows[1:])
            else:
                yield from (" | ".join(c for c in r if c) for r in rows)
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = shape.text_frame.text.strip()
            if text:
                yield text
