"""The inbound-folder watcher: polls a folder (a NAS mount in production, where change
notifications do not arrive), waits until each file is complete, registers it as a dataset and
starts the run its rule names.

Complete means: size and mtime unchanged for ``stable_seconds`` across polls, or, with
``use_done_file``, a ``<file>.done`` marker next to it. Each handled file is recorded in the
database by path, size and mtime before any work, under a unique constraint: a restart or a
second worker never handles it again, and a file replaced by new content is handled anew.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aiharness.db.base import utcnow
from aiharness.errors import DomainError
from aiharness.jobs.queue import QueueHub
from aiharness.observability.logging import get_logger
from aiharness.pipelines import datasets, runs
from aiharness.pipelines.models import InboundFile
from aiharness.pipelines.runtime import PipelinesRuntime
from aiharness.pipelines.schemas import RunCreate
from aiharness.pipelines.settings import InboundRule
from aiharness.platform import Platform

log = get_logger("aiharness.pipelines.watcher")
DONE_SUFFIX = ".done"
# Names that writers use while a file is still being copied.
PARTIAL_MARKERS = (".part", ".tmp", ".partial", ".crdownload", ".filepart")


@dataclass
class Seen:
    size: int
    mtime_ns: int
    since: float  # monotonic time this size and mtime were first seen


class InboundWatcher:
    name = "pipelines-inbound-watcher"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.runtime = platform.get(PipelinesRuntime)
        self.section = self.runtime.section
        self._seen: dict[Path, Seen] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- service -------------------------------------------------------------------------------
    def start(self) -> None:
        self.runtime.inbound_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        # Load the pipelines (and their libraries) now, not when the first file arrives.
        try:
            self.runtime.registry.all()
        except Exception:
            log.exception("pipelines could not be loaded; runs will fail until fixed")
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:
                log.exception("inbound scan failed; trying again at the next poll")
            self._stop.wait(self.section.poll_interval_s)

    # -- one poll ------------------------------------------------------------------------------
    def candidates(self) -> list[Path]:
        folder = self.runtime.inbound_dir
        if not folder.is_dir():
            return []
        wanted = {e.lower() for e in self.section.include_ext}
        found = []
        for path in sorted(folder.rglob("*")):
            name = path.name
            if name.startswith((".", "~")) or name.lower().endswith(PARTIAL_MARKERS):
                continue
            if path.suffix.lower() in wanted and path.is_file():
                found.append(path)
        return found

    def rule_for(self, path: Path) -> InboundRule | None:
        return next((r for r in self.section.rules if fnmatch.fnmatch(path.name, r.pattern)), None)

    def complete(self, path: Path, now: float) -> Seen | None:
        """The file's settled state when it is complete, else None (and remember what we saw)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._seen.pop(path, None)
            return None
        seen = self._seen.get(path)
        if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            seen = Seen(stat.st_size, stat.st_mtime_ns, now)
            self._seen[path] = seen
        if self.section.use_done_file:
            return seen if path.with_name(path.name + DONE_SUFFIX).exists() else None
        if stat.st_size > 0 and now - seen.since >= self.section.stable_seconds:
            return seen
        return None

    def scan(self, now: float | None = None) -> list[str]:
        """Handle every complete, new, matching file; returns the ids of the runs started."""
        now = time.monotonic() if now is None else now
        started: list[str] = []
        present = set()
        for path in self.candidates():
            present.add(path)
            rule = self.rule_for(path)
            if rule is None:
                continue
            seen = self.complete(path, now)
            if seen is None or self._handled(path, seen):
                continue
            run_id = self._handle(path, seen, rule)
            if run_id:
                started.append(run_id)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return started

    def _handled(self, path: Path, seen: Seen) -> bool:
        with self.platform.unit_of_work() as session:
            found = session.scalar(
                select(InboundFile.id).where(
                    InboundFile.path == str(path),
                    InboundFile.size_bytes == seen.size,
                    InboundFile.mtime_ns == seen.mtime_ns,
                )
            )
        return found is not None

    def _handle(self, path: Path, seen: Seen, rule: InboundRule) -> str | None:
        with self.platform.unit_of_work() as session:
            record = InboundFile(
                path=str(path),
                size_bytes=seen.size,
                mtime_ns=seen.mtime_ns,
                status="started",
                seen_complete_at=utcnow(),
            )
            session.add(record)
            try:
                session.commit()  # the claim: another worker's insert of this file fails here
            except IntegrityError:
                session.rollback()
                return None
            record_id = record.id
            try:
                # The inbound folder is trusted configuration: no allowed-roots check.
                with path.open("rb") as stream:
                    registered = datasets.register_stream(
                        session=session,
                        runtime=self.runtime,
                        stream=stream,
                        file_name=path.name,
                        source="inbound",
                        name=path.stem,
                    )
                run = runs.start_run(
                    session=session,
                    runtime=self.runtime,
                    queues=self.platform.get(QueueHub),
                    run_in=RunCreate(
                        dataset_id=registered.dataset.id,
                        pipeline=rule.pipeline,
                        params=rule.params,
                        version_id=registered.version.id,
                    ),
                )
            except (DomainError, OSError) as exc:
                session.rollback()
                message = exc.message if isinstance(exc, DomainError) else str(exc)
                self._record(record_id, "failed", error=message)
                log.warning("inbound file not handled", path=str(path), error=message)
                return None
            self._record(record_id, "registered", dataset_id=registered.dataset.id, run_id=run.id)
            log.info("inbound file registered", path=str(path), run_id=run.id)
            return run.id

    def _record(
        self,
        record_id: int,
        status: str,
        *,
        error: str | None = None,
        dataset_id: int | None = None,
        run_id: str | None = None,
    ) -> None:
        with self.platform.unit_of_work() as session:
            row = session.get(InboundFile, record_id)
            if row is not None:
                row.status, row.error = status, error
                row.dataset_id, row.run_id = dataset_id, run_id
                row.processed_at = utcnow()
