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
    auto_migrate: bool = Field(
        True, description="Apply database migrations when the platform starts."
    )
    ready_retry_after_s: int = Field(
        5, ge=1, description="`Retry-After` seconds sent with a 503 from `/ready`."
    )

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
