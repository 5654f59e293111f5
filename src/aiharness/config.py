"""Settings: one tree, from the environment (prefix ``AIHARNESS_``) and an optional config file.

The platform-wide settings sit at the top of the tree (``AIHARNESS_PORT``). Each feature adds
its own section (``Section`` subclass) that the composition root assembles into the tree:
``AIHARNESS_KNOWLEDGE__EMBEDDER__KIND`` in the environment, ``[knowledge.embedder]`` in a TOML
file. The flat names of earlier versions (``AIHARNESS_EMBEDDER_KIND``) keep working through one
alias table built from the sections' ``legacy_names``, with a deprecation warning once.

Built once by the caller (the CLI or a test) and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "AIHARNESS_"
NESTED = "__"
CONFIG_FILE_ENV = "AIHARNESS_CONFIG_FILE"
# AIHARNESS_* names that are not settings: the config file pointer, the CLI's client settings,
# and the test suite's and benchmarks' own knobs.
NOT_SETTINGS = frozenset({CONFIG_FILE_ENV, "AIHARNESS_URL", "AIHARNESS_API_KEY"})
NOT_SETTINGS_PREFIXES = ("AIHARNESS_TEST_", "AIHARNESS_BENCH_")
# Shipped defaults that must never protect a real deployment.
INSECURE_SECRET = "dev-insecure-change-me"  # noqa: S105


class ConfigError(ValueError):
    """A setting is wrong; the message says which one and how to fix it."""


class Section(BaseModel):
    """A feature's settings section; subclasses set ``key`` (the section's name in the tree).

    ``legacy_names`` maps flat names of earlier versions (without the prefix, lower case) to a
    dotted path inside the section, e.g. ``{"embedder_kind": "embedder.kind"}``.
    """

    model_config = ConfigDict(extra="forbid")

    key: ClassVar[str]
    legacy_names: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """This section of ``settings`` (typed access for the feature that owns it)."""
        value = getattr(settings, cls.key, None)
        if not isinstance(value, cls):
            raise TypeError(
                f"these settings have no {cls.key!r} section; build them with "
                "aiharness.features.load_settings() or aiharness.features.make_settings()"
            )
        return value


class Settings(BaseSettings):
    """The platform-wide settings; ``assemble`` adds the features' sections. Field descriptions
    feed the docs' configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED,
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
    auto_migrate: bool = Field(
        True, description="Apply database migrations when the platform starts."
    )
    ready_retry_after_s: int = Field(
        5, ge=1, description="`Retry-After` seconds sent with a 503 from `/ready`."
    )

    # The sections of this settings class, by key (set by ``assemble``).
    sections: ClassVar[Mapping[str, type[Section]]] = {}

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="before")
    @classmethod
    def _move_legacy_keys(cls, data: Any) -> Any:
        """Flat names of earlier versions given as keys (config file, arguments) move into
        their section; the same key given both ways with different values is an error."""
        if not isinstance(data, dict):
            return data
        aliases = legacy_aliases(cls)
        moved = dict(data)
        for flat, path in aliases.items():
            if flat not in moved:
                continue
            value = moved.pop(flat)
            current = _get_path(moved, path)
            if current is not _MISSING and current != value:
                raise ValueError(
                    f"{flat} and {'.'.join(path)} are both set, to different values; "
                    f"keep only {'.'.join(path)}"
                )
            _set_path(moved, path, value)
            warn_legacy_once(flat, path)
        return moved

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
    def assemble(cls, sections: Sequence[type[Section]]) -> type[Settings]:
        """This class plus one field per section; the composition root calls it once."""
        return _assemble(cls, tuple(sections))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > legacy flat names > config file.
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            LegacyEnvSource(settings_cls),
        ]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(_file_source(settings_cls, Path(config_file)))
        return tuple(sources)


@cache
def _assemble(base: type[Settings], sections: tuple[type[Section], ...]) -> type[Settings]:
    keys = [s.key for s in sections]
    duplicated = {k for k in keys if keys.count(k) > 1} | (set(keys) & set(base.model_fields))
    if duplicated:
        raise ValueError(f"settings section names used twice: {', '.join(sorted(duplicated))}")
    fields: dict[str, Any] = {
        s.key: (s, Field(default_factory=s, description=_first_line(s.__doc__))) for s in sections
    }
    assembled: type[Settings] = create_model(
        "Settings", __base__=base, __module__=base.__module__, **fields
    )
    assembled.sections = {s.key: s for s in sections}
    return assembled


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


# -- legacy flat names -------------------------------------------------------------------------
_MISSING = object()
_warned: set[str] = set()


def legacy_aliases(settings_cls: type[Settings]) -> dict[str, tuple[str, ...]]:
    """The one alias table: flat name (lower case, no prefix) -> path in the tree."""
    table: dict[str, tuple[str, ...]] = {}
    for key, section in settings_cls.sections.items():
        for flat, inner in section.legacy_names.items():
            table[flat] = (key, *inner.split("."))
    return table


def warn_legacy_once(flat: str, path: tuple[str, ...]) -> None:
    if flat in _warned:
        return
    _warned.add(flat)
    from aiharness.observability.logging import get_logger

    get_logger("aiharness.config").warning(
        "deprecated setting name",
        old=ENV_PREFIX + flat.upper(),
        new=env_name(path),
    )


def env_name(path: Sequence[str]) -> str:
    return ENV_PREFIX + NESTED.join(p.upper() for p in path)


