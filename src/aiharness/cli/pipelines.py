"""``aiharness datasets register|list|show|sample`` and
``aiharness runs start|list|show|logs|compare|cancel``.

Local (an in-process platform on the data dir; with no live worker the steps run here) or
through a running platform with ``--url``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from aiharness.cli.common import UrlOption, console, errors_as_lines, fail, local_platform

if TYPE_CHECKING:
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
    from aiharness.platform import Platform

datasets_app = typer.Typer(help="Datasets: register, list, show, sample.", no_args_is_help=True)
runs_app = typer.Typer(
    help="Pipeline runs: start, list, show, logs, compare, cancel.", no_args_is_help=True
)
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STYLE = {"succeeded": "green", "failed": "red", "cancelled": "dim", "running": "yellow"}


def register(root: typer.Typer) -> None:
    root.add_typer(datasets_app, name="datasets")
    root.add_typer(runs_app, name="runs")


class PipelinesBackend(Protocol):
    def register(
        self, path: Path, *, name: str | None, description: str, upload: bool
    ) -> DatasetRegistered: ...

    def list_datasets(self) -> list[DatasetPublic]: ...

    def get_dataset(self, dataset_id: int) -> DatasetDetail: ...

    def list_pipelines(self) -> PipelineList: ...

    def start_run(self, body: dict[str, Any]) -> RunDetail: ...

    def list_runs(self, *, dataset_id: int | None, limit: int) -> list[RunPublic]: ...

    def get_run(self, run_id: str) -> RunDetail: ...

    def run_logs(self, run_id: str, *, tail: int) -> RunLogs: ...

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison: ...

    def cancel_run(self, run_id: str) -> RunDetail: ...

    def drive(self, run_id: str) -> bool:
        """Run the run's steps here when no worker will; False when a worker takes them."""


class _Remote:
    def __init__(self, url: str) -> None:
        from aiharness.cli.client import PlatformClient

        self.client = PlatformClient(url)

    def register(
        self, path: Path, *, name: str | None, description: str, upload: bool
    ) -> DatasetRegistered:
        if upload:
            return self.client.upload_dataset(path, name=name, description=description)
        return self.client.register_dataset_path(str(path), name=name, description=description)

    def list_datasets(self) -> list[DatasetPublic]:
        return self.client.list_datasets()

    def get_dataset(self, dataset_id: int) -> DatasetDetail:
        return self.client.get_dataset(dataset_id)

    def list_pipelines(self) -> PipelineList:
        return self.client.list_pipelines()

    def start_run(self, body: dict[str, Any]) -> RunDetail:
        return self.client.start_run(body)

    def list_runs(self, *, dataset_id: int | None, limit: int) -> list[RunPublic]:
        return self.client.list_runs(dataset_id=dataset_id, limit=limit)

    def get_run(self, run_id: str) -> RunDetail:
        return self.client.get_run(run_id)

    def run_logs(self, run_id: str, *, tail: int) -> RunLogs:
        return self.client.run_logs(run_id, tail=tail)

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        return self.client.compare_runs(run_ids)

    def cancel_run(self, run_id: str) -> RunDetail:
        return self.client.cancel_run(run_id)

    def drive(self, run_id: str) -> bool:
        return False  # the server's workers run it


