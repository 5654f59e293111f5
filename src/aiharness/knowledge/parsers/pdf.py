"""PDF text layer via pypdf: a section per page (page numbers kept), bookmarks as headings."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from aiharness.knowledge.documents import ParsedDocument, ParsedSection, ParseError
from aiharness.knowledge.parsers.common import HEADING_SEPARATOR, keep, section
from aiharness.knowledge.parsers.limits import ParseLimits

# pypdf logs every recoverable oddity in real-world PDFs; keep those out of our logs.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def parse_pdf(path: Path, *, file_name: str, limits: ParseLimits) -> ParsedDocument:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _parse(path, file_name=file_name, limits=limits)
        except ParseError:
            raise
        except (FileNotDecryptedError, DependencyError) as exc:
            raise ParseError(
                f"{file_name} is an encrypted PDF that cannot be opened without its password."
            ) from exc
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise ParseError(
                f"{file_name} is not a readable PDF (damaged or truncated: {exc})."
            ) from exc
        except RecursionError as exc:
            raise ParseError(f"{file_name} is not a readable PDF (its structure loops).") from exc


def _parse(path: Path, *, file_name: str, limits: ParseLimits) -> ParsedDocument:
    reader = PdfReader(path, strict=False)
    # Many PDFs are encrypted only with an owner password (printing/copy restrictions) and
    # open with an empty user password; anything else needs the password we do not have.
    if reader.is_encrypted and reader.decrypt("") == 0:
        raise ParseError(f"{file_name} is a password-protected PDF; remove the password first.")
    page_count = len(reader.pages)
    if page_count == 0:
        raise ParseError(f"{file_name} is not a readable PDF (no pages: damaged or truncated).")
    if page_count > limits.max_pages:
        raise ParseError(f"{file_name} has {page_count:,} pages (limit {limits.max_pages:,}).")
    headings = _outline_headings(reader)
    sections: list[ParsedSection | None] = []
    current: str | None = None
    for number, page in enumerate(reader.pages, start=1):
        current = headings.get(number, current)
        sections.append(section(page.extract_text() or "", page=number, heading=current))
    kept = keep(sections)
    if not kept:
        raise ParseError(
            f"{file_name} has no text layer (it is probably a scanned image); "
            "OCR is not supported, so export it as a PDF with text."
        )
    metadata: dict[str, Any] = {"title": _title(reader)}
    return ParsedDocument(sections=kept, page_count=page_count, metadata=metadata)


def _outline_headings(reader: PdfReader) -> dict[int, str]:
    """Page number -> the path of the last outline (bookmark) entry that starts on that page."""
    result: dict[int, str] = {}

    def visit(items: list[Any], parents: list[str]) -> None:
        last: list[str] = parents
        for item in items:
            if isinstance(item, list):
                visit(item, last)
                continue
            title = str(getattr(item, "title", "") or "").strip()
            try:
                number = reader.get_destination_page_number(item)
            except (PyPdfError, ValueError, KeyError, TypeError, AttributeError):
                continue
            page = number + 1 if number is not None else 0
            if title and page > 0:
                last = [*parents, title]
                result.setdefault(page, HEADING_SEPARATOR.join(last))

    try:
        visit(list(reader.outline), [])
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return {}
    return result


def _title(reader: PdfReader) -> str | None:
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return str(title).strip() or None if title else None
