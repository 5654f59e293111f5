"""``aiharness up``: API, web UI and the embedded worker in one process tree."""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
import sys
from typing import Any

import typer

from aiharness import __version__
from aiharness.cli.common import console, fail, settings_or_exit

MAX_REQUEST_HEAD_BYTES = 1024 * 1024


def json_error_protocol() -> type[Any]:
    """Uvicorn's HTTP protocol, answering a request it cannot parse (a URL past 64 KB,
    malformed headers) with the platform's JSON error instead of a plain-text 400."""
    import json

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from aiharness.api_errors import error_body

    class JSONErrorsProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            body = json.dumps(
                error_body(
                    "bad_request",
                    "the request could not be read (is the URL longer than 64 KB, or a header "
                    f"malformed?): {msg}",
                )
            ).encode()
            head = [
                b"HTTP/1.1 400 Bad Request\r\n",
                *(
                    name + b": " + value + b"\r\n"
                    for name, value in self.server_state.default_headers
                ),
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    return JSONErrorsProtocol


def ensure_port_free(host: str, port: int) -> None:
    from aiharness.config import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use; stop the other process "
                    "or choose another port with --port or AIHARNESS_PORT"
                ) from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def up(
    host: str | None = typer.Option(None, help="Address to bind (AIHARNESS_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (AIHARNESS_PORT)."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Serve the API and UI only; run workers elsewhere."
    ),
) -> None:
    """Start the platform in the foreground; Ctrl-C stops everything cleanly."""
    import uvicorn

    from aiharness.app import create_app
    from aiharness.config import ConfigError, check_production_secrets
    from aiharness.features import FEATURES
    from aiharness.jobs.settings import JobsSettings
    from aiharness.observability.logging import configure_logging
    from aiharness.platform import build_platform

    overrides: dict[str, object] = {"host": host, "port": port}
    if no_worker:
        overrides["jobs"] = {"worker_enabled": False}
    settings = settings_or_exit(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    try:
        check_production_secrets(settings)
        ensure_port_free(settings.host, settings.port)
        platform = build_platform(settings, role="api", features=FEATURES)
        app = create_app(settings, platform)
    except ConfigError as exc:
        fail(str(exc), code=2)
    worker_enabled = JobsSettings.of(settings).worker_enabled

    shown_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    base = f"http://{shown_host}:{settings.port}"
    console.print(
        f"[bold]aiharness {__version__}[/] data in [cyan]{settings.data_dir.resolve()}[/]"
    )
    console.print(f"  web UI   {base}/")
    console.print(f"  API docs {base}/docs")
    console.print(f"  health   {base}/health · {base}/ready · {base}/metrics")
    console.print("  worker   " + ("embedded" if worker_enabled else "off (--no-worker)"))
    console.print("Press Ctrl-C to stop.")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our structured logging
        access_log=False,  # our middleware writes the access line with the request id
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=json_error_protocol(),
        # Uvicorn answers a request line or headers past this size itself; at 1 MiB a long
        # query string reaches the app and gets the platform's JSON 422 instead.
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )
    server = uvicorn.Server(config)
    # Uvicorn shuts down gracefully, then re-raises the signal it caught; a requested stop
    # after a clean shutdown is a success, so exit 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        fail("the server did not start; see the log above")
    console.print("aiharness stopped")