class _Local:
    def __init__(self, platform: Platform) -> None:
        from aiharness.jobs.queue import QueueHub
        from aiharness.pipelines.runtime import PipelinesRuntime

        self.platform = platform
        self.runtime = platform.get(PipelinesRuntime)
        self.queues = platform.get(QueueHub)

    def register(
        self, path: Path, *, name: str | None, description: str, upload: bool
    ) -> DatasetRegistered:
        from aiharness.pipelines import datasets

        with self.platform.unit_of_work() as session:
            if upload:  # a local "upload" copies the file in without the allowed-roots check
                with path.open("rb") as stream:
                    return datasets.register_stream(
                        session=session,
                        runtime=self.runtime,
                        stream=stream,
                        file_name=path.name,
                        source="upload",
                        name=name,
                        description=description,
                    )
            return datasets.register_path(
                session=session,
                runtime=self.runtime,
                path=str(path.resolve()),
                name=name,
                description=description,
            )

    def list_datasets(self) -> list[DatasetPublic]:
        from aiharness.pipelines import datasets

        with self.platform.unit_of_work() as session:
            return datasets.list_datasets(session=session)

    def get_dataset(self, dataset_id: int) -> DatasetDetail:
        from aiharness.pipelines import datasets

        with self.platform.unit_of_work() as session:
            return datasets.get_dataset(session=session, dataset_id=dataset_id)

    def list_pipelines(self) -> PipelineList:
        from aiharness.pipelines.schemas import PipelineList, PipelinePublic

        registry = self.runtime.registry
        return PipelineList(
            pipelines=[PipelinePublic.model_validate(p.schema()) for p in registry.all()],
            problems=registry.problems,
        )

    def start_run(self, body: dict[str, Any]) -> RunDetail:
        from aiharness.pipelines import runs
        from aiharness.pipelines.schemas import RunCreate

        with self.platform.unit_of_work() as session:
            return runs.start_run(
                session=session,
                runtime=self.runtime,
                queues=self.queues,
                run_in=RunCreate.model_validate(body),
            )

    def list_runs(self, *, dataset_id: int | None, limit: int) -> list[RunPublic]:
        from aiharness.pipelines import runs

        with self.platform.unit_of_work() as session:
            return runs.list_runs(session=session, dataset_id=dataset_id, limit=limit)

    def get_run(self, run_id: str) -> RunDetail:
        from aiharness.pipelines import runs

        with self.platform.unit_of_work() as session:
            return runs.get_run(session=session, run_id=run_id)

    def run_logs(self, run_id: str, *, tail: int) -> RunLogs:
        from aiharness.pipelines import runs

        with self.platform.unit_of_work() as session:
            return runs.run_logs(session=session, runtime=self.runtime, run_id=run_id, tail=tail)

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        from aiharness.pipelines import runs

        with self.platform.unit_of_work() as session:
            return runs.compare_runs(session=session, run_ids=run_ids)

    def cancel_run(self, run_id: str) -> RunDetail:
        from aiharness.pipelines import runs

        with self.platform.unit_of_work() as session:
            return runs.cancel_run(session=session, run_id=run_id)

    def drive(self, run_id: str) -> bool:
        """With no live worker, run each queued step's job here, in order, until the run ends."""
        from aiharness.cli.local import LocalBackend
        from aiharness.jobs.worker import JobRunner, make_worker_id

        if LocalBackend(self.platform).list_workers().live:
            return False
        runner = JobRunner(platform=self.platform, worker_id=make_worker_id())
        while True:
            run = self.get_run(run_id)
            queued = [s for s in run.steps if s.status == "queued" and s.job_id]
            if run.status in TERMINAL or not queued:
                return True
            assert queued[0].job_id is not None
            console.print(f"running step [bold]{queued[0].name}[/] here (no live worker)")
            runner(queued[0].job_id)


@contextmanager
def pipelines_backend(url: str | None) -> Iterator[PipelinesBackend]:
    if url:
        remote = _Remote(url)
        try:
            with errors_as_lines():
                yield remote
        finally:
            remote.client.close()
        return
    with local_platform() as platform, errors_as_lines():
        yield _Local(platform)


# -- datasets ------------------------------------------------------------------------------------
@datasets_app.command("register")
def register_dataset(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or Excel file.")],
    name: str | None = typer.Option(None, help="Dataset name (default: the file name)."),
    description: str = typer.Option("", help="What the data is."),
    upload: bool = typer.Option(
        False, help="Send the file's bytes (with --url) instead of naming a server path."
    ),
    url: str | None = UrlOption,
) -> None:
    """Register a file as a dataset version (the same content twice is one version)."""
    if upload and not path.is_file():
        fail(f"no file at {path}")
    with pipelines_backend(url) as backend:
        result = backend.register(path, name=name, description=description, upload=upload)
    state = "new version" if result.created else "already registered as"
    console.print(
        f"dataset [bold]{result.dataset.name}[/] (id {result.dataset.id}): {state} "
        f"v{result.version.number}, {result.version.rows} rows x {result.version.columns} columns"
    )


