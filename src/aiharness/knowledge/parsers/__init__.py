"""Parse an uploaded file into sections of text: a registry keyed by extension and sniffed type.

``parse_file`` checks the size limit for the file's family, recognises binary data named as text
and zip bombs before any parser runs, and turns every failure into a ParseError whose message a
user can act on.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiharness.knowledge.documents import ParsedDocument, ParseError
from aiharness.knowledge.parsers import sniff as _sniff
from aiharness.knowledge.parsers.common import normalize_text
from aiharness.knowledge.parsers.limits import Family, ParseLimits, family_label, human_size
from aiharness.knowledge.parsers.zipsafe import check_zip

__all__ = ["ParseError", "ParseLimits", "parse_file", "supported_extensions"]

Parser = Callable[[Path, str, ParseLimits], ParsedDocument]


@dataclass(frozen=True)
class _Format:
    family: Family
    label: str
    parse: Parser
    container: str | None = None  # the sniffed container this format must have ("pdf", "zip")


def _text(fn: Callable[..., ParsedDocument], *, with_limits: bool = False) -> Parser:
    def parse(path: Path, file_name: str, limits: ParseLimits) -> ParsedDocument:
        data = path.read_bytes()
        if with_limits:
            return fn(data, file_name=file_name, limits=limits)
        return fn(data, file_name=file_name)

    return parse


def _registry() -> dict[str, _Format]:
    # Imported here so that importing this package stays cheap (pypdf, docx, openpyxl load lazily).
    from aiharness.knowledge.parsers.docx import parse_docx
    from aiharness.knowledge.parsers.html import parse_html
    from aiharness.knowledge.parsers.hwp import parse_hwpx
    from aiharness.knowledge.parsers.pdf import parse_pdf
    from aiharness.knowledge.parsers.pptx import parse_pptx
    from aiharness.knowledge.parsers.structured import parse_csv, parse_json
    from aiharness.knowledge.parsers.text import parse_markdown, parse_txt
    from aiharness.knowledge.parsers.xlsx import parse_xlsx

    txt = _Format("text", "text", _text(parse_txt))
    md = _Format("text", "Markdown", _text(parse_markdown))
    html = _Format("text", "HTML", _text(parse_html))
    return {
        ".txt": txt,
        ".text": txt,
        ".log": txt,
        ".md": md,
        ".markdown": md,
        ".html": html,
        ".htm": html,
        ".csv": _Format("text", "CSV", _text(parse_csv, with_limits=True)),
        ".json": _Format("text", "JSON", _text(parse_json)),
        ".pdf": _Format(
            "pdf", "PDF", lambda p, n, lim: parse_pdf(p, file_name=n, limits=lim), "pdf"
        ),
        ".docx": _Format(
            "office", "Word (.docx)", lambda p, n, lim: parse_docx(p, file_name=n), "zip"
        ),
        ".pptx": _Format(
            "office",
            "PowerPoint (.pptx)",
            lambda p, n, lim: parse_pptx(p, file_name=n, limits=lim),
            "zip",
        ),
        ".xlsx": _Format(
            "office",
            "Excel (.xlsx)",
            lambda p, n, lim: parse_xlsx(p, file_name=n, limits=lim),
            "zip",
        ),
        ".hwpx": _Format("office", "HWPX", lambda p, n, lim: parse_hwpx(p, file_name=n), "zip"),
    }


_FORMATS: dict[str, _Format] | None = None
_LEGACY_OFFICE = {
    ".doc": ".docx",
    ".xls": ".xlsx",
    ".ppt": ".pptx",
}


def _formats() -> dict[str, _Format]:
    global _FORMATS
    if _FORMATS is None:
        _FORMATS = _registry()
    return _FORMATS


def supported_extensions() -> frozenset[str]:
    """Lower-case extensions with a leading dot (``.pdf``) that ``parse_file`` accepts."""
    return frozenset(_formats())


def parse_file(
    path: Path, *, file_name: str | None = None, limits: ParseLimits | None = None
) -> ParsedDocument:
    """Parse ``path`` (``file_name``: the name the user gave it); raise ParseError on bad input."""
    name = file_name or path.name
    limits = limits or ParseLimits()
    try:
        size = path.stat().st_size
        head = _sniff.read_head(path) if size else b""
    except OSError as exc:
        raise ParseError(f"{name} cannot be read ({exc.strerror or exc}).") from exc
    if size == 0:
        raise ParseError(f"{name} is empty.")
    extension = Path(name).suffix.lower()
    fmt, extension = _choose_format(path, name, extension, head)
    limit = limits.max_bytes(fmt.family)
    if size > limit:
        raise ParseError(
            f"{name} is {human_size(size)}; the limit for {family_label(fmt.family)} "
            f"is {human_size(limit)}."
        )
    _check_container(path, name, extension, fmt, head, limits)
    try:
        document = fmt.parse(path, name, limits)
    except ParseError:
        raise
    except MemoryError as exc:
        raise ParseError(f"{name} is too large to parse in memory.") from exc
    except RecursionError as exc:
        raise ParseError(f"{name} is nested too deeply to parse.") from exc
    except (zlib.error, EOFError) as exc:
        raise ParseError(f"{name} is damaged: a compressed part cannot be read ({exc}).") from exc
    except Exception as exc:
        # Third-party parsers raise many exception types on malformed files; the user needs to
        # know the file is unreadable, not which library tripped over it.
        raise ParseError(
            f"{name} could not be read as {fmt.label}: the file is damaged or not really "
            f"{fmt.label} ({type(exc).__name__}: {exc})."
        ) from exc
    sections = [
        replace(
            s,
            text=normalize_text(s.text),
            heading=normalize_text(s.heading) or None if s.heading else s.heading,
        )
        for s in document.sections
    ]
    sections = [s for s in sections if s.text]
    if not sections:
        raise ParseError(f"{name} contains no text.")
    metadata: dict[str, Any] = {"format": extension.lstrip("."), "file_name": name}
    metadata.update({k: v for k, v in document.metadata.items() if v is not None})
    return replace(document, sections=sections, metadata=metadata)


def _choose_format(path: Path, name: str, extension: str, head: bytes) -> tuple[_Format, str]:
    formats = _formats()
    if extension == ".hwp":
        from aiharness.knowledge.parsers.hwp import HWP5_UNSUPPORTED

        raise ParseError(HWP5_UNSUPPORTED.format(name=name))
    if extension in _LEGACY_OFFICE:
        raise ParseError(
            f"{name} is a legacy binary Office file ({extension}), which is not supported; "
            f"save it as {_LEGACY_OFFICE[extension]} or PDF."
        )
    if extension in formats:
        return formats[extension], extension
    # Unknown or missing extension: go by content.
    kind = _sniff.sniff(head)
    if kind == _sniff.PDF:
        return formats[".pdf"], ".pdf"
    if kind == _sniff.ZIP:
        flavour = _sniff.zip_flavour(path)
        if flavour is not None:
            return formats[flavour], flavour
    supported = ", ".join(sorted(formats))
    shown = extension or "(no extension)"
    raise ParseError(f"{name}: file type {shown} is not supported. Supported types: {supported}.")


def _check_container(
    path: Path, name: str, extension: str, fmt: _Format, head: bytes, limits: ParseLimits
) -> None:
    kind = _sniff.sniff(head)
    if fmt.container is None:
        described = _sniff.describe_binary(head)
        if described is not None:
            raise ParseError(
                f"{name} is named {extension} but contains binary data ({described}), not text."
            )
        return
    if kind == _sniff.OLE:
        if extension == ".hwpx":
            from aiharness.knowledge.parsers.hwp import HWP5_UNSUPPORTED

            raise ParseError(HWP5_UNSUPPORTED.format(name=name))
        raise ParseError(
            f"{name} is encrypted (password-protected) or a legacy binary Office file saved "
            f"with a {extension} name; remove the password or save it again as {extension}."
        )
    if kind != fmt.container:
        raise ParseError(
            f"{name} is not a valid {fmt.label} file (its content is not {fmt.label})."
        )
    if fmt.container == _sniff.ZIP:
        check_zip(path, file_name=name, label=fmt.label, limits=limits)
