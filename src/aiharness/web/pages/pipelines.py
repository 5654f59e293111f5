"""Web UI of the pipelines feature: datasets (list, profile, preview, upload, start a run) and
runs (list; detail with a step timeline, live log tail, metrics and server-side SVG charts)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from aiharness.deps import CurrentPrincipal, SessionDep
from aiharness.errors import Invalid
from aiharness.jobs.deps import QueuesDep
from aiharness.pipelines import datasets, runs
from aiharness.pipelines.deps import PipelinesDep
from aiharness.pipelines.runtime import PipelinesRuntime
from aiharness.pipelines.schemas import RunCreate, RunDetail
from aiharness.web.templating import DashboardCard, NavItem, WebDep, fragment_router, page_router

router = page_router()
fragments = fragment_router()
NAV = (NavItem("datasets", "/datasets", 50), NavItem("runs", "/runs", 55))
DASHBOARD = (DashboardCard("pipelines.dashboard.recent", "/ui/runs/table?limit=5", 50),)
ACTIVE = ("queued", "running")
LOG_LINES = 200
CHART_ORDER = ("anomaly_score", "rul_pred_vs_actual", "pred_vs_actual", "confusion_matrix")


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(
    request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    items = datasets.list_datasets(session=session)
    return web.render(request, "pipelines_datasets.html", {"datasets": items}, active="datasets")


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
def dataset_page(
    dataset_id: int,
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: PipelinesDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    detail = datasets.get_dataset(session=session, dataset_id=dataset_id)
    return web.render(
        request,
        "pipelines_dataset.html",
        {
            "dataset": detail,
            "profile": detail.profile,
            "pipelines": runtime.registry.all(),
            "runs": runs.list_runs(session=session, dataset_id=dataset_id, limit=20),
        },
        active="datasets",
    )


@fragments.post("/ui/datasets/upload", response_class=HTMLResponse)
def upload_action(
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: PipelinesDep,
    _p: CurrentPrincipal,
    file: Annotated[UploadFile | None, Form()] = None,
    name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    if file is None or not file.filename:
        return web.flash(request, ok=False, key="pipelines.upload.none")
    result = datasets.register_stream(
        session=session,
        runtime=runtime,
        stream=file.file,
        file_name=file.filename,
        source="upload",
        name=name.strip() or None,
    )
    key = "pipelines.upload.created" if result.created else "pipelines.upload.same"
    text = f"{result.dataset.name} v{result.version.number}"
    response = web.flash(request, ok=True, text=f"{_t(web, request, key)}: {text}")
    response.headers["HX-Redirect"] = f"/datasets/{result.dataset.id}"
    return response


def _t(web: WebDep, request: Request, key: str) -> str:
    from aiharness.web.i18n import choose_language

    return web.catalogs.translate(choose_language(request), key)


@fragments.post("/ui/runs", response_model=None)
def start_run_action(
    request: Request,
    session: SessionDep,
    runtime: PipelinesDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
    dataset_id: Annotated[int, Form(ge=1)],
    pipeline: Annotated[str, Form(min_length=1, max_length=128)],
    params: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    parsed = _parse_params(params)
    run = runs.start_run(
        session=session,
        runtime=runtime,
        queues=queues,
        run_in=RunCreate(dataset_id=dataset_id, pipeline=pipeline, params=parsed),
    )
    return Response(status_code=204, headers={"HX-Redirect": f"/runs/{run.id}"})


def _parse_params(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Invalid(f"parameters are not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise Invalid('parameters must be a JSON object, e.g. {"train_rows": 400}')
    return value


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    items = runs.list_runs(session=session, limit=100)
    return web.render(
        request,
        "pipelines_runs.html",
        {"runs": items, "busy": any(r.status in ACTIVE for r in items)},
        active="runs",
    )


@fragments.get("/ui/runs/table", response_class=HTMLResponse)
def runs_table(
    request: Request,
    web: WebDep,
    session: SessionDep,
    _p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> HTMLResponse:
    items = runs.list_runs(session=session, limit=limit)
    return web.render(
        request,
        "_pipelines_runs_table.html",
        {"runs": items, "busy": any(r.status in ACTIVE for r in items)},
    )


def _charts(runtime: PipelinesRuntime, run: RunDetail) -> list[tuple[str, Markup]]:
    """The run's SVG plots, inline. They are our own output (charts.py escapes every text),
    never user-supplied markup, so they are safe to embed."""
    folder = runtime.run_dir(run.id) / "artifacts"
    names = [a for s in run.steps for a in s.artifacts if a.endswith(".svg")]
    names.sort(key=lambda n: CHART_ORDER.index(n[:-4]) if n[:-4] in CHART_ORDER else 99)
    charts = []
    for name in names:
        path = folder / name
        if path.is_file():
            charts.append((name[:-4], Markup(path.read_text(encoding="utf-8"))))  # noqa: S704
    return charts


def _metric_rows(run: RunDetail) -> list[tuple[str, str, str]]:
    rows = []
    for step, values in run.metrics.items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                continue
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            rows.append((step, key, shown))
    return rows


def _live_context(session: Any, runtime: PipelinesRuntime, run_id: str) -> dict[str, Any]:
    run = runs.get_run(session=session, run_id=run_id)
    logs = runs.run_logs(session=session, runtime=runtime, run_id=run.id, tail=LOG_LINES)
    return {"run": run, "logs": logs.lines, "live": run.status in ACTIVE}


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: PipelinesDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    context = _live_context(session, runtime, run_id)
    run: RunDetail = context["run"]
    context |= {"charts": _charts(runtime, run), "metrics": _metric_rows(run)}
    return web.render(request, "pipelines_run.html", context, active="runs")


@fragments.get("/ui/runs/{run_id}/live", response_model=None)
def run_live(
    run_id: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: PipelinesDep,
    _p: CurrentPrincipal,
) -> Response:
    context = _live_context(session, runtime, run_id)
    if not context["live"]:
        # Finished: reload the whole page once so metrics and charts appear.
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return web.render(request, "_pipelines_live.html", context)


@fragments.post("/ui/runs/{run_id}/cancel", response_class=HTMLResponse)
def cancel_action(
    run_id: str, request: Request, web: WebDep, session: SessionDep, _p: CurrentPrincipal
) -> HTMLResponse:
    runs.cancel_run(session=session, run_id=run_id)
    return web.flash(request, ok=True, key="pipelines.run.cancel_requested")


@fragments.post("/ui/runs/{run_id}/rerun", response_model=None)
def rerun_action(
    run_id: str,
    session: SessionDep,
    runtime: PipelinesDep,
    queues: QueuesDep,
    _p: CurrentPrincipal,
    params: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    run = runs.rerun(
        session=session,
        runtime=runtime,
        queues=queues,
        run_id=run_id,
        params=_parse_params(params),
    )
    return Response(status_code=204, headers={"HX-Redirect": f"/runs/{run.id}"})