def _get_path(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _set_path(data: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if isinstance(child, BaseModel):
            child = child.model_dump()
        if not isinstance(child, dict):
            child = {}
        node[part] = child = dict(child)
        node = child
    node[path[-1]] = value


def _field_at(model: type[BaseModel], path: Sequence[str]) -> FieldInfo | None:
    """The field at ``path`` inside ``model`` (through nested sections), or None."""
    current: Any = model
    info: FieldInfo | None = None
    for part in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = model_in(info.annotation)
    return info


def model_in(annotation: Any) -> Any:
    """The BaseModel class inside an annotation (``X``, ``X | None``), else the annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def _is_complex(info: FieldInfo) -> bool:
    annotation = info.annotation
    candidates = [annotation, *get_args(annotation)]
    return any(
        get_origin(a) in (list, dict, tuple, set) or a in (list, dict)
        for a in candidates
        if a is not None
    )


def _env_value(info: FieldInfo | None, raw: str) -> Any:
    if info is not None and _is_complex(info):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw  # validation then names the variable
    return raw


class LegacyEnvSource(PydanticBaseSettingsSource):
    """Reads the flat environment names of earlier versions into their place in the tree."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ builds the whole mapping

    def __call__(self) -> dict[str, Any]:
        settings_cls = self.settings_cls
        assert issubclass(settings_cls, Settings)
        found: dict[str, Any] = {}
        for flat, path in legacy_aliases(settings_cls).items():
            raw = _environ_get(ENV_PREFIX + flat.upper())
            if raw is None:
                continue
            _set_path(found, path, _env_value(_field_at(settings_cls, path), raw))
            warn_legacy_once(flat, path)
        return found


def _environ_get(name: str) -> str | None:
    """Environment variables are case-insensitive for settings (as pydantic-settings reads)."""
    for key, value in os.environ.items():
        if key.upper() == name:
            return value
    return None


def _settings_environ() -> Iterator[tuple[str, str]]:
    for key, value in os.environ.items():
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NOT_SETTINGS:
            continue
        if upper.startswith(NOT_SETTINGS_PREFIXES):
            continue
        yield upper, value


def check_environment(settings_cls: type[Settings]) -> None:
    """Refuse unknown nested names and a flat and a nested name given different values."""
    aliases = legacy_aliases(settings_cls)
    nested_given: dict[tuple[str, ...], str] = {}
    for name, value in _settings_environ():
        rest = name[len(ENV_PREFIX) :].lower()
        if NESTED not in rest:
            continue
        path = tuple(rest.split(NESTED))
        if _field_at(settings_cls, path) is None:
            raise ConfigError(f"{name}: unknown setting (see docs/configuration.md)")
        nested_given[path] = value
    for flat, path in aliases.items():
        raw = _environ_get(ENV_PREFIX + flat.upper())
        if raw is None:
            continue
        other = nested_given.get(path)
        if other is not None and other != raw:
            raise ConfigError(
                f"{ENV_PREFIX}{flat.upper()} and {env_name(path)} are both set, to different "
                f"values; keep only {env_name(path)}"
            )
    for name, _value in _settings_environ():
        rest = name[len(ENV_PREFIX) :].lower()
        if NESTED in rest or rest in aliases or rest in settings_cls.model_fields:
            continue
        warn_unknown_once(name)


def warn_unknown_once(name: str) -> None:
    if name in _warned:
        return
    _warned.add(name)
    from aiharness.observability.logging import get_logger

    get_logger("aiharness.config").warning("unknown setting ignored", name=name)


def _file_source(settings_cls: type[BaseSettings], path: Path) -> PydanticBaseSettingsSource:
    if not path.is_file():
        raise ConfigError(f"config file {path} ({CONFIG_FILE_ENV}) does not exist")
    if path.suffix == ".toml":
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    if path.suffix in {".yaml", ".yml"}:
        return YamlConfigSettingsSource(settings_cls, yaml_file=path)
    raise ConfigError(f"config file {path} must end in .toml, .yaml or .yml")


def load_settings(settings_cls: type[Settings], **overrides: Any) -> Settings:
    """Build settings from the environment and config file; every problem becomes one line."""
    check_environment(settings_cls)
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        raise ConfigError("invalid settings: " + describe_errors(exc)) from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"could not read the config file: {exc}") from None


def describe_errors(exc: ValidationError) -> str:
    """``AIHARNESS_KNOWLEDGE__EMBEDDER__KIND: Input should be ...; ...``."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = env_name(loc) if loc else "settings"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown setting"
        problems.append(f"{name}: {message}")
    return "; ".join(problems)


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a setting's value with secrets revealed (for a child's environment)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def environment_of(settings: BaseModel, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Every setting as the environment variables that reproduce it (for child processes,
    whose settings may have come from arguments rather than the environment)."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        where = (*path, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            env.update(environment_of(value, where))
        elif isinstance(value, bool):
            env[env_name(where)] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | dict):
            env[env_name(where)] = json.dumps(_plain(value))
        else:
            env[env_name(where)] = str(_plain(value))
    return env


def check_production_secrets(settings: Settings) -> None:
    """Refuse shipped default secrets outside dev mode."""
    if settings.env != "dev" and settings.uses_default_secret:
        raise ConfigError(
            "AIHARNESS_SECRET_KEY is still the built-in default; set it to a long random value "
            '(e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`) '
            "or run with AIHARNESS_ENV=dev"
        )
