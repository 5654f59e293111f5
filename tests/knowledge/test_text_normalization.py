"""Every parser's text is normalised: no control characters (PDF fonts leave U+0001 between
words), no invisible or odd spaces, composed Hangul (NFC)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from aiharness.knowledge.parsers import parse_file
from aiharness.knowledge.parsers.common import normalize_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pump\x01bearing\x01check", "pump bearing check"),
        ("a\u00a0b\u3000c\u2009d", "a b c d"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("line\r\nnext\rlast", "line\nnext\nlast"),
        (unicodedata.normalize("NFD", "펌프 베어링"), "펌프 베어링"),
        ("\x00\x07  ", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".csv"])
def test_parsers_hand_on_normalised_text(tmp_path: Path, suffix: str) -> None:
    body = "펌프\u2009베어링\u00a0교체 " + unicodedata.normalize("NFD", "주기")
    if suffix == ".html":
        body = f"<html><body><p>{body}</p></body></html>"
    if suffix == ".csv":
        body = f"part,note\nP-101,{body}\n"
    path = tmp_path / f"doc{suffix}"
    path.write_text(body, encoding="utf-8")
    text = parse_file(path).text
    assert "펌프 베어링 교체 주기" in text
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text)
