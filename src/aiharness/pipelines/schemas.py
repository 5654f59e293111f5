"""API shapes of datasets, pipelines and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class VersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    sha256: str
    source: str
    original_name: str
    format: str
    size_bytes: int
    rows: int
    columns: int
    created_at: datetime


class DatasetPublic(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    versions: int
    latest: VersionPublic


class DatasetDetail(DatasetPublic):
    profile: dict[str, Any] = Field(description="Profile of the latest version, with a preview.")
    version_list: list[VersionPublic]


class DatasetRegistered(BaseModel):
    dataset: DatasetPublic
    version: VersionPublic
    created: bool = Field(description="False when this content was already a version.")


class DatasetPathCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1,
        max_length=4000,
        pattern=r"^[^\x00]*$",
        description="File on the server (no NUL characters).",
    )
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str = Field("", max_length=2000)


class ParamSchema(BaseModel):
    name: str
    type: str
    default: Any
    help: str
    choices: list[Any] | None
    minimum: float | None
    maximum: float | None
    optional: bool


class StepSchema(BaseModel):
    name: str
    description: str


class PipelinePublic(BaseModel):
    name: str
    description: str
    source: str
    steps: list[StepSchema]
    params: list[ParamSchema]


class PipelineList(BaseModel):
    pipelines: list[PipelinePublic]
    problems: list[str] = Field(description="User pipeline modules that could not be loaded.")


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: int = Field(ge=1, le=2**63 - 1)
    pipeline: str = Field(min_length=1, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)
    version_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Empty: the latest version."
    )


class RerunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(
        default_factory=dict, description="Changed parameters; the rest are the original run's."
    )


class StepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    name: str
    status: str
    job_id: str | None
    error: str | None
    metrics: dict[str, Any]
    artifacts: list[str]
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    dataset_id: int
    version_id: int
    pipeline: str
    params: dict[str, Any]
    status: str
    error: str | None
    cancel_requested: bool
    rerun_of: str | None
    metrics: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunDetail(RunPublic):
    steps: list[StepPublic]
    dataset_name: str


class RunLogs(BaseModel):
    run_id: str
    status: str
    lines: list[str]


class RunComparison(BaseModel):
    runs: list[RunPublic]
    params: dict[str, dict[str, Any]] = Field(description="param -> run id -> value")
    metrics: dict[str, dict[str, Any]] = Field(description="step.metric -> run id -> value")
