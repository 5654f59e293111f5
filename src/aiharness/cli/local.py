"""The CLI's local mode: the same operations as ``PlatformClient``, on an in-process platform
built the normal way (``build_platform`` with the ``cli`` role) over the configured data dir."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from aiharness.assistant.schemas import AskResponse, FeedbackPage, SessionPublic
    from aiharness.audit.schemas import AuditPage
    from aiharness.jobs.queue import QueueHub
    from aiharness.jobs.schemas import JobDetail, JobPage, JobPublic, WorkerList
    from aiharness.knowledge.runtime import KnowledgeRuntime
    from aiharness.knowledge.schemas import (
        CollectionPublic,
        DocumentPublic,
        IngestProgress,
        IngestResponse,
        ReembedResponse,
        SearchHit,
    )
    from aiharness.platform import Platform


class LocalBackend:
    """Calls the features' services directly; ``run_jobs`` runs jobs here when no worker lives."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @property
    def _queues(self) -> QueueHub:
        from aiharness.jobs.queue import QueueHub

        return self.platform.get(QueueHub)

    @property
    def _knowledge(self) -> KnowledgeRuntime:
        from aiharness.knowledge.runtime import KnowledgeRuntime

        return self.platform.get(KnowledgeRuntime)

    def close(self) -> None:
        self.platform.close()

    # -- knowledge ----------------------------------------------------------------------------
    def list_collections(self) -> list[CollectionPublic]:
        from aiharness.knowledge import service

        with self.platform.unit_of_work() as session:
            return service.list_collections(session=session)

    def create_collection(self, body: dict[str, Any]) -> CollectionPublic:
        from pydantic import ValidationError

        from aiharness.errors import Invalid
        from aiharness.knowledge.schemas import CollectionCreate

        try:
            collection_in = CollectionCreate(**body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise Invalid(f"invalid {where}: {err['msg']}") from None
        with self.platform.unit_of_work() as session:
            return self._knowledge.create_collection(session=session, collection_in=collection_in)

    def show_collection(self, name: str) -> CollectionPublic:
        from aiharness.knowledge import service

        with self.platform.unit_of_work() as session:
            return service.show_collection(session=session, name=name)

    def delete_collection(self, name: str) -> None:
        from aiharness.knowledge import service

        with self.platform.unit_of_work() as session:
            service.delete_collection(
                session=session,
                store=self._knowledge.writer_store(),
                name=name,
                settings=self.platform.settings,
            )

    def reembed(self, name: str, *, force: bool) -> ReembedResponse:
        from aiharness.knowledge.reembed import submit_reembed

        with self.platform.unit_of_work() as session:
            return submit_reembed(
                session=session,
                queues=self._queues,
                collection_name=name,
                identity=self._knowledge.identity,
                force=force,
            )

    def ingest(self, paths: Sequence[Path], collection: str) -> list[IngestResponse]:
        """Queue the files under ``paths``; the CLI user reads them directly, so no root check."""
        from aiharness.knowledge.ingest import ingest_path

        responses = []
        for path in paths:
            with self.platform.unit_of_work() as session:
                responses.append(
                    ingest_path(
                        session=session,
                        queues=self._queues,
                        runtime=self._knowledge,
                        raw_path=str(path),
                        collection_name=collection,
                        check_roots=False,
                    )
                )
        return responses

    def documents(self, ids: Sequence[int]) -> list[DocumentPublic]:
        from aiharness.knowledge import service

        with self.platform.unit_of_work() as session:
            return service.list_documents(session=session, ids=ids, limit=max(len(ids), 1)).items

    def ingest_progress(
        self, collection: str, *, first_id: int | None = None, last_id: int | None = None
    ) -> IngestProgress:
        from aiharness.knowledge import service

        with self.platform.unit_of_work() as session:
            return service.ingest_progress(
                session=session, name=collection, first_id=first_id, last_id=last_id
            )

    def failed_documents(self, collection: str, ids: Sequence[int]) -> list[DocumentPublic]:
        from aiharness.knowledge import service

        with self.platform.unit_of_work() as session:
            page = service.list_documents(
                session=session, ids=ids, status="failed", limit=max(len(ids), 1)
            )
        return page.items

    def search(self, query: str, *, collection: str | None, k: int, mode: str) -> list[SearchHit]:
        from aiharness.errors import Invalid
        from aiharness.knowledge.schemas import SEARCH_MODES

        if mode not in SEARCH_MODES:
            raise Invalid(f"mode must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
        with self.platform.unit_of_work() as session:
            return self._knowledge.search(
                session=session,
                query=query,
                k=k,
                mode=mode,  # type: ignore[arg-type]
                collection=collection,
            )

    # -- jobs ---------------------------------------------------------------------------------
    def list_jobs(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobPage:
        from aiharness.jobs import service

        with self.platform.unit_of_work() as session:
            return service.list_jobs(
                session=session, status=status, job_type=job_type, limit=limit, offset=offset
            )

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
    ) -> AuditPage:
        from aiharness.audit.service import list_entries

        with self.platform.unit_of_work() as session:
            return list_entries(
                session=session,
                actor=actor,
                action=action,
                target=target,
                result=result,
                since=since,
                limit=limit,
                offset=offset,
            )

    def get_job(self, job_id: str) -> JobDetail:
        from aiharness.jobs import service

        with self.platform.unit_of_work() as session:
            full = service.find_job_id(session=session, prefix=job_id)
            return service.get_job(session=session, job_id=full)

    def submit_job(self, job_type: str, params: dict[str, Any], *, delay_s: float) -> JobPublic:
        from aiharness.jobs import service
        from aiharness.jobs.schemas import JobCreate

        with self.platform.unit_of_work() as session:
            return service.submit_by_hand(
                session=session,
                queues=self._queues,
                job_in=JobCreate(type=job_type, params=params, delay_s=delay_s),
            )

    def cancel_job(self, job_id: str) -> JobPublic:
        from aiharness.jobs import service

        with self.platform.unit_of_work() as session:
            full = service.find_job_id(session=session, prefix=job_id)
            return service.cancel_job(session=session, job_id=full)

    def retry_job(self, job_id: str) -> JobPublic:
        from aiharness.jobs import service

        with self.platform.unit_of_work() as session:
            full = service.find_job_id(session=session, prefix=job_id)
            return service.retry_job(session=session, queues=self._queues, job_id=full)

    def list_workers(self) -> WorkerList:
        from aiharness.jobs import service
        from aiharness.jobs.settings import JobsSettings

        timeout_s = JobsSettings.of(self.platform.settings).heartbeat_timeout_s
        with self.platform.unit_of_work() as session:
            return service.list_workers(session=session, heartbeat_timeout_s=timeout_s)

    def run_jobs(
        self, ids: Sequence[str], *, follow_retries: bool = False
    ) -> Callable[[], None] | None:
        """No live worker: run the jobs in this process as a short-lived worker of its own."""
        from aiharness.jobs.worker import InlineWorker

        if not ids or self.list_workers().live:
            return None
        return InlineWorker(self.platform).start(ids, follow_retries=follow_retries)

    # -- assistant ----------------------------------------------------------------------------
    def ask(
        self, body: dict[str, Any], on_event: Callable[[str, dict[str, Any]], None] | None = None
    ) -> AskResponse:
        """An answer from the in-process assistant (streamed to ``on_event`` when given)."""
        import asyncio

        from aiharness.assistant import service
        from aiharness.assistant.runtime import AssistantRuntime
        from aiharness.assistant.schemas import AskRequest, AskResponse
        from aiharness.errors import Invalid

        runtime = self.platform.get(AssistantRuntime)
        try:
            ask_in = AskRequest(**body)
        except ValueError as exc:
            raise Invalid(_first_problem(exc)) from None

        async def run() -> AskResponse:
            try:
                with self.platform.unit_of_work() as session:
                    checked = service.prepare(
                        runtime,
                        session=session,
                        question=ask_in.question,
                        collections=ask_in.collections,
                        k=ask_in.k,
                        session_id=ask_in.session_id,
                        model=ask_in.model,
                        owner="local",
                    )
                done: dict[str, Any] | None = None
                async for event in service.answer_events(
                    runtime, self.platform.unit_of_work, checked, tokens=on_event is not None
                ):
                    if on_event is not None:
                        on_event(event.event, event.data)
                    if event.event == "done":
                        done = event.data
                assert done is not None
                return AskResponse.model_validate(done)
            finally:
                if runtime.gateway is not None:
                    await runtime.gateway.aclose_connections()

        return asyncio.run(run())

    def create_chat_session(self, title: str | None = None) -> SessionPublic:
        from aiharness.assistant import sessions

        with self.platform.unit_of_work() as session:
            return sessions.create_session(session=session, title=title, owner="local")

    def list_feedback(
        self, *, rating: str | None = None, since: str | None = None, limit: int = 50
    ) -> FeedbackPage:
        from aiharness.assistant import feedback

        with self.platform.unit_of_work() as session:
            return feedback.list_feedback(
                session=session,
                rating="up" if rating == "up" else "down" if rating == "down" else None,
                since=_utc(since),
                limit=limit,
            )

    def export_feedback(
        self, *, fmt: str, since: str | None = None, min_rating: str | None = None
    ) -> list[dict[str, Any]]:
        from aiharness.assistant import export

        if fmt not in export.FORMATS:
            from aiharness.errors import Invalid

            raise Invalid(f"unknown export format {fmt!r}; use sft, dpo or jsonl")
        with self.platform.unit_of_work() as session:
            return list(
                export.records(
                    session=session,
                    fmt="sft" if fmt == "sft" else "dpo" if fmt == "dpo" else "jsonl",
                    since=_utc(since),
                    min_rating="up" if min_rating == "up" else "down" if min_rating else None,
                )
            )


def _first_problem(exc: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"invalid {where}: {err['msg']}"
    return str(exc)


def _utc(value: str | None) -> Any:
    """An ISO date or date-time (UTC unless it says otherwise), or None."""
    from datetime import UTC, datetime

    from aiharness.errors import Invalid

    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{value!r} is not a date (YYYY-MM-DD) or date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
