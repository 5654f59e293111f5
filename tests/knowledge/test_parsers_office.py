"""PDF, Word, PowerPoint, Excel and HWPX built in tmp dirs; broken, encrypted, zip bombs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import docx
import openpyxl  # type: ignore[import-untyped]
import pptx
import pytest
from pptx.util import Inches
from pypdf import PdfReader, PdfWriter

from aiharness.knowledge.documents import ParseError
from aiharness.knowledge.parsers import ParseLimits, parse_file

pytestmark = pytest.mark.unit


# --- builders -------------------------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF with a Helvetica text layer: one list of lines per page."""
    n = len(pages)
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
            + f"] /Count {n} >>"
        ).encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for i, lines in enumerate(pages):
        shown = " T* ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj"
            for line in lines
        )
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode() if lines else b""
        objects[4 + 2 * i] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        ).encode()
        objects[5 + 2 * i] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


def rewrite_pdf(
    data: bytes,
    *,
    outline: Sequence[tuple[str, int]] = (),
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for title, page_index in outline:
        writer.add_outline_item(title=title, page_number=page_index)
    if user_password is not None:
        writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Pump Manual"
    document.add_heading("1. 개요", level=1)
    document.add_paragraph("이 문서는 원심 펌프 P-101의 정비 절차를 설명한다.")
    document.add_heading("1.1 안전", level=2)
    document.add_paragraph("작업 전 잠금·표지(LOTO)를 실시한다.")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate(
        [("부품", "토크"), ("임펠러 너트", "95 N·m"), ("커플링 볼트", "45 N·m")]
    ):
        table.cell(r, 0).text = a
        table.cell(r, 1).text = b
    document.add_heading("2. 점검", level=1)
    document.add_paragraph("베어링 온도는 80 °C 이하여야 한다.")
    document.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Compressor Safety"
    slide.placeholders[1].text = "Release stored air before opening the valve."
    slide.notes_slide.notes_text_frame.text = "Speaker: mention the 0.8 MPa relief setting."
    slide2 = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide2.shapes.title.text = "Alarm Codes"
    shape = slide2.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2))
    for r, (a, b) in enumerate(
        [("Code", "Meaning"), ("C-07", "High discharge temp"), ("C-12", "Low oil")]
    ):
        shape.table.cell(r, 0).text = a
        shape.table.cell(r, 1).text = b
    presentation.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "점검"
    sheet.append(["설비명", "점검일", "진동(mm/s)"])
    sheet.append(["펌프 A", dt.datetime(2026, 3, 1), 2.5])
    sheet.append([None, None, None])
    sheet.append(["펌프 B", dt.datetime(2026, 3, 2), 7.0])
    second = workbook.create_sheet("부품")
    second.append(["부품", "수량"])
    second.append(["메카니컬 씰", 2])
    workbook.save(str(path))
    return path


HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"
HH = "http://www.hancom.co.kr/hwpml/2011/head"
OPF = "http://www.idpf.org/2007/opf/"


def hwpx_paragraph(text: str, *, style: str = "0", para_pr: str = "0") -> str:
    return (
        f'<hp:p id="0" paraPrIDRef="{para_pr}" styleIDRef="{style}">'
        f'<hp:run charPrIDRef="0"><hp:t>{text}</hp:t></hp:run></hp:p>'
    )


