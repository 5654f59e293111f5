"""Open zip-based documents only after their directory shows they are not zip bombs."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from aiharness.knowledge.documents import ParseError
from aiharness.knowledge.parsers.limits import MB, ParseLimits, human_size

# Small XML parts compress extremely well and are harmless; the ratio check starts above this.
_RATIO_CHECK_FLOOR = 1 * MB


def check_zip(path: Path, *, file_name: str, label: str, limits: ParseLimits) -> list[str]:
    """Check the archive's declared sizes; return its member names or raise ParseError if unsafe."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(
            f"{file_name} is not a valid {label} file: its zip container is damaged ({exc})."
        ) from exc
    if len(infos) > limits.max_zip_members:
        raise ParseError(
            f"{file_name} holds {len(infos):,} parts (limit {limits.max_zip_members:,}); "
            "refusing it as a possible zip bomb."
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise ParseError(
            f"{file_name} would expand to {human_size(total)} "
            f"(limit {human_size(limits.max_uncompressed_bytes)}); "
            "refusing it as a possible zip bomb."
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise ParseError(f"{file_name} is encrypted (password-protected); remove the password.")
        if info.file_size > _RATIO_CHECK_FLOOR:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise ParseError(
                    f"{file_name}: part {info.filename} is compressed {ratio:,.0f}:1 "
                    f"(limit {limits.max_compression_ratio:,.0f}:1); "
                    "refusing it as a possible zip bomb."
                )
    return [info.filename for info in infos]


def read_member(zf: zipfile.ZipFile, name: str, *, file_name: str) -> bytes:
    """Read one part; zipfile stops at the declared size and checks the CRC."""
    try:
        return zf.read(name)
    except KeyError as exc:
        raise ParseError(f"{file_name} is missing its part {name}.") from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise ParseError(f"{file_name}: part {name} is damaged ({exc}).") from exc
