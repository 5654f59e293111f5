"""Helpers the format parsers share: heading paths, whitespace clean-up, cell formatting."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence

from aiharness.knowledge.documents import ParsedSection

HEADING_SEPARATOR = " > "
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


class HeadingPath:
    """Tracks the open headings by level so each section knows its path ("A > B > C")."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    @property
    def current(self) -> str | None:
        return HEADING_SEPARATOR.join(t for _, t in self._stack) or None


# Characters some extractors leave in text (PDF fonts put U+0001 between words): control
# characters become spaces, invisible format characters go, odd spaces become plain spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_ODD_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def normalize_text(text: str) -> str:
    """Text as every parser hands it on: NFC (composed Hangul), one kind of line break, no
    control or invisible characters, plain spaces; then ``clean_text``."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _ODD_SPACES.sub(" ", _CONTROL.sub(" ", _INVISIBLE.sub("", text)))
    return clean_text(text)


def clean_text(text: str) -> str:
    """Collapse runs of spaces, trim each line and keep at most one blank line in a row."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def section(
    text: str, *, page: int | None = None, heading: str | None = None
) -> ParsedSection | None:
    """A cleaned section, or None when nothing but whitespace is left."""
    cleaned = clean_text(text)
    return ParsedSection(text=cleaned, page=page, heading=heading) if cleaned else None


def keep(sections: Iterable[ParsedSection | None]) -> list[ParsedSection]:
    return [s for s in sections if s is not None]


def format_cell(value: object) -> str:
    """Spreadsheet/JSON values as people write them: 3.0 -> '3', midnight datetimes -> dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


def row_text(headers: Sequence[str], values: Sequence[object]) -> str:
    """One table row as ``header: value | header: value``, skipping empty cells."""
    parts = []
    for i, value in enumerate(values):
        cell = format_cell(value)
        if not cell:
            continue
        name = headers[i] if i < len(headers) and headers[i] else f"column {i + 1}"
        parts.append(f"{name}: {cell}")
    return " | ".join(parts)


def header_names(values: Sequence[object]) -> list[str]:
    return [format_cell(v) for v in values]