def make_hwpx(
    path: Path, body: str | None = None, *, extra: dict[str, bytes] | None = None
) -> Path:
    """An OWPML package: mimetype first (stored), header with outline styles, one section."""
    header = (
        f'<hh:head xmlns:hh="{HH}" version="1.4"><hh:refList><hh:paraProperties>'
        '<hh:paraPr id="0"><hh:heading type="NONE" idRef="0" level="0"/></hh:paraPr>'
        '<hh:paraPr id="1"><hh:heading type="OUTLINE" idRef="0" level="0"/></hh:paraPr>'
        '<hh:paraPr id="2"><hh:heading type="OUTLINE" idRef="0" level="1"/></hh:paraPr>'
        "</hh:paraProperties><hh:styles>"
        '<hh:style id="0" type="PARA" name="바탕글" engName="Normal" paraPrIDRef="0"/>'
        '<hh:style id="2" type="PARA" name="개요 1" engName="Outline 1" paraPrIDRef="1"/>'
        "</hh:styles></hh:refList></hh:head>"
    )
    if body is None:
        table = (
            '<hp:p id="0" paraPrIDRef="0" styleIDRef="0"><hp:run charPrIDRef="0"><hp:tbl>'
            + "".join(
                "<hp:tr>"
                + "".join(
                    f"<hp:tc><hp:subList>{hwpx_paragraph(c)}</hp:subList></hp:tc>" for c in row
                )
                + "</hp:tr>"
                for row in [("점검 항목", "기준"), ("베어링 온도", "80 ℃ 이하")]
            )
            + "</hp:tbl></hp:run></hp:p>"
        )
        body = (
            hwpx_paragraph("1. 냉각탑 점검", style="2")
            + hwpx_paragraph("팬 벨트 장력을 월 1회 확인한다.")
            + hwpx_paragraph("1.1 수질 관리", para_pr="2")
            + '<hp:p id="0" paraPrIDRef="0" styleIDRef="0"><hp:run charPrIDRef="0">'
            "<hp:t>전기전도도<hp:tab/>1,500 µS/cm 이하</hp:t></hp:run></hp:p>" + table
        )
    section = f'<hs:sec xmlns:hs="{HS}" xmlns:hp="{HP}">{body}</hs:sec>'
    content = (
        f'<opf:package xmlns:opf="{OPF}"><opf:metadata><opf:title>냉각탑 정비 지침</opf:title>'
        '</opf:metadata><opf:manifest><opf:item id="header" href="Contents/header.xml" '
        'media-type="application/xml"/><opf:item id="section0" href="Contents/section0.xml" '
        'media-type="application/xml"/></opf:manifest><opf:spine><opf:itemref idref="header"/>'
        '<opf:itemref idref="section0"/></opf:spine></opf:package>'
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("version.xml", '<?xml version="1.0"?><hv:HCFVersion xmlns:hv="x"/>')
        zf.writestr("Contents/header.xml", header, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("Contents/section0.xml", section, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("Contents/content.hpf", content, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def add_zip_member(path: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return path


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_pages_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(
        make_pdf([["Inspection report", "Pump P-101 vibration 2.8 mm/s."], [], ["Page three."]])
    )
    doc = parse_file(path)
    assert doc.page_count == 3
    assert [s.page for s in doc.sections] == [1, 3]  # the empty page has no section
    assert "vibration 2.8 mm/s" in doc.sections[0].text
    assert doc.metadata["format"] == "pdf"


def test_pdf_outline_gives_headings(tmp_path: Path) -> None:
    data = rewrite_pdf(
        make_pdf([["Intro text."], ["Bearing text."], ["More bearing text."]]),
        outline=[("1 Intro", 0), ("2 Bearings", 1)],
    )
    path = tmp_path / "outline.pdf"
    path.write_bytes(data)
    doc = parse_file(path)
    assert [s.heading for s in doc.sections] == ["1 Intro", "2 Bearings", "2 Bearings"]


def test_pdf_with_owner_password_only_opens(tmp_path: Path) -> None:
    path = tmp_path / "restricted.pdf"
    path.write_bytes(
        rewrite_pdf(make_pdf([["Printable text."]]), user_password="", owner_password="o")
    )
    assert "Printable text." in parse_file(path).text


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = tmp_path / "secret.pdf"
    path.write_bytes(rewrite_pdf(make_pdf([["Secret."]]), user_password="pw", owner_password="o"))
    with pytest.raises(ParseError, match=r"secret\.pdf is a password-protected PDF"):
        parse_file(path)


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[], []]))
    with pytest.raises(ParseError, match=r"no text layer .*OCR is not supported"):
        parse_file(path)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + b"\x00garbage\xff" * 200,
        make_pdf([["Cut short."]])[:120],
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n",
    ],
    ids=["garbage", "truncated", "dangling-reference"],
)
def test_corrupt_pdf(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(ParseError, match=r"broken\.pdf (is not a readable PDF|has no text layer)"):
        parse_file(path)


def test_not_a_pdf_named_pdf(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("just text", encoding="utf-8")
    with pytest.raises(ParseError, match=r"fake\.pdf is not a valid PDF file"):
        parse_file(path)


def test_pdf_page_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(make_pdf([["a"], ["b"], ["c"]]))
    with pytest.raises(ParseError, match="has 3 pages"):
        parse_file(path, limits=ParseLimits(max_pages=2))


def test_pdf_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(make_pdf([["x"]]))
    with pytest.raises(ParseError, match="limit for PDF files"):
        parse_file(path, limits=ParseLimits(max_pdf_bytes=100))


# --- Word, PowerPoint, Excel ----------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    doc = parse_file(make_docx(tmp_path / "manual.docx"))
    assert doc.metadata["title"] == "Pump Manual"
    assert [s.heading for s in doc.sections] == ["1. 개요", "1. 개요 > 1.1 안전", "2. 점검"]
    safety = doc.sections[1].text
    assert "잠금·표지(LOTO)" in safety
    assert "부품: 임펠러 너트 | 토크: 95 N·m" in safety
    assert doc.page_count is None


def test_pptx_slides_are_pages(tmp_path: Path) -> None:
    doc = parse_file(make_pptx(tmp_path / "deck.pptx"))
    assert doc.page_count == 2
    assert [(s.page, s.heading) for s in doc.sections] == [
        (1, "Compressor Safety"),
        (2, "Alarm Codes"),
    ]
    assert "0.8 MPa relief" in doc.sections[0].text  # speaker notes are searchable
    assert "Code: C-07 | Meaning: High discharge temp" in doc.sections[1].text


def test_xlsx_sheets_rows_with_headers(tmp_path: Path) -> None:
    doc = parse_file(make_xlsx(tmp_path / "log.xlsx"))
    assert doc.page_count == 2
    assert doc.metadata["sheet_names"] == ["점검", "부품"]
    first, second = doc.sections
    assert (first.page, first.heading) == (1, "점검")
    assert first.text.split("\n") == [
        "설비명: 펌프 A | 점검일: 2026-03-01 | 진동(mm/s): 2.5",
        "설비명: 펌프 B | 점검일: 2026-03-02 | 진동(mm/s): 7",
    ]
    assert (second.page, second.text) == (2, "부품: 메카니컬 씰 | 수량: 2")


def test_xlsx_row_limit(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="more than 2 rows"):
        parse_file(make_xlsx(tmp_path / "log.xlsx"), limits=ParseLimits(max_rows=2))


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".pptx", ".hwpx"])
def test_zip_bomb_is_refused_before_decompression(tmp_path: Path, suffix: str) -> None:
    builders = {".docx": make_docx, ".xlsx": make_xlsx, ".pptx": make_pptx, ".hwpx": make_hwpx}
    path = builders[suffix](tmp_path / f"bomb{suffix}")
    add_zip_member(path, "customXml/item9.xml", b"\0" * (30 * 1024 * 1024))
    with pytest.raises(ParseError, match=r"compressed [\d,]+:1 \(limit 100:1\); .*zip bomb"):
        parse_file(path)


