"""Datasets: register a file (server path, upload, inbound) as an immutable, content-hashed
version with a profile; list, show, delete. Raises domain errors, knows nothing of HTTP."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aiharness.audit import record
from aiharness.db.base import utcnow
from aiharness.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, Unsupported
from aiharness.pipelines.formats import FORMATS, TableError, format_of
from aiharness.pipelines.models import ACTIVE_RUN_STATUSES, Dataset, DatasetVersion, Run, RunStep
from aiharness.pipelines.runtime import PipelinesRuntime
from aiharness.pipelines.schemas import (
    DatasetDetail,
    DatasetPublic,
    DatasetRegistered,
    VersionPublic,
)

CHUNK = 1024 * 1024
NAME_LIMIT = 200


def version_public(version: DatasetVersion) -> VersionPublic:
    return VersionPublic(
        id=version.id,
        number=version.number,
        sha256=version.sha256,
        source=version.source,
        original_name=version.original_name,
        format=version.format,
        size_bytes=version.size_bytes,
        rows=int(version.profile.get("rows", 0)),
        columns=len(version.profile.get("columns", [])),
        created_at=version.created_at,
    )


def _versions(session: Session, dataset_id: int) -> list[DatasetVersion]:
    return list(
        session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset_id)
            .order_by(DatasetVersion.number.desc())
        )
    )


def dataset_public(session: Session, dataset: Dataset) -> DatasetPublic:
    versions = _versions(session, dataset.id)
    return DatasetPublic(
        id=dataset.id,
        name=dataset.name,
        description=dataset.description,
        created_at=dataset.created_at,
        updated_at=dataset.updated_at,
        versions=len(versions),
        latest=version_public(versions[0]),
    )


def _check_type(name: str) -> None:
    try:
        format_of(name)
    except TableError as exc:
        raise Unsupported(str(exc), code="unsupported_file_type") from None


def _copy_hashed(runtime: PipelinesRuntime, stream: BinaryIO, name: str) -> tuple[Path, str, int]:
    """Copy ``stream`` into a temp file under the datasets folder, hashing on the way and
    refusing more than the configured size; returns (temp path, sha256, size)."""
    limit = runtime.section.max_bytes
    runtime.datasets_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, raw = tempfile.mkstemp(dir=runtime.datasets_dir, prefix=".incoming-")
    temp = Path(raw)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"{name} is larger than the {runtime.section.max_file_mb:g} MB limit "
                        "(AIHARNESS_PIPELINES__MAX_FILE_MB)",
                        code="file_too_large",
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest(), size


def register_stream(
    *,
    session: Session,
    runtime: PipelinesRuntime,
    stream: BinaryIO,
    file_name: str,
    source: str,
    name: str | None = None,
    description: str = "",
) -> DatasetRegistered:
    """Register the bytes of ``stream``: the same content twice is one version."""
    file_name = Path(file_name or "upload").name
    _check_type(file_name)
    dataset_name = (name or Path(file_name).stem).strip()[:NAME_LIMIT]
    if not dataset_name:
        raise Invalid("a dataset needs a name", code="invalid_name")
    temp, sha, size = _copy_hashed(runtime, stream, file_name)
    try:
        if size == 0:
            raise Invalid(f"{file_name}: the file is empty", code="empty_file")
        dataset = session.scalar(select(Dataset).where(Dataset.name == dataset_name))
        if dataset is not None:
            existing = session.scalar(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == dataset.id, DatasetVersion.sha256 == sha
                )
            )
            if existing is not None:
                return DatasetRegistered(
                    dataset=dataset_public(session, dataset),
                    version=version_public(existing),
                    created=False,
                )
        fmt = format_of(file_name)
        suffix = next(s for s, f in FORMATS.items() if f == fmt and file_name.lower().endswith(s))
        stored = runtime.datasets_dir / sha[:2] / f"{sha}{suffix}"
        try:
            from aiharness.pipelines.tables import profile, read_table  # pandas: on use

            frame, info = read_table(temp, name=file_name)
        except TableError as exc:
            raise Invalid(str(exc), code="unreadable_table") from None
        stats = profile(frame, info)
        stored.parent.mkdir(parents=True, exist_ok=True)
        if not stored.exists():
            temp.replace(stored)
        if dataset is None:
            dataset = Dataset(name=dataset_name, description=description)
            session.add(dataset)
            session.flush()
        number = (
            session.scalar(
                select(func.max(DatasetVersion.number)).where(
                    DatasetVersion.dataset_id == dataset.id
                )
            )
            or 0
        ) + 1
        version = DatasetVersion(
            dataset_id=dataset.id,
            number=number,
            sha256=sha,
            source=source,
            original_name=file_name,
            stored_path=str(stored.relative_to(runtime.datasets_dir)),
            format=fmt,
            size_bytes=size,
            profile=stats,
        )
        session.add(version)
        dataset.updated_at = utcnow()
        if description:
            dataset.description = description
        record(
            session,
            action="pipelines.dataset.register",
            target=f"dataset:{dataset.id}",
            details={
                "name": dataset_name,
                "version": number,
                "file_name": file_name,
                "size_bytes": size,
                "source": source,
            },
        )
        try:
            session.commit()
        except IntegrityError:
            # Another registration of the same name or content won the race: nothing is lost.
            session.rollback()
            raise Conflict(
                f"{dataset_name} was registered by another request at the same time; "
                "register it again to see the outcome",
                code="registration_race",
            ) from None
        return DatasetRegistered(
            dataset=dataset_public(session, dataset),
            version=version_public(version),
            created=True,
        )
    finally:
        temp.unlink(missing_ok=True)


def register_path(
    *,
    session: Session,
    runtime: PipelinesRuntime,
    path: str,
    name: str | None = None,
    description: str = "",
    source: str = "path",
) -> DatasetRegistered:
    """Register a file on the server; it must lie inside an allowed root."""
    target = Path(path).expanduser()
    try:
        resolved = target.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        raise NotFound(f"no file at {path}", code="file_not_found") from None
    roots = runtime.section.roots(runtime.settings)
    if not any(resolved.is_relative_to(root) for root in roots):
        raise Forbidden(
            f"{path} is outside the allowed dataset folders "
            f"({', '.join(str(r) for r in roots)}; AIHARNESS_PIPELINES__ALLOWED_ROOTS)",
            code="path_not_allowed",
        )
    if not resolved.is_file():
        raise Invalid(f"{path} is not a file", code="not_a_file")
    _check_type(resolved.name)
    with resolved.open("rb") as stream:
        return register_stream(
            session=session,
            runtime=runtime,
            stream=stream,
            file_name=resolved.name,
            source=source,
            name=name,
            description=description,
        )


def list_datasets(*, session: Session) -> list[DatasetPublic]:
    datasets = session.scalars(select(Dataset).order_by(Dataset.updated_at.desc()))
    return [dataset_public(session, d) for d in datasets]


def get_dataset_row(session: Session, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"no dataset {dataset_id}", code="dataset_not_found")
    return dataset


def get_dataset(*, session: Session, dataset_id: int) -> DatasetDetail:
    dataset = get_dataset_row(session, dataset_id)
    versions = _versions(session, dataset.id)
    public = dataset_public(session, dataset)
    return DatasetDetail(
        **public.model_dump(),
        profile=versions[0].profile,
        version_list=[version_public(v) for v in versions],
    )


def version_file(runtime: PipelinesRuntime, version: DatasetVersion) -> Path:
    return runtime.datasets_dir / version.stored_path


def delete_dataset(*, session: Session, runtime: PipelinesRuntime, dataset_id: int) -> None:
    """Delete a dataset, its versions' files and its finished runs; refused while a run of it
    is queued or running."""
    from aiharness.pipelines.runs import reconcile

    dataset = get_dataset_row(session, dataset_id)
    for run in session.scalars(
        select(Run).where(Run.dataset_id == dataset_id, Run.status.in_(ACTIVE_RUN_STATUSES))
    ):
        reconcile(session, run)
    active = session.scalar(
        select(func.count())
        .select_from(Run)
        .where(Run.dataset_id == dataset_id, Run.status.in_(ACTIVE_RUN_STATUSES))
    )
    if active:
        raise Conflict(
            f"dataset {dataset.name} is used by {active} queued or running run(s); cancel "
            "them or wait until they finish",
            code="dataset_in_use",
        )
    versions = _versions(session, dataset_id)
    runs = list(session.scalars(select(Run).where(Run.dataset_id == dataset_id)))
    if runs:
        session.execute(delete(RunStep).where(RunStep.run_id.in_([r.id for r in runs])))
    # Bulk statements in dependency order: the ORM would not order rows without relationships.
    session.execute(delete(Run).where(Run.dataset_id == dataset_id))
    session.execute(delete(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id))
    session.execute(delete(Dataset).where(Dataset.id == dataset_id))
    record(
        session,
        action="pipelines.dataset.delete",
        target=f"dataset:{dataset_id}",
        details={"name": dataset.name, "versions": len(versions), "runs": len(runs)},
    )
    session.commit()
    for run in runs:
        shutil.rmtree(runtime.run_dir(run.id), ignore_errors=True)
    for version in versions:
        still_used = session.scalar(
            select(func.count())
            .select_from(DatasetVersion)
            .where(DatasetVersion.stored_path == version.stored_path)
        )
        if not still_used:
            version_file(runtime, version).unlink(missing_ok=True)
