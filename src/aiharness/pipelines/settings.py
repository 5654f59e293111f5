"""The ``pipelines`` settings: dataset roots and limits, the inbound folder and its rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from aiharness.config import Section, Settings


class InboundRule(BaseModel):
    """Files in the inbound folder whose name matches ``pattern`` start ``pipeline``."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(min_length=1, description="Glob on the file name, e.g. `pump-*.csv`.")
    pipeline: str = Field(min_length=1, description="Name of the pipeline to run.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of that run.")


DEFAULT_RULES = (InboundRule(pattern="pump-*.csv", pipeline="sensor_anomaly"),)


class PipelinesSettings(Section):
    """ML pipelines: datasets, runs, the inbound folder."""

    key: ClassVar[str] = "pipelines"

    allowed_roots: list[Path] = Field(
        default_factory=list,
        description="Folders datasets may be registered from by server path (the data dir "
        "is always allowed).",
    )
    max_file_mb: float = Field(
        200.0, gt=0, description="Largest dataset file accepted, in megabytes."
    )
    inbound_dir: Path | None = Field(
        None, description="Watched inbound folder (a NAS mount). Empty: `inbound/` in the data dir."
    )
    rules: list[InboundRule] = Field(
        default_factory=lambda: [r.model_copy() for r in DEFAULT_RULES],
        description="Inbound rules: file-name pattern -> pipeline and params.",
    )
    stable_seconds: float = Field(
        5.0,
        ge=0,
        description="A file counts as complete once size and mtime are unchanged this long.",
    )
    use_done_file: bool = Field(
        False, description="Wait for a `<file>.done` marker instead of a stable size and mtime."
    )
    include_ext: list[str] = Field(
        default_factory=lambda: [".csv", ".parquet", ".xlsx"],
        description="File extensions the watcher picks up.",
    )
    poll_interval_s: float = Field(
        2.0,
        gt=0,
        description="Seconds between scans of the inbound folder (polling works on "
        "network filesystems).",
    )
    watcher_enabled: bool = Field(True, description="Run the inbound watcher in worker processes.")
    user_pipelines_dir: Path | None = Field(
        None,
        description="Folder of Python modules defining more pipelines. Empty: `pipelines/user` "
        "in the data dir.",
    )

    def resolved_inbound(self, settings: Settings) -> Path:
        return (self.inbound_dir or settings.data_dir / "inbound").expanduser()

    def resolved_user_dir(self, settings: Settings) -> Path:
        return (self.user_pipelines_dir or settings.data_dir / "pipelines" / "user").expanduser()

    def roots(self, settings: Settings) -> list[Path]:
        """Every folder a server path may come from, resolved."""
        return [p.expanduser().resolve() for p in (settings.data_dir, *self.allowed_roots)]

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)