def test_zip_total_uncompressed_size_is_limited(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "large.docx")
    with pytest.raises(ParseError, match=r"would expand to .* \(limit .*\).*zip bomb"):
        parse_file(path, limits=ParseLimits(max_uncompressed_bytes=10_000))


def test_zip_member_count_is_limited(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "many.docx")
    with pytest.raises(ParseError, match="parts"):
        parse_file(path, limits=ParseLimits(max_zip_members=5))


def test_truncated_docx(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "ok.docx").read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match=r"cut\.docx is not a valid Word \(\.docx\) file"):
        parse_file(path)


def test_zip_that_is_not_a_docx(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ParseError, match=r"other\.docx could not be read as Word \(\.docx\)"):
        parse_file(path)


def test_text_named_docx(tmp_path: Path) -> None:
    path = tmp_path / "plain.docx"
    path.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ParseError, match=r"plain\.docx is not a valid Word \(\.docx\) file"):
        parse_file(path)


def test_encrypted_office_file(tmp_path: Path) -> None:
    # Password-protected OOXML files are OLE compound files, not zips.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000)
    with pytest.raises(ParseError, match=r"locked\.xlsx is encrypted \(password-protected\)"):
        parse_file(path)


def test_office_size_limit(tmp_path: Path) -> None:
    path = make_pptx(tmp_path / "deck.pptx")
    with pytest.raises(ParseError, match="limit for office files"):
        parse_file(path, limits=ParseLimits(max_office_bytes=1000))