@datasets_app.command("list")
def list_datasets(url: str | None = UrlOption) -> None:
    """Datasets with their latest version."""
    from rich.table import Table

    with pipelines_backend(url) as backend:
        items = backend.list_datasets()
    if not items:
        console.print("no datasets yet; `aiharness datasets register FILE` adds one")
        return
    table = Table(title="datasets")
    for column in ("id", "name", "versions", "rows", "columns", "format", "updated"):
        table.add_column(column)
    for d in items:
        table.add_row(
            str(d.id),
            d.name,
            str(d.versions),
            str(d.latest.rows),
            str(d.latest.columns),
            d.latest.format,
            d.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@datasets_app.command("show")
def show_dataset(
    dataset_id: int = typer.Argument(..., help="Dataset id."),
    as_json: bool = typer.Option(False, "--json", help="The whole profile as JSON."),
    url: str | None = UrlOption,
) -> None:
    """A dataset's profile: columns, types, missing shares, time range, versions."""
    from rich.table import Table

    with pipelines_backend(url) as backend:
        detail = backend.get_dataset(dataset_id)
    if as_json:
        console.print_json(detail.model_dump_json())
        return
    profile = detail.profile
    read = profile.get("read", {})
    console.print(
        f"[bold]{detail.name}[/] (id {detail.id}), v{detail.latest.number} of "
        f"{detail.versions}: {profile['rows']} rows, {read}"
    )
    if profile.get("time_range"):
        start, end = profile["time_range"]
        console.print(f"time column {profile['time_column']}: {start} .. {end}")
    table = Table(title="columns")
    for column in ("name", "type", "missing", "min", "mean", "max"):
        table.add_column(column)
    for c in profile["columns"]:
        table.add_row(
            c["name"],
            c["type"],
            f"{c['missing_share']:.1%}",
            *(str(c.get(k, "")) if c.get(k) is not None else "" for k in ("min", "mean", "max")),
        )
    console.print(table)


@datasets_app.command("sample")
def sample_dataset(
    rows: int = typer.Option(2000, min=200, max=1_000_000, help="Rows of sensor data."),
    seed: int = typer.Option(7, help="Random seed."),
    folder: Annotated[
        Path | None, typer.Option(help="Where to write (default: the inbound folder).")
    ] = None,
) -> None:
    """Write a synthetic pump-sensor CSV with injected anomalies into the inbound folder."""
    from aiharness.cli.common import settings_or_exit
    from aiharness.pipelines.sample import write_sample
    from aiharness.pipelines.settings import PipelinesSettings

    settings = settings_or_exit()
    target = folder or PipelinesSettings.of(settings).resolved_inbound(settings)
    try:
        path = write_sample(target, rows=rows, seed=seed)
    except OSError as exc:
        fail(f"cannot write into {target}: {exc.strerror or exc}")
    console.print(
        f"wrote {path} ({rows} rows); a worker's inbound watcher registers it and starts "
        "sensor_anomaly"
    )


# -- runs ------------------------------------------------------------------------------------------
def _params(pairs: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--param {pair!r}: use NAME=VALUE")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def _print_run(run: RunDetail) -> None:
    from rich.table import Table

    style = STYLE.get(run.status, "cyan")
    console.print(
        f"run [bold]{run.id[:12]}[/] {run.pipeline} on {run.dataset_name} "
        f"(dataset {run.dataset_id}): [{style}]{run.status}[/]"
    )
    if run.error:
        console.print(f"[red]{run.error}[/]", highlight=False)
    table = Table(title="steps")
    for column in ("#", "step", "status", "seconds", "metrics"):
        table.add_column(column)
    for s in run.steps:
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in s.metrics.items()
            if isinstance(v, (int, float, str, bool))
        )
        table.add_row(
            str(s.position + 1),
            s.name,
            s.status,
            f"{s.duration_s:.2f}" if s.duration_s is not None else "",
            shown[:200],
        )
    console.print(table)


@runs_app.command("start")
def start_run(
    dataset_id: int = typer.Argument(..., help="Dataset id."),
    pipeline: str = typer.Argument(..., help="Pipeline name (`aiharness runs pipelines`)."),
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (JSON or text).")
    ] = None,
    wait: bool = typer.Option(True, help="Wait for the run to end and show it."),
    url: str | None = UrlOption,
) -> None:
    """Start a run; locally with no live worker the steps run in this process."""
    body = {"dataset_id": dataset_id, "pipeline": pipeline, "params": _params(param or [])}
    with pipelines_backend(url) as backend:
        run = backend.start_run(body)
        console.print(f"started run {run.id}")
        if not wait:
            return
        if not backend.drive(run.id):
            while run.status not in TERMINAL:
                time.sleep(1.0)
                run = backend.get_run(run.id)
        run = backend.get_run(run.id)
    _print_run(run)
    if run.status == "failed":
        raise typer.Exit(1)


