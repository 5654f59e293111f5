"""What every command shares: settings, the in-process platform, and clean one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from aiharness.config import Settings
    from aiharness.platform import Platform, Role

console = Console()
err_console = Console(stderr=True)
URL_HELP = "Platform URL to work through (AIHARNESS_URL); empty: work on the data dir directly."
UrlOption = typer.Option(None, "--url", envvar="AIHARNESS_URL", help=URL_HELP)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line and exit non-zero; user mistakes never show a traceback."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def echo_json(data: object) -> None:
    """JSON on stdout as it is (Hangul readable, never wrapped): safe to pipe into ``jq``."""
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def settings_or_exit(**overrides: object) -> Settings:
    from aiharness.config import ConfigError
    from aiharness.features import load_settings

    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        fail(str(exc), code=2)


@contextmanager
def errors_as_lines() -> Iterator[None]:
    """Domain errors, bad settings, an unreachable platform or database: one line, exit != 0."""
    from aiharness.cli.client import ClientError
    from aiharness.errors import DomainError

    try:
        yield
    except DomainError as exc:
        fail(exc.message)
    except ClientError as exc:
        fail(exc.message, code=exc.exit_code)
    except Exception as exc:
        # Imported only here: SQLAlchemy and the settings module take a third of a second, and a
        # `--url` command never needs them.
        from sqlalchemy.exc import OperationalError

        from aiharness.config import ConfigError

        if isinstance(exc, ConfigError):
            fail(str(exc), code=2)
        if isinstance(exc, OperationalError):
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            fail(f"cannot use the database: {reason} (run `aiharness db upgrade`?)", code=2)
        raise


DEFAULT_PORT = 8000
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def check_data_dir(settings: Settings) -> None:
    """Refuse to start a new data dir nobody asked for (a command run from the wrong folder
    would otherwise create ``./data`` and queue jobs that no worker will ever run)."""
    asked = {"data_dir", "database_url"} & settings.model_fields_set
    if asked or settings.data_dir.is_dir():
        return
    hint = (
        "run the command where your platform keeps its data, give --data-dir PATH "
        "(or AIHARNESS_DATA_DIR), or --url URL to work through a running platform"
    )
    if _platform_answers():
        hint = f"a platform is running at {DEFAULT_URL}: add --url {DEFAULT_URL}, or {hint}"
    fail(f"there is no platform data dir here ({settings.data_dir.resolve()}); {hint}", code=2)


def _platform_answers() -> bool:
    """Whether an aiharness answers ``/health`` on the default port of this machine."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", DEFAULT_PORT), timeout=0.3) as conn:
            conn.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return b'"status":"ok"' in conn.recv(4096)
    except OSError:
        return False


@contextmanager
def local_platform(
    role: Role = "cli",
    *,
    migrate_database: bool = True,
    settings: Settings | None = None,
    new_data_dir_ok: bool = False,
) -> Iterator[Platform]:
    """The platform of this process, built like every other (``build_platform``), closed after.

    ``new_data_dir_ok``: the command may create the data dir (``worker``, ``db upgrade``)."""
    from aiharness.features import FEATURES
    from aiharness.platform import build_platform

    settings = settings or settings_or_exit()
    if not new_data_dir_ok:
        check_data_dir(settings)
    with errors_as_lines():
        platform = build_platform(
            settings, role=role, features=FEATURES, migrate_database=migrate_database
        )
    try:
        with errors_as_lines():
            yield platform
    finally:
        platform.close()
