"""What the commands that can work either way need: a running platform through its API
(``--url``), or the data dir through an in-process platform. Both sides offer one interface."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aiharness.cli.common import errors_as_lines, local_platform

if TYPE_CHECKING:
    from datetime import datetime

    from aiharness.assistant.schemas import AskResponse, FeedbackPage, SessionPublic
    from aiharness.audit.schemas import AuditPage
    from aiharness.jobs.schemas import JobDetail, JobPage, JobPublic, WorkerList
    from aiharness.knowledge.schemas import (
        CollectionPublic,
        DocumentPublic,
        IngestProgress,
        IngestResponse,
        ReembedResponse,
        SearchHit,
    )


class Backend(Protocol):
    """``PlatformClient`` (remote) and ``LocalBackend`` (in process) both implement it."""

    def list_collections(self) -> list[CollectionPublic]: ...

    def create_collection(self, body: dict[str, Any]) -> CollectionPublic: ...

    def show_collection(self, name: str) -> CollectionPublic: ...

    def delete_collection(self, name: str) -> None: ...

    def reembed(self, name: str, *, force: bool) -> ReembedResponse: ...

    def ingest(self, paths: Sequence[Path], collection: str) -> list[IngestResponse]: ...

    def documents(self, ids: Sequence[int]) -> list[DocumentPublic]: ...

    def ingest_progress(
        self, collection: str, *, first_id: int | None = None, last_id: int | None = None
    ) -> IngestProgress:
        """Counts by status for the collection's documents with ids in the range (one call)."""
        ...

    def failed_documents(self, collection: str, ids: Sequence[int]) -> list[DocumentPublic]:
        """Those of ``ids`` that failed, with their errors."""
        ...

    def search(
        self, query: str, *, collection: str | None, k: int, mode: str
    ) -> list[SearchHit]: ...

    def list_jobs(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobPage: ...

    def get_job(self, job_id: str) -> JobDetail: ...

    def submit_job(self, job_type: str, params: dict[str, Any], *, delay_s: float) -> JobPublic: ...

    def cancel_job(self, job_id: str) -> JobPublic: ...

    def retry_job(self, job_id: str) -> JobPublic: ...

    def list_workers(self) -> WorkerList: ...

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        result: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> AuditPage: ...

    def run_jobs(
        self, ids: Sequence[str], *, follow_retries: bool = False
    ) -> Callable[[], None] | None:
        """Start running the jobs here if nobody else will; returns a wait-and-stop function."""

    def ask(
        self, body: dict[str, Any], on_event: Callable[[str, dict[str, Any]], None] | None = None
    ) -> AskResponse:
        """An answer; with ``on_event`` it streams (``sources``, ``token``..., ``done``)."""
        ...

    def create_chat_session(self, title: str | None = None) -> SessionPublic: ...

    def list_feedback(
        self, *, rating: str | None = None, since: str | None = None, limit: int = 50
    ) -> FeedbackPage: ...

    def export_feedback(
        self, *, fmt: str, since: str | None = None, min_rating: str | None = None
    ) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


@contextmanager
def connect(url: str | None) -> Iterator[Backend]:
    """The platform at ``url``, or (no URL) an in-process one on the configured data dir.

    Errors of either side become one clean line and a non-zero exit."""
    if url:
        from aiharness.cli.client import PlatformClient

        client = PlatformClient(url)
        try:
            with errors_as_lines():
                yield client
        finally:
            client.close()
        return
    from aiharness.cli.local import LocalBackend

    with local_platform() as platform:
        yield LocalBackend(platform)