@runs_app.command("pipelines")
def list_pipelines(url: str | None = UrlOption) -> None:
    """Pipelines with their steps and parameters."""
    with pipelines_backend(url) as backend:
        listed = backend.list_pipelines()
    for p in listed.pipelines:
        console.print(f"[bold]{p.name}[/] ({p.source}): {p.description}")
        console.print("  steps: " + " -> ".join(s.name for s in p.steps))
        for param in p.params:
            console.print(f"  {param.name}: {param.type} = {param.default!r}  {param.help}")
    for problem in listed.problems:
        console.print(f"[red]not loaded:[/] {problem}", highlight=False)


@runs_app.command("list")
def list_runs(
    dataset_id: int | None = typer.Option(None, "--dataset", help="Only this dataset's runs."),
    limit: int = typer.Option(30, min=1, max=500),
    url: str | None = UrlOption,
) -> None:
    """Runs, newest first."""
    from rich.table import Table

    with pipelines_backend(url) as backend:
        items = backend.list_runs(dataset_id=dataset_id, limit=limit)
    if not items:
        console.print("no runs yet; `aiharness runs start DATASET PIPELINE` starts one")
        return
    table = Table(title="runs")
    for column in ("id", "pipeline", "dataset", "status", "created", "error"):
        table.add_column(column)
    for r in items:
        table.add_row(
            r.id[:12],
            r.pipeline,
            str(r.dataset_id),
            f"[{STYLE.get(r.status, 'cyan')}]{r.status}[/]",
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            (r.error or "")[:80],
        )
    console.print(table)


@runs_app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help="Run id (or its first characters)."),
    url: str | None = UrlOption,
) -> None:
    """A run's steps, their status, times and metrics."""
    with pipelines_backend(url) as backend:
        run = backend.get_run(run_id)
    _print_run(run)


@runs_app.command("logs")
def run_logs(
    run_id: str = typer.Argument(..., help="Run id (or its first characters)."),
    tail: int = typer.Option(50, min=1, max=5000, help="Last lines to show."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing until it ends."),
    url: str | None = UrlOption,
) -> None:
    """The last lines of a run's step logs; --follow until the run ends."""
    with pipelines_backend(url) as backend:
        logs = backend.run_logs(run_id, tail=tail)
        for line in logs.lines:
            console.print(line, highlight=False, markup=False)
        shown = list(logs.lines)
        while follow and logs.status not in TERMINAL:
            time.sleep(1.0)
            logs = backend.run_logs(run_id, tail=5000)
            new = _after(shown, logs.lines)
            for line in new:
                console.print(line, highlight=False, markup=False)
            shown = list(logs.lines)
    if follow:
        console.print(f"run {logs.status}")


def _after(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """The lines of ``new`` past the end of ``old`` (logs only grow)."""
    if not old:
        return list(new)
    for start in range(len(new) - 1, -1, -1):
        if new[start] == old[-1] and list(new[max(0, start - len(old) + 1) : start + 1]) == list(
            old[-(start + 1) :]
        ):
            return list(new[start + 1 :])
    return list(new[len(old) :])


@runs_app.command("compare")
def compare_runs(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    url: str | None = UrlOption,
) -> None:
    """Params and metrics of runs side by side."""
    from rich.table import Table

    with pipelines_backend(url) as backend:
        compared = backend.compare_runs(run_ids)
    ids = [r.id for r in compared.runs]
    table = Table(title="compare")
    table.add_column("")
    for run in compared.runs:
        table.add_column(f"{run.id[:8]} {run.pipeline}")
    for section, values in (("param", compared.params), ("metric", compared.metrics)):
        for key, by_run in values.items():
            cells = [by_run.get(i) for i in ids]
            table.add_row(
                f"{section} {key}",
                *(
                    "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
                    for v in cells
                ),
            )
    console.print(table)


@runs_app.command("cancel")
def cancel_run(
    run_id: str = typer.Argument(..., help="Run id (or its first characters)."),
    url: str | None = UrlOption,
) -> None:
    """Cancel a run; it stops at its next step boundary."""
    with pipelines_backend(url) as backend:
        run = backend.cancel_run(run_id)
    console.print(f"run {run.id[:12]}: cancel requested (stops at the next step boundary)")
