"""Text-family parsers and the registry: .txt/.md/.html/.csv/.json, limits and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiharness.knowledge.documents import ParsedDocument, ParseError
from aiharness.knowledge.parsers import ParseLimits, parse_file, supported_extensions

pytestmark = pytest.mark.unit


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_supported_extensions_cover_the_issue_formats() -> None:
    expected = {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx", ".csv"}
    assert expected | {".json", ".hwpx"} <= supported_extensions()
    assert all(ext.startswith(".") and ext == ext.lower() for ext in supported_extensions())


def test_txt_keeps_text_and_reports_encoding(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "note.txt", "원심분리 펌프 점검 기록\n\n베어링 온도 정상."))
    assert isinstance(doc, ParsedDocument)
    assert "베어링 온도 정상." in doc.text
    assert doc.metadata["encoding"] == "utf-8"
    assert doc.metadata["format"] == "txt"
    assert doc.metadata["title"] == "원심분리 펌프 점검 기록"
    assert doc.page_count is None


def test_cp949_text_is_decoded_not_garbled(tmp_path: Path) -> None:
    text = "설비명: 공기압축기 2호기\n토출 압력이 0.85 MPa를 넘으면 안전밸브가 작동한다.\n"
    doc = parse_file(write(tmp_path, "legacy.txt", text.encode("cp949")))
    assert doc.text == text.strip()
    assert doc.metadata["encoding"] in {"cp949", "euc-kr"}


def test_cp949_only_characters_are_decoded(tmp_path: Path) -> None:
    # "똠" and "햏" are outside EUC-KR's 2,350 syllables but inside CP949.
    text = "똠얌꿍 햏 펌프 점검표. 이 문서는 레거시 인코딩으로 저장되었다."
    doc = parse_file(write(tmp_path, "cp949.txt", text.encode("cp949")))
    assert doc.text == text
    assert doc.metadata["encoding"] == "cp949"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
def test_unicode_with_bom(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "냉각탑 팬 진동 4.5 mm/s 초과 시 정지"
    doc = parse_file(write(tmp_path, "bom.txt", bom + text.encode(encoding)))
    assert doc.text == text


def test_utf16_without_bom(tmp_path: Path) -> None:
    text = "Cooling tower fan: stop when vibration exceeds 4.5 mm/s. 냉각탑"
    doc = parse_file(write(tmp_path, "nobom.txt", text.encode("utf-16-le")))
    assert doc.text == text


def test_markdown_headings_become_section_paths(tmp_path: Path) -> None:
    md = (
        "---\ntitle: 펌프 정비 매뉴얼\ndoc_no: PM-101\n---\n"
        "# 원심 펌프 정비 매뉴얼\n\n개요 문단.\n\n"
        "## 3. 정비 절차\n\n### 3.2 베어링 교체\n\n"
        "베어링 너트를 45 N·m로 조인다.\n\n```\n# not a heading\n```\n\n"
        "## 4. 점검\n\n월 1회 점검한다.\n"
    )
    doc = parse_file(write(tmp_path, "manual.md", md))
    by_heading = {s.heading: s.text for s in doc.sections}
    assert doc.metadata["title"] == "원심 펌프 정비 매뉴얼"
    assert doc.metadata["front_matter"] == {"title": "펌프 정비 매뉴얼", "doc_no": "PM-101"}
    assert "doc_no: PM-101" in doc.sections[0].text
    path = "원심 펌프 정비 매뉴얼 > 3. 정비 절차 > 3.2 베어링 교체"
    assert "45 N·m" in by_heading[path]
    assert "# not a heading" in by_heading[path]
    assert by_heading["원심 펌프 정비 매뉴얼 > 4. 점검"].startswith("4. 점검")


def test_markdown_pipe_tables_become_header_value_rows(tmp_path: Path) -> None:
    md = (
        "## 토크\n\n| 체결부 | 규격 | 토크 |\n|---|:---:|---:|\n"
        "| 임펠러 너트 | M24 | 95 N·m |\n| 케이싱 볼트 | M16 \\| 8.8 | |\n\n끝.\n"
    )
    doc = parse_file(write(tmp_path, "torque.md", md))
    assert doc.text.split("\n") == [
        "토크",
        "",
        "체결부: 임펠러 너트 | 규격: M24 | 토크: 95 N·m",
        "체결부: 케이싱 볼트 | 규격: M16 | 8.8",
        "",
        "끝.",
    ]


def test_markdown_setext_headings(tmp_path: Path) -> None:
    md = "Air Compressor\n==============\n\nIntro.\n\nDrain\n-----\n\nOpen the drain valve daily.\n"
    doc = parse_file(write(tmp_path, "setext.md", md))
    assert [s.heading for s in doc.sections] == ["Air Compressor", "Air Compressor > Drain"]


def test_html_headings_tables_and_no_scripts(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Conveyor Guide</title>
    <style>body{color:red}</style><script>var secret = 1;</script></head><body>
    <h1>Belt Conveyor</h1><p>Check belt tension weekly.</p>
    <h2>Alarms</h2><table><tr><th>Code</th><th>Meaning</th></tr>
    <tr><td>E-21</td><td>Belt slip</td></tr></table>
    <!-- hidden comment --><h3>Reset</h3><ul><li>Press RESET</li><li>Wait 5 s</li></ul>
    </body></html>"""
    doc = parse_file(write(tmp_path, "guide.html", html))
    assert doc.metadata["title"] == "Conveyor Guide"
    headings = [s.heading for s in doc.sections]
    assert headings == ["Belt Conveyor", "Belt Conveyor > Alarms", "Belt Conveyor > Alarms > Reset"]
    assert "E-21" in doc.sections[1].text and "Belt slip" in doc.sections[1].text
    assert "Press RESET\nWait 5 s" in doc.sections[2].text
    assert "secret" not in doc.text and "color" not in doc.text and "hidden" not in doc.text


