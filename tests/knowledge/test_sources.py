"""Upload names, the upload store and the allowed-roots check for server paths."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from aiharness.errors import Forbidden, NotFound
from aiharness.features import make_settings
from aiharness.knowledge.sources import (
    clean_file_name,
    ingest_roots,
    path_sources,
    resolve_server_path,
    save_upload,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("manual.pdf", "manual.pdf"),
        ("C:\\Users\\kim\\점검표.xlsx", "점검표.xlsx"),
        ("dir/./report.docx", "report.docx"),
    ],
)
def test_clean_file_name_keeps_the_bare_name(raw: str, expected: str) -> None:
    assert clean_file_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["../etc/passwd", "a/../../b.txt", "..\\x.txt", "", "  ", "a\x00.txt"]
)
def test_clean_file_name_refuses_tricks(raw: str) -> None:
    with pytest.raises(ValueError):
        clean_file_name(raw)


def test_uploads_are_stored_by_hash_and_capped(tmp_path: Path) -> None:
    settings = make_settings(data_dir=tmp_path / "data", knowledge={"max_upload_mb": 0.001})
    first = save_upload(settings=settings, stream=io.BytesIO(b"hello"), raw_name="a.TXT")
    second = save_upload(settings=settings, stream=io.BytesIO(b"hello"), raw_name="b.txt")
    assert first.error is None and first.stored_path is not None
    assert first.stored_path.name == f"{first.content_hash}.txt"
    assert second.stored_path == first.stored_path  # same bytes, one file
    big = save_upload(settings=settings, stream=io.BytesIO(b"x" * 5000), raw_name="big.txt")
    assert big.error is not None and "upload limit" in big.error and big.stored_path is None
    sneaky = save_upload(settings=settings, stream=io.BytesIO(b"x"), raw_name="../../x.txt")
    assert sneaky.error is not None and sneaky.source_path == ""
    assert sorted(p.name for p in (tmp_path / "data" / "uploads").iterdir()) == [
        first.stored_path.name
    ]


def test_server_paths_must_resolve_inside_a_root(tmp_path: Path) -> None:
    root = tmp_path / "inbound"
    (root / "a").mkdir(parents=True)
    (root / "a" / "ok.txt").write_text("ok")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (root / "escape.txt").symlink_to(outside)
    settings = make_settings(data_dir=tmp_path / "data", knowledge={"ingest_roots": [root]})
    assert (
        resolve_server_path(settings=settings, raw=str(root / "a" / "ok.txt"))
        == (root / "a" / "ok.txt").resolve()
    )
    assert resolve_server_path(settings=settings, raw=str(root / "a" / ".." / "a")).is_dir()
    for raw in (str(outside), str(root / ".." / "outside.txt"), str(root / "escape.txt")):
        with pytest.raises(Forbidden):
            resolve_server_path(settings=settings, raw=raw)
    with pytest.raises(NotFound):
        resolve_server_path(settings=settings, raw=str(root / "nope.txt"))


def test_default_roots_are_inbound_and_the_packaged_demo_docs(tmp_path: Path) -> None:
    roots = ingest_roots(make_settings(data_dir=tmp_path / "data"))
    assert roots[0] == tmp_path / "data" / "inbound"
    assert roots[1].parts[-3:] == ("aiharness", "knowledge", "sample_docs")
    assert (roots[1] / "loto-procedure-ko.md").is_file()


def test_folder_walk_skips_links_out_hidden_and_unsupported(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "x.txt").write_text("no")
    (root / "one.txt").write_text("one")
    (root / ".hidden.txt").write_text("no")
    (root / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "secret.txt").write_text("no")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    files, skipped = path_sources(
        path=root, supported=frozenset({".txt"}), roots=[root], source_kind="path"
    )
    assert [f.file_name for f in files] == ["one.txt"]
    assert any("image.png" in s for s in skipped)
    assert any("link.txt" in s for s in skipped)
