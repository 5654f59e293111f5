"""Write the demo's Word and Excel files into the packaged sample documents folder.

Run: uv run python scripts/make_sample_office_docs.py (writes src/aiharness/knowledge/sample_docs/).

The contents are original demo material; the files are regenerated rather than edited by hand.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import docx
import openpyxl  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

OUT = Path(__file__).resolve().parent.parent / "src" / "aiharness" / "knowledge" / "sample_docs"
FIXED_TIME = dt.datetime(2026, 1, 5, 9, 0, 0)


def write_compressor_pm_schedule(path: Path) -> None:
    document = docx.Document()
    props = document.core_properties
    props.title = "공기압축기 AC-2 예방정비 계획"
    props.author = "설비보전팀"
    props.created = props.modified = FIXED_TIME

    document.add_heading("공기압축기 AC-2 예방정비 계획", level=1)
    document.add_paragraph(
        "대상 설비는 75 kW 오일 주입식 스크루 공기압축기 AC-2이다. 정비 주기는 부하 운전시간 "
        "기준이며, 컨트롤러의 정비 카운터(메뉴 3.4)와 이 계획서의 시간이 다르면 먼저 도래하는 "
        "쪽을 따른다."
    )
    document.add_heading("1. 운전시간별 정비 항목", level=2)
    rows = [
        ("주기", "정비 항목", "부품·소모품"),
        ("500 h", "흡입 필터 점검 및 청소", "흡입 필터 엘리먼트 AF-75 (오염 시 교체)"),
        ("2,000 h", "오일 필터 교체, 응축수 배출 시험", "오일 필터 OF-118"),
        ("4,000 h", "압축기 오일 교체", "합성 압축기유 ISO VG 46, 20 L"),
        ("4,000 h", "오일 세퍼레이터 엘리먼트 교체", "OS-2290, 가스켓 포함"),
        ("8,000 h", "최소압력밸브·온도조절밸브 정비", "밸브 정비 키트 MPV-8"),
        ("24,000 h", "에어엔드 베어링 점검(제작사 의뢰)", "-"),
    ]
    table = document.add_table(rows=len(rows), cols=3)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value

    document.add_heading("2. 오일 교체 절차", level=2)
    for step in (
        "컨트롤러에서 정지하고 블로다운이 끝날 때까지 60초 기다린 뒤 SP-LOTO-01에 따라 잠근다.",
        "섬프 압력계가 0 bar인지 확인한다. 압력이 남아 있으면 주입구 마개를 절대 풀지 않는다.",
        "오일이 따뜻할 때(약 60 °C) 드레인 밸브로 배출한다. 배출량은 약 20 L이다.",
        "새 오일을 사이트 글라스 MAX 표시까지 채우고 10분 운전 후 정지 상태에서 다시 확인한다.",
        "폐유는 지정 폐유 드럼(창고 뒤 B-0 구역)에 모으고 폐기물 대장에 기록한다.",
    ):
        document.add_paragraph(step, style="List Number")

    document.add_heading("3. 연간 일정", level=2)
    document.add_paragraph(
        "연평균 부하 운전시간은 약 6,000 h이다. 따라서 오일과 세퍼레이터는 매년 3월과 10월 "
        "정기 정지 때 교체하고, 2,000 h 정비는 2월, 6월, 10월에 한다."
    )
    document.save(str(path))


def write_spare_parts(path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.properties.title = "예비품 목록"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    sheet = workbook.active
    sheet.title = "예비품"
    sheet.append(
        ["부품번호", "품명", "적용 설비", "현재고", "최소재고", "보관 위치", "최근 입고일"]
    )
    parts = [
        (
            "MS-45K",
            "메카니컬 씰 (카본/SiC, EPDM)",
            "펌프 P-101, P-102",
            2,
            2,
            "A-2-1",
            "2025-12-02",
        ),
        (
            "BRG-6309C3",
            "깊은 홈 볼베어링 6309 C3",
            "펌프 P-101, P-102",
            3,
            4,
            "A-2-3",
            "2026-02-18",
        ),
        (
            "BRG-7309BEP",
            "앵귤러 볼베어링 7309 BEP (2개 1조)",
            "펌프 P-101",
            1,
            1,
            "A-2-3",
            "2025-09-10",
        ),
        ("OS-2290", "오일 세퍼레이터 엘리먼트", "공기압축기 AC-2", 1, 2, "B-3-2", "2026-03-04"),
        ("OF-118", "오일 필터", "공기압축기 AC-2", 4, 2, "B-3-2", "2026-01-20"),
        ("AF-75", "흡입 필터 엘리먼트", "공기압축기 AC-2", 2, 2, "B-3-1", "2025-11-14"),
        (
            "IDL-114-315",
            "리턴 아이들러 Ø114×315 (6204 내장)",
            "컨베이어 CV-03",
            5,
            6,
            "A-1-4",
            "2026-03-19",
        ),
        (
            "SCR-PU-800",
            "스크레이퍼 블레이드 폴리우레탄 800 mm",
            "컨베이어 CV-03",
            1,
            1,
            "A-1-5",
            "2025-08-22",
        ),
        (
            "GKT-HX201",
            "판형 열교환기 가스켓 NBR (1매)",
            "열교환기 HX-201",
            20,
            10,
            "C-1-2",
            "2025-10-30",
        ),
        ("FLT-VFD-45", "인버터 함체 흡기 필터 매트", "VFD-CV03", 6, 4, "E-2-1", "2026-01-08"),
    ]
    for row in parts:
        *rest, received = row
        sheet.append([*rest, dt.date.fromisoformat(received)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    tools = workbook.create_sheet("특수공구")
    tools.append(["공구번호", "공구명", "용도", "보관 위치"])
    tools.append(["T-101", "펌프 축 고정 공구", "임펠러 너트 탈착 (P-101/P-102)", "공구실 선반 2"])
    tools.append(
        ["T-204", "베어링 유도 가열기 (최대 120 °C 설정)", "베어링 가열 장착", "공구실 선반 4"]
    )
    tools.append(["VP-1000", "휴대용 벨트 가황 프레스", "컨베이어 벨트 열가황 접합", "정비동 1층"])
    tools.append(["LA-3", "레이저 축정렬기", "펌프·전동기 축정렬", "공구실 보관함 1"])
    workbook.save(str(path))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    write_compressor_pm_schedule(OUT / "compressor-ac2-pm-schedule.docx")
    write_spare_parts(OUT / "spare-parts-list.xlsx")
    print(f"wrote sample office documents to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