def test_html_in_euc_kr(tmp_path: Path) -> None:
    html = (
        '<html><head><meta charset="euc-kr"></head><body><h1>열교환기</h1>'
        "<p>튜브 세척 주기는 6개월이다.</p></body></html>"
    )
    doc = parse_file(write(tmp_path, "hx.htm", html.encode("euc-kr")))
    assert doc.sections[0].heading == "열교환기"
    assert "튜브 세척 주기는 6개월이다." in doc.text


def test_csv_rows_as_header_value_text(tmp_path: Path) -> None:
    csv_text = "설비명,점검일,결과\n펌프 A,2026-03-01,정상\n\n펌프 B,2026-03-02,\n"
    doc = parse_file(write(tmp_path, "log.csv", csv_text))
    lines = doc.text.split("\n")
    assert lines == [
        "설비명: 펌프 A | 점검일: 2026-03-01 | 결과: 정상",
        "설비명: 펌프 B | 점검일: 2026-03-02",
    ]
    assert doc.metadata["columns"] == ["설비명", "점검일", "결과"]
    assert doc.metadata["rows"] == 2


def test_csv_semicolons_and_cp949(tmp_path: Path) -> None:
    csv_text = "설비;상태\n압축기;정상\n"
    doc = parse_file(write(tmp_path, "semi.csv", csv_text.encode("cp949")))
    assert doc.text == "설비: 압축기 | 상태: 정상"


def test_csv_row_limit(tmp_path: Path) -> None:
    rows = "a,b\n" + "".join(f"{i},{i}\n" for i in range(20))
    with pytest.raises(ParseError, match="more than 10 rows"):
        parse_file(write(tmp_path, "big.csv", rows), limits=ParseLimits(max_rows=10))


def test_json_flattened_paths(tmp_path: Path) -> None:
    data = {"equipment": {"name": "Pump A", "torque_nm": 45.0, "parts": ["seal", "bearing"]}}
    doc = parse_file(write(tmp_path, "eq.json", json.dumps(data)))
    assert doc.text.split("\n") == [
        "equipment.name: Pump A",
        "equipment.torque_nm: 45",
        "equipment.parts[0]: seal",
        "equipment.parts[1]: bearing",
    ]


def test_json_list_of_records_keeps_records_apart(tmp_path: Path) -> None:
    data = [{"code": "A-101", "msg": "과열"}, {"code": "A-102", "msg": "저유량"}]
    doc = parse_file(write(tmp_path, "alarms.json", json.dumps(data, ensure_ascii=False)))
    assert doc.text == "code: A-101\nmsg: 과열\n\ncode: A-102\nmsg: 저유량"


def test_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"bad\.json is not valid JSON: .* line 1"):
        parse_file(write(tmp_path, "bad.json", '{"a": '))


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_file(write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000))


