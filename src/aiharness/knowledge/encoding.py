"""Turn the bytes of a text file into ``str``: UTF-8/16/32 (with or without BOM) and legacy Korean.

Korean files from older Windows tools are often CP949 (a superset of EUC-KR). A strict CP949 decode
rarely succeeds on anything else, so it is tried right after UTF-8 and kept when the result is
mostly Hangul; every other case goes to charset-normalizer. Binary data is refused, never garbled.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from aiharness.knowledge.documents import ParseError

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
# Share of control characters above which decoded "text" is really binary data.
_MAX_CONTROL_SHARE = 0.01
# A CP949 decode is kept when at least this share of its non-ASCII characters are Hangul.
_MIN_HANGUL_SHARE = 0.5


@dataclass(frozen=True)
class DecodedText:
    """Decoded text (newlines normalised to ``\\n``) and the encoding it was read with."""

    text: str
    encoding: str


def decode_text(data: bytes, *, file_name: str = "the file") -> DecodedText:
    """Decode ``data`` or raise ParseError naming the file when it is empty or not text."""
    if not data.strip():
        raise ParseError(f"{file_name} is empty.")
    text, encoding = _decode(data, file_name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _control_share(text) > _MAX_CONTROL_SHARE:
        raise ParseError(
            f"{file_name} looks like binary data, not text (it contains control characters)."
        )
    if not text.strip():
        raise ParseError(f"{file_name} contains only whitespace.")
    return DecodedText(text=text, encoding=encoding)


def _decode(data: bytes, file_name: str) -> tuple[str, str]:
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), name
            except UnicodeDecodeError as exc:
                raise ParseError(
                    f"{file_name} starts with a {name} byte-order mark but is not valid {name}."
                ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if b"\x00" in data:
        raise ParseError(f"{file_name} looks like binary data, not text (it contains NUL bytes).")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    korean = _legacy_korean(data)
    if korean is not None:
        return korean
    # UTF-8 with a few broken bytes (a file cut mid-character, one bad copy-paste) is still
    # UTF-8: replacing those bytes beats letting a detector re-read all of it as a code page.
    replaced = data.decode("utf-8", errors="replace")
    if replaced.count("\ufffd") <= max(1, len(data) // 1000):
        return replaced, "utf-8"
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise ParseError(
            f"{file_name} is not readable text: its character encoding could not be detected."
        )
    return str(best), best.encoding


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without a BOM shows up as NUL bytes in every other position for mostly-ASCII text."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    even_nul = sample[0::2].count(0) / (len(sample) / 2)
    odd_nul = sample[1::2].count(0) / (len(sample) / 2)
    for share_a, share_b, codec in (
        (odd_nul, even_nul, "utf-16-le"),
        (even_nul, odd_nul, "utf-16-be"),
    ):
        if share_a > 0.3 and share_b < 0.05:
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                return None
    return None


def _legacy_korean(data: bytes) -> tuple[str, str] | None:
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        return None
    non_ascii = [c for c in text if ord(c) > 0x7F]
    hangul = sum(1 for c in non_ascii if "\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e")
    if not non_ascii or hangul / len(non_ascii) < _MIN_HANGUL_SHARE:
        return None
    # EUC-KR is the strict subset; name it when it suffices, since that is what editors call it.
    try:
        data.decode("euc-kr")
    except UnicodeDecodeError:
        return text, "cp949"
    return text, "euc-kr"


def _control_share(text: str) -> float:
    sample = text[:100_000]
    controls = sum(
        1 for c in sample if c not in _ALLOWED_CONTROLS and unicodedata.category(c) == "Cc"
    )
    return controls / max(len(sample), 1)
