"""Where documents come from: uploads saved in ``uploads/``, server paths inside allowed roots.

Uploads are stored by content hash (``uploads/<sha256><ext>``), so a file name can never choose
where bytes land. Server paths are resolved (symlinks included) before the allowed-roots check.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from aiharness.config import Settings
from aiharness.errors import Forbidden, NotFound, Unavailable
from aiharness.knowledge.parsers import supported_extensions
from aiharness.knowledge.parsers.limits import MB, human_size
from aiharness.knowledge.settings import KnowledgeSettings

READ_BLOCK = 1024 * 1024
MAX_NAME_CHARS = 255
# Folders never worth walking: version control, caches, our own upload store.
_SKIP_DIRS = frozenset({".git", ".svn", "__pycache__", "node_modules", ".cache"})


@dataclass(frozen=True)
class SourceFile:
    """One file to ingest; ``error`` set means it is recorded as failed without being parsed."""

    source_kind: str  # "upload" | "path" | "inbound"
    source_path: str  # identity within a collection: the upload's name or the resolved path
    file_name: str
    stored_path: Path | None
    size_bytes: int
    content_hash: str
    error: str | None = None
    # Why it was refused at the door: "too_large", "invalid" (its name) or "unsupported".
    error_kind: Literal["too_large", "invalid", "unsupported"] | None = None


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def clean_file_name(raw: str | None) -> str:
    """The file name an upload claims, reduced to a bare name; refuses path tricks.

    Old browsers send ``C:\\dir\\name.pdf``: the last part is kept. A name with ``..`` parts,
    control characters or nothing left is refused with a message the user can act on.
    """
    name = (raw or "").strip()
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        raise ValueError("the upload has no file name")
    if ".." in parts:
        raise ValueError(f"file name {name!r} contains '..'; upload files by their name only")
    base = parts[-1]
    if any(ord(c) < 32 or c == "\x7f" for c in base):
        raise ValueError(f"file name {name!r} contains control characters")
    if len(base) > MAX_NAME_CHARS:
        raise ValueError(f"file name is {len(base)} characters long; the limit is 255")
    return base


def save_upload(*, settings: Settings, stream: BinaryIO, raw_name: str | None) -> SourceFile:
    """Copy one uploaded stream into ``uploads/`` (hashing as it goes, stopping at the size cap).

    Bad names and oversized files come back as a ``SourceFile`` with ``error`` set, so that the
    other files of the same request still go through.
    """
    shown = (raw_name or "").strip() or "(no name)"
    try:
        name = clean_file_name(raw_name)
    except ValueError as exc:
        return _rejected(shown, str(exc), kind="invalid")
    suffix = Path(name).suffix.lower()
    if suffix not in supported_extensions():
        known = ", ".join(sorted(supported_extensions()))
        what = f"files of type {suffix}" if suffix else "files without an extension"
        return _rejected(
            name, f"{name}: {what} are not supported (use {known})", kind="unsupported"
        )
    limit = int(KnowledgeSettings.of(settings).max_upload_mb * MB)
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".upload-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        with temp.open("wb") as out:
            while block := stream.read(READ_BLOCK):
                size += len(block)
                if size > limit:
                    break
                digest.update(block)
                out.write(block)
        if size > limit:
            while stream.read(READ_BLOCK):  # drain to learn nothing more; keep memory flat
                pass
            temp.unlink(missing_ok=True)
            return _rejected(
                name,
                f"{name} is larger than the upload limit of {human_size(limit)} "
                "(AIHARNESS_KNOWLEDGE__MAX_UPLOAD_MB)",
                kind="too_large",
                source_path=name,
            )
        content_hash = digest.hexdigest()
        target = folder / f"{content_hash}{Path(name).suffix.lower()[:16]}"
        if target.exists():
            temp.unlink()
        else:
            temp.replace(target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise Unavailable(
            f"cannot store the upload {name}: {exc.strerror or exc}", code="storage_full"
        ) from None
    return SourceFile(
        source_kind="upload",
        source_path=name,
        file_name=name,
        stored_path=target,
        size_bytes=size,
        content_hash=content_hash,
    )


def _rejected(
    name: str,
    error: str,
    *,
    kind: Literal["too_large", "invalid", "unsupported"],
    source_path: str | None = None,
) -> SourceFile:
    return SourceFile(
        source_kind="upload",
        source_path=source_path or "",
        file_name=name,
        stored_path=None,
        size_bytes=0,
        content_hash="",
        error=error,
        error_kind=kind,
    )


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def ingest_roots(settings: Settings) -> list[Path]:
    """Folders server-side ingestion may read (``knowledge.ingest_roots`` or the defaults)."""
    return KnowledgeSettings.of(settings).resolved_ingest_roots(settings.data_dir)


def resolve_server_path(*, settings: Settings, raw: str) -> Path:
    """The real path behind ``raw``, if it exists and lies inside an allowed ingest root."""
    roots = [r.resolve() for r in ingest_roots(settings)]
    try:
        path = Path(raw).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise NotFound(f"{raw} does not exist on the server") from None
    if not _within(path, roots):
        allowed = ", ".join(str(r) for r in roots) or "(none)"
        raise Forbidden(
            f"{raw} is outside the folders the server may read ({allowed}); put the files "
            "there or add the folder to AIHARNESS_KNOWLEDGE__INGEST_ROOTS",
            code="path_not_allowed",
        )
    return path


def path_sources(
    *,
    path: Path,
    supported: frozenset[str],
    recursive: bool = True,
    roots: list[Path] | None = None,
    source_kind: str = "path",
) -> tuple[list[SourceFile], list[str]]:
    """Files under ``path`` (or ``path`` itself) with their hashes, plus what was skipped.

    With ``roots`` set, every file (after resolving symlinks) must lie inside one of them.
    """
    resolved_roots = [r.resolve() for r in roots] if roots is not None else None
    files: list[SourceFile] = []
    skipped: list[str] = []
    candidates = [path] if path.is_file() else list(_walk(path, recursive))
    for candidate in candidates:
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            skipped.append(f"{candidate}: broken link")
            continue
        if resolved_roots is not None and not _within(real, resolved_roots):
            skipped.append(f"{candidate}: links outside the allowed folders")
            continue
        if not real.is_file():
            continue
        if path.is_dir() and real.suffix.lower() not in supported:
            skipped.append(f"{candidate}: file type {real.suffix or '(none)'} is not supported")
            continue
        try:
            content_hash, size = hash_file(real)
        except OSError as exc:
            skipped.append(f"{candidate}: cannot be read ({exc.strerror or exc})")
            continue
        files.append(
            SourceFile(
                source_kind=source_kind,
                source_path=str(real),
                file_name=real.name,
                stored_path=real,
                size_bytes=size,
                content_hash=content_hash,
            )
        )
    return files, skipped


def _walk(folder: Path, recursive: bool) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name
        if not recursive:
            return
