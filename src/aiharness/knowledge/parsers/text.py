"""Plain text and Markdown: encoding detection, then Markdown headings become section headings."""

from __future__ import annotations

import re
from typing import Any

import yaml

from aiharness.knowledge.documents import ParsedDocument, ParsedSection
from aiharness.knowledge.encoding import decode_text
from aiharness.knowledge.parsers.common import HeadingPath, keep, row_text, section

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-{2,})[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_TITLE_CHARS = 200


def parse_txt(data: bytes, *, file_name: str) -> ParsedDocument:
    decoded = decode_text(data, file_name=file_name)
    sections = keep([section(decoded.text)])
    return ParsedDocument(
        sections=sections,
        page_count=None,
        metadata={"encoding": decoded.encoding, "title": _first_line(decoded.text)},
    )


def parse_markdown(data: bytes, *, file_name: str) -> ParsedDocument:
    decoded = decode_text(data, file_name=file_name)
    body, front_matter = _split_front_matter(decoded.text)
    sections: list[ParsedSection | None] = []
    if front_matter:
        # Front matter (case numbers, dates, authors) is searchable text too.
        sections.append(section("\n".join(f"{k}: {v}" for k, v in front_matter.items())))
    title: str | None = None
    path = HeadingPath()
    buffer: list[str] = []
    lines = body.split("\n")
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        heading: tuple[int, str] | None = None
        if not in_fence:
            heading = _heading_at(lines, i)
        if heading is None and not in_fence and _is_table_start(lines, i):
            # A pipe table: rows become "header: value | ..." like CSV and spreadsheet rows.
            headers = _cells(line)
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                buffer.append(row_text(headers, _cells(lines[i])))
                i += 1
            continue
        if heading is None:
            if in_fence or not _TABLE_RULE.match(line):
                buffer.append(line)
            i += 1
            continue
        level, text = heading
        sections.append(section("\n".join(buffer), heading=path.current))
        path.enter(level, text)
        title = title or (text if level == 1 else None)
        buffer = [text]
        i += 1 if _ATX.match(line) else 2
    sections.append(section("\n".join(buffer), heading=path.current))
    metadata: dict[str, Any] = {
        "encoding": decoded.encoding,
        "title": title or _first_line(body),
    }
    if front_matter:
        metadata["front_matter"] = front_matter
    return ParsedDocument(sections=keep(sections), page_count=None, metadata=metadata)


def _is_table_start(lines: list[str], i: int) -> bool:
    return (
        lines[i].strip().startswith("|")
        and i + 1 < len(lines)
        and "-" in lines[i + 1]
        and _TABLE_RULE.match(lines[i + 1]) is not None
    )


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _heading_at(lines: list[str], i: int) -> tuple[int, str] | None:
    atx = _ATX.match(lines[i])
    if atx:
        return len(atx.group(1)), atx.group(2).strip()
    line = lines[i].strip()
    if (
        line
        and i + 1 < len(lines)
        and (i == 0 or not lines[i - 1].strip())
        and not line.startswith(("-", "*", "+", "|", ">"))
    ):
        setext = _SETEXT.match(lines[i + 1])
        if setext:
            return (1 if setext.group(1).startswith("=") else 2), line
    return None


def _split_front_matter(text: str) -> tuple[str, dict[str, str]]:
    """YAML front matter between ``---`` lines at the very top, as flat strings."""
    if not text.startswith("---\n"):
        return text, {}
    end = text.find("\n---", 4)
    if end < 0 or end > 20_000:
        return text, {}
    try:
        loaded = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return text, {}
    if not isinstance(loaded, dict):
        return text, {}
    flat = {str(k): str(v) for k, v in loaded.items() if v is not None and not isinstance(v, dict)}
    rest = text[end + 4 :]
    return rest[rest.find("\n") + 1 :] if "\n" in rest else "", flat


def _first_line(text: str) -> str | None:
    for line in text.split("\n"):
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped[:_TITLE_CHARS]
    return None
