"""Text decoding: Unicode with and without BOMs, legacy Korean code pages, binary refused."""

from __future__ import annotations

import codecs
import struct

import pytest

from aiharness.knowledge.documents import ParseError
from aiharness.knowledge.encoding import decode_text

pytestmark = pytest.mark.unit

KOREAN = "원심 펌프의 메카니컬 씰에서 누설이 발생하면 즉시 운전을 정지하고 책임자에게 보고한다.\n"


def test_plain_utf8() -> None:
    decoded = decode_text(KOREAN.encode("utf-8"))
    assert (decoded.text, decoded.encoding) == (KOREAN, "utf-8")


def test_utf8_bom_is_stripped() -> None:
    decoded = decode_text(codecs.BOM_UTF8 + KOREAN.encode("utf-8"))
    assert (decoded.text, decoded.encoding) == (KOREAN, "utf-8-sig")


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_utf16_and_utf32_with_bom(codec: str) -> None:
    decoded = decode_text(KOREAN.encode(codec))  # Python writes the BOM for these codecs
    assert (decoded.text, decoded.encoding) == (KOREAN, codec)


def test_euc_kr_is_named_euc_kr() -> None:
    decoded = decode_text(KOREAN.encode("euc-kr"))
    assert (decoded.text, decoded.encoding) == (KOREAN, "euc-kr")


def test_cp949_extension_syllables() -> None:
    text = "똠방각하 햏 펌프 점검. " * 3
    decoded = decode_text(text.encode("cp949"))
    assert (decoded.text, decoded.encoding) == (text, "cp949")


def test_short_cp949_mixed_with_ascii() -> None:
    text = "P-101 토크 45 N·m"
    assert decode_text(text.encode("cp949")).text == text


def test_western_legacy_text_is_not_read_as_korean() -> None:
    text = "Température de refoulement élevée : arrêtez le compresseur et vérifiez le filtre. " * 3
    decoded = decode_text(text.encode("cp1252"))
    # charset-normalizer may pick a sibling Western code page; the accents must survive.
    assert "Température de refoulement élevée" in decoded.text
    assert decoded.encoding not in {"cp949", "euc-kr"}


def test_utf8_with_a_broken_tail_stays_utf8() -> None:
    data = KOREAN.encode("utf-8") * 3 + "펌".encode()[:2]  # cut in the middle of a character
    decoded = decode_text(data)
    assert decoded.encoding == "utf-8"
    assert decoded.text.startswith(KOREAN * 3)


def test_windows_newlines_are_normalised() -> None:
    assert decode_text(b"line one\r\nline two\rline three").text == "line one\nline two\nline three"


@pytest.mark.parametrize("data", [b"", b"   \n\t  \r\n"])
def test_empty_input(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^notes\.txt is empty\.$"):
        decode_text(data, file_name="notes.txt")


def test_nul_bytes_mean_binary() -> None:
    with pytest.raises(ParseError, match=r"binary data, not text .*NUL bytes"):
        decode_text(b"".join(struct.pack("<I", i * 37) for i in range(500)), file_name="x.txt")


def test_random_bytes_are_refused() -> None:
    data = bytes((i * 7919 + 13) % 251 + 5 for i in range(5000))  # no NULs, not any encoding
    with pytest.raises(ParseError, match=r"x\.txt"):
        decode_text(data, file_name="x.txt")


def test_bad_utf8_after_bom_is_reported() -> None:
    with pytest.raises(ParseError, match="byte-order mark"):
        decode_text(codecs.BOM_UTF8 + b"\xff\xfe\xfd ok", file_name="x.txt")
