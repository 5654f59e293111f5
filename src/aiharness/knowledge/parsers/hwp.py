"""Hancom HWPX (OWPML: a zip of XML) with the standard library; HWP 5 binary gets a clear refusal.

OWPML stores body text in ``Contents/sectionN.xml`` as ``<hp:p><hp:run><hp:t>`` and the outline
(개요) levels in ``Contents/header.xml`` (paragraph styles and ``<hh:heading type="OUTLINE">``).
See docs/knowledge-formats.md for why no third-party HWP library is used.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

from aiharness.knowledge.documents import ParsedDocument, ParsedSection, ParseError
from aiharness.knowledge.parsers.common import HeadingPath, keep, row_text, section
from aiharness.knowledge.parsers.zipsafe import read_member

HWP5_UNSUPPORTED = (
    "{name} is an HWP 5 binary document, which is not supported; "
    "save it as HWPX (한글: 다른 이름으로 저장 → HWPX) or PDF and upload that."
)
_SECTION = re.compile(r"^Contents/section(\d+)\.xml$", re.IGNORECASE)
_OUTLINE_STYLE = re.compile(r"^(?:개요|outline)\s*(\d+)$", re.IGNORECASE)
_MAX_TABLE_DEPTH = 8


def parse_hwpx(path: Path, *, file_name: str) -> ParsedDocument:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        section_names = _section_order(zf, names, file_name)
        if not section_names:
            raise ParseError(
                f"{file_name} is not a valid HWPX file: it has no Contents/section*.xml."
            )
        levels = _OutlineLevels(
            _xml(zf, "Contents/header.xml", file_name) if "Contents/header.xml" in names else None
        )
        title = _title(zf, names, file_name)
        heading_path = HeadingPath()
        sections: list[ParsedSection | None] = []
        buffer: list[str] = []
        for name in section_names:
            root = _xml(zf, name, file_name)
            for p in root:
                if _local(p.tag) != "p":
                    continue
                text, tables = _paragraph(p, depth=0)
                level = levels.level(p)
                if level is not None and text.strip():
                    sections.append(section("\n".join(buffer), heading=heading_path.current))
                    heading_path.enter(level, " ".join(text.split()))
                    buffer = [text]
                elif text.strip():
                    buffer.append(text)
                for table in tables:
                    buffer.extend(_table_lines(table, depth=0))
        sections.append(section("\n".join(buffer), heading=heading_path.current))
    return ParsedDocument(
        sections=keep(sections),
        page_count=None,
        metadata={"title": title, "sections": len(section_names)},
    )


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml(zf: zipfile.ZipFile, name: str, file_name: str) -> ET.Element:
    data = read_member(zf, name, file_name=file_name)
    # OWPML never uses DTDs; refusing them rules out entity-expansion tricks entirely.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ParseError(f"{file_name}: part {name} declares a DTD, which HWPX files never do.")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs refused above; expat caps expansion
    except ET.ParseError as exc:
        raise ParseError(f"{file_name}: part {name} is not well-formed XML ({exc}).") from exc


def _section_order(zf: zipfile.ZipFile, names: list[str], file_name: str) -> list[str]:
    """Sections in the order the package manifest (content.hpf spine) gives, else by number."""
    found = sorted(
        (n for n in names if _SECTION.match(n)),
        key=lambda n: int(_SECTION.match(n).group(1)),  # type: ignore[union-attr]
    )
    if "Contents/content.hpf" not in names:
        return found
    root = _xml(zf, "Contents/content.hpf", file_name)
    hrefs = {
        item.get("id"): item.get("href", "")
        for item in root.iter()
        if _local(item.tag) == "item" and item.get("id")
    }
    ordered = []
    for ref in root.iter():
        if _local(ref.tag) == "itemref":
            href = hrefs.get(ref.get("idref"), "")
            if href in found and href not in ordered:
                ordered.append(href)
    return ordered + [n for n in found if n not in ordered]


def _title(zf: zipfile.ZipFile, names: list[str], file_name: str) -> str | None:
    if "Contents/content.hpf" not in names:
        return None
    for element in _xml(zf, "Contents/content.hpf", file_name).iter():
        if _local(element.tag) == "title" and (element.text or "").strip():
            return " ".join((element.text or "").split())
    return None


class _OutlineLevels:
    """Which paragraphs are outline headings: by style (개요 N / Outline N) or paraPr heading."""

    def __init__(self, header: ET.Element | None) -> None:
        self.by_style: dict[str, int] = {}
        self.by_para_pr: dict[str, int] = {}
        if header is None:
            return
        for element in header.iter():
            local = _local(element.tag)
            if local == "paraPr":
                for child in element.iter():
                    if _local(child.tag) == "heading" and child.get("type") == "OUTLINE":
                        level = child.get("level", "0")
                        if level.isdigit():
                            self.by_para_pr[element.get("id", "")] = int(level) + 1
            elif local == "style":
                for attr in ("engName", "name"):
                    match = _OUTLINE_STYLE.match((element.get(attr) or "").strip())
                    if match:
                        self.by_style[element.get("id", "")] = max(int(match.group(1)), 1)
                        break

    def level(self, p: ET.Element) -> int | None:
        style = self.by_style.get(p.get("styleIDRef", ""))
        if style is not None:
            return style
        return self.by_para_pr.get(p.get("paraPrIDRef", ""))


def _paragraph(p: ET.Element, *, depth: int) -> tuple[str, list[ET.Element]]:
    """The paragraph's own text (runs) and the tables anchored in it."""
    parts: list[str] = []
    tables: list[ET.Element] = []
    for run in p:
        if _local(run.tag) != "run":
            continue
        for child in run:
            local = _local(child.tag)
            if local == "t":
                parts.append(_t_text(child))
            elif local == "tbl" and depth < _MAX_TABLE_DEPTH:
                tables.append(child)
    return "".join(parts), tables


def _t_text(t: ET.Element) -> str:
    parts = [t.text or ""]
    for child in t:
        local = _local(child.tag)
        if local == "tab":
            parts.append("\t")
        elif local == "lineBreak":
            parts.append("\n")
        parts.append(child.tail or "")
    return "".join(parts)


def _cell_text(tc: ET.Element, depth: int) -> str:
    texts: list[str] = []
    paragraphs = [
        p for sub in tc if _local(sub.tag) == "subList" for p in sub if _local(p.tag) == "p"
    ]
    for p in paragraphs:
        text, tables = _paragraph(p, depth=depth + 1)
        if text.strip():
            texts.append(" ".join(text.split()))
        for table in tables:
            texts.extend(_table_lines(table, depth=depth + 1))
    return " ".join(texts)


def _table_lines(tbl: ET.Element, *, depth: int) -> list[str]:
    rows: list[list[str]] = []
    for tr in tbl:
        if _local(tr.tag) != "tr":
            continue
        cells = [_cell_text(tc, depth) for tc in tr if _local(tc.tag) == "tc"]
        if any(cells):
            rows.append(cells)
    if len(rows) < 2:
        return [" | ".join(c for c in r if c) for r in rows]
    return [row_text(rows[0], r) for r in rows[1:]]
