"""Reading and profiling dataset files: encodings, delimiters, broken and empty files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiharness.pipelines.tables import TableError, profile, read_table

pytestmark = pytest.mark.unit


def test_cp949_semicolon_csv_is_decoded_and_split(tmp_path: Path) -> None:
    text = "시간;압력;유량\n2026-01-01 00:00:00;1.5;3.2\n2026-01-01 00:00:01;1.6;3.1\n"
    path = tmp_path / "펌프.csv"
    path.write_bytes(text.encode("cp949"))
    frame, info = read_table(path)
    assert info == {"format": "csv", "encoding": "cp949", "delimiter": ";"}
    assert list(frame.columns) == ["시간", "압력", "유량"]
    stats = profile(frame, info)
    assert stats["rows"] == 2
    assert stats["time_column"] == "시간"
    assert stats["time_range"] == ["2026-01-01T00:00:00", "2026-01-01T00:00:01"]
    pressure = next(c for c in stats["columns"] if c["name"] == "압력")
    assert pressure["type"] == "numeric"
    assert pressure["min"] == 1.5


def test_tab_separated_with_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "plant.tsv"
    path.write_text("a\tb\tc\n1\t\tx\n2\t5\ty\n3\t6\t\n", encoding="utf-8")
    frame, info = read_table(path)
    assert info["delimiter"] == "\t"
    stats = profile(frame, info)
    b = next(c for c in stats["columns"] if c["name"] == "b")
    assert b["missing_share"] == pytest.approx(1 / 3, abs=1e-3)
    assert stats["preview"][0] == [1, None, "x"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b'a,b\n1,2\n3,"unterminated\n', "cannot be read"),
        (b"a b c\n1 2 3\n4 5 6\n", "delimiter could not be detected"),
    ],
)
def test_bad_csv_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(TableError, match=message):
        read_table(path)


def test_unknown_type_and_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK")
    with pytest.raises(TableError, match="unsupported file type"):
        read_table(tmp_path / "notes.docx")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(TableError, match="cannot be read as a parquet table"):
        read_table(tmp_path / "broken.parquet")


def test_parquet_and_excel_round_trip(tmp_path: Path) -> None:
    from tests.pipelines.pl_fixtures import sensor_frame

    frame = sensor_frame(50)
    frame.to_parquet(tmp_path / "s.parquet")
    frame.to_excel(tmp_path / "s.xlsx", index=False)
    for name in ("s.parquet", "s.xlsx"):
        read, info = read_table(tmp_path / name)
        assert read.shape == frame.shape
        assert profile(read, info)["rows"] == 50
