"""/api/datasets, /api/pipelines and /api/runs: thin routes over the datasets and runs services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from aiharness.api_errors import error_responses
from aiharness.deps import MAX_ROW_ID, CurrentPrincipal, Offset, RowId, SessionDep
from aiharness.jobs.deps import QueuesDep
from aiharness.pipelines import datasets, runs
from aiharness.pipelines.deps import PipelinesDep
from aiharness.pipelines.schemas import (
    DatasetDetail,
    DatasetPathCreate,
    DatasetPublic,
    DatasetRegistered,
    PipelineList,
    PipelinePublic,
    RerunCreate,
    RunComparison,
    RunCreate,
    RunDetail,
    RunLogs,
    RunPublic,
)

router = APIRouter(tags=["pipelines"], responses=error_responses(403, 404, 409, 413, 415, 422, 503))


@router.post(
    "/api/datasets",
    status_code=status.HTTP_201_CREATED,
    summary="Register a dataset from a server path (JSON body)",
    responses={403: {"description": "Outside the allowed folders."}},
)
def register_path(
    body: DatasetPathCreate, session: SessionDep, runtime: PipelinesDep, _p: CurrentPrincipal
) -> DatasetRegistered:
    return datasets.register_path(
        session=session,
        runtime=runtime,
        path=body.path,
        name=body.name,
        description=body.description,
    )


@router.post(
    "/api/datasets/upload",
    status_code=status.HTTP_201_CREATED,
    summary="Register a dataset from an uploaded file (CSV, Parquet, Excel)",
)
def register_upload(
    file: Annotated[UploadFile, File(description="The data file.")],
    session: SessionDep,
    runtime: PipelinesDep,
    _p: CurrentPrincipal,
    name: Annotated[str | None, Form(max_length=200)] = None,
    description: Annotated[str, Form(max_length=2000)] = "",
) -> DatasetRegistered:
    return datasets.register_stream(
        session=session,
        runtime=runtime,
        stream=file.file,
        file_name=file.filename or "upload",
        source="upload",
        name=name or None,
        description=description,
    )


@router.get("/api/datasets", summary="Datasets with their latest version")
def list_datasets(session: SessionDep, _p: CurrentPrincipal) -> list[DatasetPublic]:
    return datasets.list_datasets(session=session)


@router.get("/api/datasets/{dataset_id}", summary="One dataset: profile, versions, preview")
def show_dataset(dataset_id: RowId, session: SessionDep, _p: CurrentPrincipal) -> DatasetDetail:
    return datasets.get_dataset(session=session, dataset_id=dataset_id)


@router.delete(
    "/api/datasets/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a dataset with its versions and finished runs (refused while a run uses it)",
    responses={409: {"description": "A queued or running run uses it."}},
)
def delete_dataset(
    dataset_id: RowId, session: SessionDep, runtime: PipelinesDep, _p: CurrentPrincipal
) -> Response:
    datasets.delete_dataset(session=session, runtime=runtime, dataset_id=dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/pipelines", summary="Pipelines with their steps and parameter schemas")
def list_pipelines(runtime: PipelinesDep, _p: CurrentPrincipal) -> PipelineList:
    return PipelineList(
        pipelines=[PipelinePublic.model_validate(p.schema()) for p in runtime.registry.all()],
        problems=runtime.registry.problems,
    )


@router.post("/api/runs", status_code=status.HTTP_202_ACCEPTED, summary="Start a run")
def start_run(
    run_in: RunCreate,
    session: SessionDep,
    runtime: PipelinesDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
) -> RunDetail:
    return runs.start_run(session=session, runtime=runtime, queues=queues, run_in=run_in)


@router.get("/api/runs", summary="Runs, newest first")
def list_runs(
    session: SessionDep,
    _p: CurrentPrincipal,
    dataset_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[RunPublic]:
    return runs.list_runs(
        session=session, dataset_id=dataset_id, status=status_, limit=limit, offset=offset
    )


@router.get("/api/runs/compare", summary="Runs side by side: params and metrics")
def compare_runs(
    session: SessionDep,
    _p: CurrentPrincipal,
    ids: Annotated[str, Query(min_length=1, max_length=400, description="Comma-separated.")],
) -> RunComparison:
    run_ids = [i.strip() for i in ids.split(",") if i.strip()]
    return runs.compare_runs(session=session, run_ids=run_ids)


@router.get("/api/runs/{run_id}", summary="One run with its steps")
def show_run(run_id: str, session: SessionDep, _p: CurrentPrincipal) -> RunDetail:
    return runs.get_run(session=session, run_id=run_id)


@router.get("/api/runs/{run_id}/logs", summary="The last lines of a run's step logs")
def run_logs(
    run_id: str,
    session: SessionDep,
    runtime: PipelinesDep,
    _p: CurrentPrincipal,
    tail: Annotated[int, Query(ge=1, le=runs.MAX_TAIL)] = 200,
) -> RunLogs:
    return runs.run_logs(session=session, runtime=runtime, run_id=run_id, tail=tail)


@router.post(
    "/api/runs/{run_id}/cancel",
    summary="Cancel a run at its next step boundary",
    responses={409: {"description": "The run already finished."}},
)
def cancel_run(run_id: str, session: SessionDep, _p: CurrentPrincipal) -> RunDetail:
    return runs.cancel_run(session=session, run_id=run_id)


@router.post(
    "/api/runs/{run_id}/rerun",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run again on the same dataset version with changed params",
)
def rerun(
    run_id: str,
    body: RerunCreate,
    session: SessionDep,
    runtime: PipelinesDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
) -> RunDetail:
    return runs.rerun(
        session=session, runtime=runtime, queues=queues, run_id=run_id, params=body.params
    )