def test_sniffs_type_when_extension_is_missing(tmp_path: Path) -> None:
    xlsx = make_xlsx(tmp_path / "a.xlsx")
    renamed = xlsx.rename(tmp_path / "upload")
    assert parse_file(renamed).metadata["format"] == "xlsx"
    pdf = tmp_path / "blob"
    pdf.write_bytes(make_pdf([["Sniffed."]]))
    assert parse_file(pdf).text == "Sniffed."


# --- HWPX -----------------------------------------------------------------------------------


def test_hwpx_outline_headings_and_tables(tmp_path: Path) -> None:
    doc = parse_file(make_hwpx(tmp_path / "지침.hwpx"))
    assert doc.metadata["title"] == "냉각탑 정비 지침"
    assert doc.metadata["format"] == "hwpx"
    assert [s.heading for s in doc.sections] == ["1. 냉각탑 점검", "1. 냉각탑 점검 > 1.1 수질 관리"]
    assert "팬 벨트 장력을 월 1회 확인한다." in doc.sections[0].text
    water = doc.sections[1].text
    assert "전기전도도\t1,500 µS/cm 이하" in water or "전기전도도 1,500 µS/cm 이하" in water
    assert "점검 항목: 베어링 온도 | 기준: 80 ℃ 이하" in water


def test_hwpx_sniffed_without_extension(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "doc").rename(tmp_path / "upload.bin")
    assert parse_file(path).metadata["format"] == "hwpx"
    assert parse_file(path, file_name="noext").metadata["format"] == "hwpx"


def test_hwpx_with_dtd_is_refused(tmp_path: Path) -> None:
    body = '<!DOCTYPE x [<!ENTITY a "aaaa">]>'
    path = tmp_path / "evil.hwpx"
    make_hwpx(path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("Contents/section1.xml", body + f'<hs:sec xmlns:hs="{HS}"/>')
    with pytest.raises(ParseError, match="declares a DTD"):
        parse_file(path)


def test_hwpx_broken_xml(tmp_path: Path) -> None:
    path = make_hwpx(tmp_path / "bad.hwpx", body="<hp:p><unclosed>")
    with pytest.raises(
        ParseError, match=r"bad\.hwpx: part Contents/section0\.xml is not well-formed XML"
    ):
        parse_file(path)


def test_hwpx_without_sections(tmp_path: Path) -> None:
    path = tmp_path / "empty.hwpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/hwp+zip")
    with pytest.raises(ParseError, match="no Contents/section"):
        parse_file(path)


def test_hwp5_saved_as_hwpx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "renamed.hwpx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000)
    with pytest.raises(ParseError, match="HWP 5 binary"):
        parse_file(path)
