"""Recognise a file's real type from its first bytes (and, for zips, its part names)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"HWP Document File", "an HWP 3 document"),
)

# Kinds returned by sniff(): the parser registry keys on these.
PDF = "pdf"
ZIP = "zip"
OLE = "ole"


def read_head(path: Path, n: int = 1024) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def sniff(head: bytes) -> str | None:
    """``pdf``, ``zip``, ``ole`` or None when the bytes show no container format we know."""
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if head.startswith(_OLE):
        return OLE
    return None


def describe_binary(head: bytes) -> str | None:
    """A human name for a known binary format (``'a PNG image'``), used in error messages."""
    kind = sniff(head)
    if kind == PDF:
        return "a PDF document"
    if kind == ZIP:
        return "a zip archive (or an Office document)"
    if kind == OLE:
        return "a legacy binary Office/HWP document"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def zip_flavour(path: Path) -> str | None:
    """Which zip-based document format a zip holds: ``.docx``, ``.pptx``, ``.xlsx`` or ``.hwpx``."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            mimetype = b""
            if "mimetype" in names:
                with zf.open("mimetype") as f:  # read only the head: the part may be huge
                    mimetype = f.read(64)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
        return None
    if "word/document.xml" in names:
        return ".docx"
    if "ppt/presentation.xml" in names:
        return ".pptx"
    if "xl/workbook.xml" in names:
        return ".xlsx"
    if mimetype.startswith(b"application/hwp+zip") or "Contents/section0.xml" in names:
        return ".hwpx"
    return None
