"""Size limits per file family, checked before a parser reads anything."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

MB = 1024 * 1024

Family = Literal["text", "pdf", "office"]

_FAMILY_LABELS: dict[Family, str] = {
    "text": "text files (.txt, .md, .html, .csv, .json)",
    "pdf": "PDF files",
    "office": "office files (.docx, .pptx, .xlsx, .hwpx)",
}


@dataclass(frozen=True)
class ParseLimits:
    """Per-type maximum sizes plus guards for zip-based formats (zip bombs) and page counts."""

    max_text_bytes: int = 20 * MB
    max_pdf_bytes: int = 100 * MB
    max_office_bytes: int = 50 * MB
    # Zip-based formats (.docx/.pptx/.xlsx/.hwpx): the declared sizes in the zip directory are
    # checked before anything is decompressed; zipfile itself never inflates past them.
    max_uncompressed_bytes: int = 500 * MB
    max_compression_ratio: float = 100.0
    max_zip_members: int = 10_000
    max_pages: int = 5_000
    max_rows: int = 1_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"ParseLimits.{f.name} must be positive")

    def max_bytes(self, family: Family) -> int:
        """The byte limit for one family of formats."""
        return {
            "text": self.max_text_bytes,
            "pdf": self.max_pdf_bytes,
            "office": self.max_office_bytes,
        }[family]


def family_label(family: Family) -> str:
    return _FAMILY_LABELS[family]


def human_size(n: float) -> str:
    """``1536 -> '1.5 KB'``: sizes in messages people read."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