def test_file_name_overrides_path_name(tmp_path: Path) -> None:
    path = write(tmp_path, "upload-1234.bin", "# Title\n\nbody")
    doc = parse_file(path, file_name="manual.md")
    assert doc.sections[0].heading == "Title"
    assert doc.metadata["file_name"] == "manual.md"


# --- bad input ------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"^empty\.txt is empty\.$"):
        parse_file(write(tmp_path, "empty.txt", b""))


def test_whitespace_only_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_file(write(tmp_path, "blank.md", "  \n\n\t\n"))


def test_binary_named_txt(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    with pytest.raises(ParseError, match=r"data\.txt looks like binary data"):
        parse_file(write(tmp_path, "data.txt", data))


@pytest.mark.parametrize(
    ("head", "described"),
    [
        (b"\x89PNG\r\n\x1a\n", "PNG image"),
        (b"%PDF-1.7\n", "PDF document"),
        (b"PK\x03\x04", "zip archive"),
        (b"\x7fELF\x02\x01", "ELF"),
    ],
)
def test_known_binary_named_as_text(tmp_path: Path, head: bytes, described: str) -> None:
    with pytest.raises(ParseError, match=rf"named \.md but contains binary data \(.*{described}"):
        parse_file(write(tmp_path, "notes.md", head + b"abc" * 100))


def test_control_characters_are_binary(tmp_path: Path) -> None:
    data = ("text \x01\x02\x03\x04\x05" * 200).encode()
    with pytest.raises(ParseError, match="binary data"):
        parse_file(write(tmp_path, "ctrl.txt", data))


def test_over_the_size_limit_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:  # a sparse 200 MB file: the limit must trip before any read
        f.truncate(200 * 1024 * 1024)
    with pytest.raises(
        ParseError, match=r"huge\.txt is 200\.0 MB; the limit for text .* is 20\.0 MB"
    ):
        parse_file(path)


def test_limit_is_configurable_per_family(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "x" * 2000)
    with pytest.raises(ParseError, match="limit for text"):
        parse_file(path, limits=ParseLimits(max_text_bytes=1000))
    assert parse_file(path, limits=ParseLimits(max_pdf_bytes=1000)).text == "x" * 2000


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pages"):
        ParseLimits(max_pages=0)


def test_unsupported_extension_lists_supported_types(tmp_path: Path) -> None:
    with pytest.raises(
        ParseError, match=r"file type \.exe is not supported\. Supported types: .*\.pdf"
    ):
        parse_file(write(tmp_path, "setup.exe", b"MZ\x90\x00"))


def test_hwp5_binary_is_refused_with_advice(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    with pytest.raises(
        ParseError, match=r"HWP 5 binary .* not supported; save it as HWPX .* or PDF"
    ):
        parse_file(write(tmp_path, "보고서.hwp", ole))


def test_legacy_office_binary_is_refused(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    with pytest.raises(ParseError, match=r"legacy binary Office file \(\.doc\).*save it as \.docx"):
        parse_file(write(tmp_path, "old.doc", ole))


def test_missing_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot be read"):
        parse_file(tmp_path / "nope.txt")


# --- demo documents -------------------------------------------------------------------------

SAMPLE_DOCS = (
    Path(__file__).resolve().parents[2] / "src" / "aiharness" / "knowledge" / "sample_docs"
)


def test_every_sample_document_parses_and_chunks() -> None:
    from aiharness.knowledge.chunking import chunk_document

    paths = sorted(p for p in SAMPLE_DOCS.iterdir() if p.is_file())
    assert 12 <= len(paths) <= 16
    assert {".md", ".txt", ".html", ".csv", ".docx", ".xlsx"} <= {p.suffix for p in paths}
    for path in paths:
        chunks = chunk_document(parse_file(path))
        assert chunks, path.name
        assert all(c.token_count <= 400 for c in chunks)


def test_sample_documents_hold_facts_found_in_only_one_place() -> None:
    texts = {p.name: parse_file(p).text for p in SAMPLE_DOCS.iterdir() if p.is_file()}
    for fact, expected in [
        ("LOTO-F3", "loto-procedure-ko.md"),
        ("820 V", "conveyor-vfd-fault-codes.html"),
        ("145 °C", "conveyor-belt-splicing-procedure.md"),
        ("7.4 mm/s", "inspection-log-2026-q1.csv"),
        ("B-3-2", "spare-parts-list.xlsx"),
    ]:
        assert [name for name, text in texts.items() if fact in text] == [expected], fact
