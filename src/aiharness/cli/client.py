"""The one typed client of a running platform's API (``--url`` / ``AIHARNESS_URL``).

Every answer is parsed into the API's own schema types; an error answer becomes a
``ClientError`` with the server's message, so commands print it as one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from aiharness.assistant.schemas import AskResponse, FeedbackPage, SessionPublic
    from aiharness.audit.schemas import AuditPage
    from aiharness.gateway.schemas import BackendTest, GatewayStatus, ReloadResult
    from aiharness.jobs.schemas import JobDetail, JobPage, JobPublic, WorkerList
    from aiharness.knowledge.schemas import (
        CollectionPublic,
        DocumentPublic,
        IngestProgress,
        IngestResponse,
        ReembedResponse,
        SearchHit,
    )
    from aiharness.pipelines.schemas import (
        DatasetDetail,
        DatasetPublic,
        DatasetRegistered,
        PipelineList,
        RunComparison,
        RunDetail,
        RunLogs,
        RunPublic,
    )

M = TypeVar("M", bound=BaseModel)
API_KEY_ENV = "AIHARNESS_API_KEY"
UPLOAD_BATCH = 20  # files per upload request


class ClientError(Exception):
    """The platform could not be reached or refused the request; ``exit_code`` for the CLI."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.exit_code = 2 if status_code is None else 1


class PlatformClient:
    """Talks to ``url``; one pooled HTTP connection for the life of the command."""

    def __init__(self, url: str, *, timeout_s: float = 60.0, api_key: str | None = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        # The platform's key (``AIHARNESS_API_KEY``) goes with every request when set.
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "").strip()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            base_url=self.url, timeout=httpx.Timeout(timeout_s, connect=5.0), headers=headers
        )

    def close(self) -> None:
        self._http.close()

    # -- transport ----------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the platform at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise ClientError(
                f"{_error_message(response)} (HTTP {response.status_code})",
                status_code=response.status_code,
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _one(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate(self._json(method, path, **kwargs))

    def _many(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        return [model.model_validate(item) for item in self._json(method, path, **kwargs)]

    # -- knowledge ----------------------------------------------------------------------------
    def list_collections(self) -> list[CollectionPublic]:
        from aiharness.knowledge.schemas import CollectionPublic

        return self._many(CollectionPublic, "GET", "/api/collections")

    def create_collection(self, body: dict[str, Any]) -> CollectionPublic:
        from aiharness.knowledge.schemas import CollectionPublic

        return self._one(CollectionPublic, "POST", "/api/collections", json=body)

    def show_collection(self, name: str) -> CollectionPublic:
        from aiharness.knowledge.schemas import CollectionPublic

        return self._one(CollectionPublic, "GET", f"/api/collections/{_segment(name)}")

    def delete_collection(self, name: str) -> None:
        self._send("DELETE", f"/api/collections/{_segment(name)}")

    def reembed(self, name: str, *, force: bool) -> ReembedResponse:
        from aiharness.knowledge.schemas import ReembedResponse

        path = f"/api/collections/{_segment(name)}/reembed"
        return self._one(ReembedResponse, "POST", path, json={"force": force})

    def upload(self, collection: str, files: Sequence[Path]) -> IngestResponse:
        from aiharness.knowledge.schemas import IngestResponse

        with ExitStack() as stack:
            parts = [("files", (p.name, stack.enter_context(p.open("rb")))) for p in files]
            path = f"/api/collections/{_segment(collection)}/documents"
            return self._one(IngestResponse, "POST", path, files=parts)

    def ingest(self, paths: Sequence[Path], collection: str) -> list[IngestResponse]:
        """Upload the files under ``paths`` (creating the collection), in batches."""
        from aiharness.knowledge.parsers import supported_extensions
        from aiharness.knowledge.schemas import IngestResponse
        from aiharness.knowledge.sources import path_sources

        if collection not in {c.name for c in self.list_collections()}:
            self.create_collection({"name": collection})
        files: list[Path] = []
        skipped: list[str] = []
        for path in paths:
            found, left_out = path_sources(
                path=path, supported=supported_extensions(), source_kind="upload"
            )
            files.extend(f.stored_path for f in found if f.stored_path is not None)
            skipped.extend(left_out)
        responses = [
            self.upload(collection, files[start : start + UPLOAD_BATCH])
            for start in range(0, len(files), UPLOAD_BATCH)
        ]
        if not responses:
            responses.append(IngestResponse(collection=collection, job_ids=[], documents=[]))
        responses[0].skipped.extend(skipped)
        return responses

    def documents(self, ids: Sequence[int]) -> list[DocumentPublic]:
        from aiharness.knowledge.schemas import DocumentPublic

        return [self._one(DocumentPublic, "GET", f"/api/documents/{i}") for i in ids]

    def ingest_progress(
        self, collection: str, *, first_id: int | None = None, last_id: int | None = None
    ) -> IngestProgress:
        from aiharness.knowledge.schemas import IngestProgress

        params = {
            key: value
            for key, value in (("first_id", first_id), ("last_id", last_id))
            if value is not None
        }
        path = f"/api/collections/{_segment(collection)}/progress"
        return self._one(IngestProgress, "GET", path, params=params)

    def failed_documents(self, collection: str, ids: Sequence[int]) -> list[DocumentPublic]:
        from aiharness.knowledge.schemas import DocumentPage

        wanted, failed = set(ids), []
        offset = 0
        while True:  # pages of failed documents, newest first; usually one
            params = {"collection": collection, "status": "failed", "limit": 1000, "offset": offset}
            page = self._one(DocumentPage, "GET", "/api/documents", params=params)
            failed += [d for d in page.items if d.id in wanted]
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return failed

    def search(self, query: str, *, collection: str | None, k: int, mode: str) -> list[SearchHit]:
        from aiharness.knowledge.schemas import SearchHit

        params: dict[str, Any] = {"q": query, "k": k, "mode": mode}
        if collection:
            params["collection"] = collection
        return self._many(SearchHit, "GET", "/api/rag/search", params=params)

    # -- jobs ---------------------------------------------------------------------------------
    def list_jobs(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobPage:
        from aiharness.jobs.schemas import JobPage

        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        if job_type:
            params["type"] = job_type
        return self._one(JobPage, "GET", "/api/jobs", params=params)

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
        from aiharness.audit.schemas import AuditPage

        params: dict[str, Any] = {"limit": limit, "offset": offset}
        for name, value in (("actor", actor), ("action", action), ("target", target)):
            if value:
                params[name] = value
        if result:
            params["result"] = result
        if since is not None:
            params["since"] = since.isoformat()
        return self._one(AuditPage, "GET", "/api/audit", params=params)

    def get_job(self, job_id: str) -> JobDetail:
        from aiharness.jobs.schemas import JobDetail

        return self._one(JobDetail, "GET", f"/api/jobs/{_segment(job_id)}")

    def submit_job(self, job_type: str, params: dict[str, Any], *, delay_s: float) -> JobPublic:
        from aiharness.jobs.schemas import JobPublic

        body = {"type": job_type, "params": params, "delay_s": delay_s}
        return self._one(JobPublic, "POST", "/api/jobs", json=body)

    def cancel_job(self, job_id: str) -> JobPublic:
        from aiharness.jobs.schemas import JobPublic

        return self._one(JobPublic, "POST", f"/api/jobs/{_segment(job_id)}/cancel")

    def retry_job(self, job_id: str) -> JobPublic:
        from aiharness.jobs.schemas import JobPublic

        return self._one(JobPublic, "POST", f"/api/jobs/{_segment(job_id)}/retry")

    # -- pipelines ----------------------------------------------------------------------------
    def register_dataset_path(
        self, path: str, *, name: str | None = None, description: str = ""
    ) -> DatasetRegistered:
        from aiharness.pipelines.schemas import DatasetRegistered

        body = {"path": path, "name": name, "description": description}
        return self._one(DatasetRegistered, "POST", "/api/datasets", json=body)

    def upload_dataset(
        self, path: Path, *, name: str | None = None, description: str = ""
    ) -> DatasetRegistered:
        from aiharness.pipelines.schemas import DatasetRegistered

        data = {"description": description, **({"name": name} if name else {})}
        with path.open("rb") as handle:
            files = {"file": (path.name, handle)}
            return self._one(
                DatasetRegistered, "POST", "/api/datasets/upload", files=files, data=data
            )

    def list_datasets(self) -> list[DatasetPublic]:
        from aiharness.pipelines.schemas import DatasetPublic

        return self._many(DatasetPublic, "GET", "/api/datasets")

    def get_dataset(self, dataset_id: int) -> DatasetDetail:
        from aiharness.pipelines.schemas import DatasetDetail

        return self._one(DatasetDetail, "GET", f"/api/datasets/{int(dataset_id)}")

    def list_pipelines(self) -> PipelineList:
        from aiharness.pipelines.schemas import PipelineList

        return self._one(PipelineList, "GET", "/api/pipelines")

    def start_run(self, body: dict[str, Any]) -> RunDetail:
        from aiharness.pipelines.schemas import RunDetail

        return self._one(RunDetail, "POST", "/api/runs", json=body)

    def list_runs(self, *, dataset_id: int | None = None, limit: int = 50) -> list[RunPublic]:
        from aiharness.pipelines.schemas import RunPublic

        params: dict[str, Any] = {"limit": limit}
        if dataset_id is not None:
            params["dataset_id"] = dataset_id
        return self._many(RunPublic, "GET", "/api/runs", params=params)

    def get_run(self, run_id: str) -> RunDetail:
        from aiharness.pipelines.schemas import RunDetail

        return self._one(RunDetail, "GET", f"/api/runs/{_segment(run_id)}")

    def run_logs(self, run_id: str, *, tail: int) -> RunLogs:
        from aiharness.pipelines.schemas import RunLogs

        path = f"/api/runs/{_segment(run_id)}/logs"
        return self._one(RunLogs, "GET", path, params={"tail": tail})

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        from aiharness.pipelines.schemas import RunComparison

        params = {"ids": ",".join(run_ids)}
        return self._one(RunComparison, "GET", "/api/runs/compare", params=params)

    def cancel_run(self, run_id: str) -> RunDetail:
        from aiharness.pipelines.schemas import RunDetail

        return self._one(RunDetail, "POST", f"/api/runs/{_segment(run_id)}/cancel")

    def rerun(self, run_id: str, params: dict[str, Any]) -> RunDetail:
        from aiharness.pipelines.schemas import RunDetail

        path = f"/api/runs/{_segment(run_id)}/rerun"
        return self._one(RunDetail, "POST", path, json={"params": params})

    # -- gateway ------------------------------------------------------------------------------
    def gateway_status(self) -> GatewayStatus:
        from aiharness.gateway.schemas import GatewayStatus

        return self._one(GatewayStatus, "GET", "/api/gateway/status")

    def test_backend(self, name: str) -> BackendTest:
        from aiharness.gateway.schemas import BackendTest

        return self._one(BackendTest, "POST", f"/api/gateway/backends/{_segment(name)}/test")

    def reload_gateway(self) -> ReloadResult:
        from aiharness.gateway.schemas import ReloadResult

        return self._one(ReloadResult, "POST", "/api/gateway/reload")

    def chat_stream(self, body: dict[str, Any]) -> Iterator[str]:
        """The text of a streamed ``/v1/chat/completions`` answer, piece by piece."""
        import json

        import httpx

        request = {**body, "stream": True}
        timeout = httpx.Timeout(None, connect=5.0)  # an answer may take minutes
        try:
            with self._http.stream(
                "POST", "/v1/chat/completions", json=request, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ClientError(
                        f"{_error_message(response)} (HTTP {response.status_code})",
                        status_code=response.status_code,
                    )
                for line in response.iter_lines():
                    payload = line.removeprefix("data:").strip()
                    if not line.startswith("data:") or payload == "[DONE]":
                        continue
                    chunk = json.loads(payload)
                    if "error" in chunk and "choices" not in chunk:
                        raise ClientError(str(chunk["error"].get("message")), status_code=502)
                    for choice in chunk.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield text
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the platform at {self.url}: {exc}") from None

    def list_workers(self) -> WorkerList:
        from aiharness.jobs.schemas import WorkerList

        return self._one(WorkerList, "GET", "/api/workers")

    # -- assistant ----------------------------------------------------------------------------
    def ask(
        self, body: dict[str, Any], on_event: Callable[[str, dict[str, Any]], None] | None = None
    ) -> AskResponse:
        """``POST /api/ask``; with ``on_event`` the answer streams (server-sent events) and each
        event is passed on as it arrives. Returns the final answer either way."""
        import json

        import httpx

        from aiharness.assistant.schemas import AskResponse

        if on_event is None:
            return self._one(AskResponse, "POST", "/api/ask", json={**body, "stream": False})
        timeout = httpx.Timeout(None, connect=5.0)  # an answer may take minutes
        done: AskResponse | None = None
        try:
            with self._http.stream(
                "POST", "/api/ask", json={**body, "stream": True}, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ClientError(
                        f"{_error_message(response)} (HTTP {response.status_code})",
                        status_code=response.status_code,
                    )
                event = "message"
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.removeprefix("event:").strip()
                    elif line.startswith("data:"):
                        data = json.loads(line.removeprefix("data:").strip())
                        if event == "error":
                            error = data.get("error") or {}
                            raise ClientError(str(error.get("message")), status_code=502)
                        on_event(event, data)
                        if event == "done":
                            done = AskResponse.model_validate(data)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the platform at {self.url}: {exc}") from None
        if done is None:
            raise ClientError("the answer stream ended without its final event", status_code=502)
        return done

    def create_chat_session(self, title: str | None = None) -> SessionPublic:
        from aiharness.assistant.schemas import SessionPublic

        return self._one(SessionPublic, "POST", "/api/chat/sessions", json={"title": title})

    def list_feedback(
        self, *, rating: str | None = None, since: str | None = None, limit: int = 50
    ) -> FeedbackPage:
        from aiharness.assistant.schemas import FeedbackPage

        params: dict[str, Any] = {"limit": limit}
        params.update({k: v for k, v in (("rating", rating), ("since", since)) if v})
        return self._one(FeedbackPage, "GET", "/api/feedback", params=params)

    def export_feedback(
        self, *, fmt: str, since: str | None = None, min_rating: str | None = None
    ) -> list[dict[str, Any]]:
        import json

        params = {"format": fmt}
        params.update({k: v for k, v in (("since", since), ("min_rating", min_rating)) if v})
        response = self._send("GET", "/api/feedback/export", params=params)
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def run_jobs(
        self, ids: Sequence[str], *, follow_retries: bool = False
    ) -> Callable[[], None] | None:
        return None  # the platform's workers run them


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _error_message(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = None
    return str(message or response.text[:300] or response.reason_phrase)
