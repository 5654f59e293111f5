"""``aiharness models list|test|reload`` and ``aiharness chat``: the model gateway from a shell.

Both work through a running platform (``--url`` / ``AIHARNESS_URL``) or in process on the
configured data dir and config file, like the predecessor's ``ai`` command.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import typer

from aiharness.cli.common import UrlOption, console, errors_as_lines, fail, local_platform

if TYPE_CHECKING:
    from rich.table import Table

    from aiharness.gateway.public import GatewayRuntime
    from aiharness.gateway.schemas import BackendTest, GatewayStatus, ReloadResult

models_app = typer.Typer(
    help="LLM backends and aliases of the model gateway: list, test, reload.",
    no_args_is_help=True,
)


class GatewaySide(Protocol):
    """A running platform (``PlatformClient``) or this process's gateway."""

    def gateway_status(self) -> GatewayStatus: ...

    def test_backend(self, name: str) -> BackendTest: ...

    def chat(self, body: dict[str, Any], on_text: Callable[[str], None]) -> None: ...


class RemoteSide:
    def __init__(self, url: str) -> None:
        from aiharness.cli.client import PlatformClient

        self.client = PlatformClient(url)

    def gateway_status(self) -> GatewayStatus:
        return self.client.gateway_status()

    def test_backend(self, name: str) -> BackendTest:
        return self.client.test_backend(name)

    def chat(self, body: dict[str, Any], on_text: Callable[[str], None]) -> None:
        for text in self.client.chat_stream(body):
            on_text(text)


class LocalSide:
    """The gateway of an in-process platform; each call runs in its own event loop."""

    def __init__(self, runtime: GatewayRuntime) -> None:
        self.runtime = runtime

    def _run(self, work: Any) -> Any:
        async def main() -> Any:
            try:
                return await work
            finally:
                await self.runtime.aclose_connections()

        return asyncio.run(main())

    def gateway_status(self) -> GatewayStatus:
        from aiharness.gateway import service
        from aiharness.gateway.health import probe_all

        self._run(probe_all(self.runtime))  # nothing probes in the background here
        return service.status(self.runtime)

    def test_backend(self, name: str) -> BackendTest:
        from aiharness.gateway import service

        result: BackendTest = self._run(service.test_backend(self.runtime, name))
        return result

    def chat(self, body: dict[str, Any], on_text: Callable[[str], None]) -> None:
        from aiharness.gateway.public import stream_chat

        async def consume() -> None:
            params = {k: v for k, v in body.items() if k not in {"model", "messages", "stream"}}
            async for delta in stream_chat(
                self.runtime, body["messages"], alias=body["model"], **params
            ):
                if delta.text:
                    on_text(delta.text)

        self._run(consume())


@contextmanager
def gateway_side(url: str | None) -> Iterator[GatewaySide]:
    if url:
        side = RemoteSide(url)
        try:
            with errors_as_lines():
                yield side
        finally:
            side.client.close()
        return
    from aiharness.gateway.public import GatewayRuntime
    from aiharness.observability.logging import configure_logging

    # The answer goes to stdout (pipeable); the platform's log lines, if any, to stderr.
    configure_logging("warning", "console")
    with local_platform() as platform:
        yield LocalSide(platform.get(GatewayRuntime))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _status_table(status: GatewayStatus) -> Table:
    from rich.table import Table

    table = Table(title="LLM backends")
    for column in ("name", "kind", "model", "url", "capabilities", "health", "breaker", "p50"):
        table.add_column(column)
    table.add_column("errors")
    for b in status.backends:
        errors = "-" if b.error_rate is None else f"{b.error_rate:.0%} of {b.requests}"
        health = b.health + (f" ({b.health_error})" if b.health_error else "")
        table.add_row(
            b.name,
            b.kind,
            b.model,
            b.base_url,
            ",".join(b.capabilities),
            health,
            b.breaker,
            _ms(b.p50_ms),
            errors,
        )
    return table


@models_app.command("list")
def list_models(url: str | None = UrlOption) -> None:
    """Backends with health, breaker state, latency and errors; aliases and their backends."""
    with gateway_side(url) as side:
        status = side.gateway_status()
    if not status.backends:
        console.print(
            "no LLM backends configured; add [[gateway.backends]] to the config file "
            "(see docs/gateway.md) or set AIHARNESS_GATEWAY__BASE_URL and __MODEL"
        )
    else:
        console.print(_status_table(status))
    for alias in status.aliases:
        console.print(f"  [bold]{alias.name}[/] -> {' > '.join(alias.backends) or '-'}")


@models_app.command("test")
def probe_model(
    name: str = typer.Argument(..., help="Backend name (see `aiharness models list`)."),
    url: str | None = UrlOption,
) -> None:
    """Probe one backend now (GET /models) and say how long it took."""
    with gateway_side(url) as side:
        result = side.test_backend(name)
    if not result.ok:
        fail(f"{name}: {result.error}")
    served = ", ".join(result.models) or "no model list"
    console.print(f"[green]ok[/] {name} answered in {result.latency_ms:.0f} ms ({served})")


@models_app.command("reload")
def reload_models(url: str | None = UrlOption) -> None:
    """Re-read the config file's gateway section in a running platform (or send it SIGHUP)."""
    if not url:
        _check_config()
        return
    from aiharness.cli.client import PlatformClient

    client = PlatformClient(url)
    try:
        with errors_as_lines():
            report: ReloadResult = client.reload_gateway()
    finally:
        client.close()
    console.print(
        f"reloaded: added {report.added or '-'}, removed {report.removed or '-'}, "
        f"changed {report.changed or '-'}, kept {report.kept or '-'}"
    )


def _check_config() -> None:
    from aiharness.cli.common import settings_or_exit
    from aiharness.gateway.settings import GatewaySettings

    section = GatewaySettings.of(settings_or_exit())
    names = [b.name for b in section.all_backends()]
    console.print(
        f"the config is valid: {len(names)} backend(s) {names or ''}; a running platform "
        "applies it with `aiharness models reload --url URL` or `kill -HUP <pid>`"
    )


def _model_of(model: str | None, code: bool, chat: bool) -> str:
    if sum(bool(x) for x in (model, code, chat)) > 1:
        fail("give only one of --model, --code and --chat", code=2)
    return model or ("code" if code else "chat" if chat else "auto")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _ask(side: GatewaySide, body: dict[str, Any]) -> str:
    parts: list[str] = []

    def on_text(text: str) -> None:
        parts.append(text)
        _write(text)

    side.chat(body, on_text)
    _write("\n")
    return "".join(parts)


def chat(
    prompt: str | None = typer.Argument(None, help="Ask once and exit; empty: a conversation."),
    model: str | None = typer.Option(None, "--model", "-m", help="Alias or backend name."),
    code: bool = typer.Option(False, "--code", help="Use the `code` alias."),
    use_chat: bool = typer.Option(False, "--chat", help="Use the `chat` alias."),
    tokens: int | None = typer.Option(None, "--tokens", "-n", min=1, help="Most tokens to write."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    rag: bool = typer.Option(
        False, "--rag", help="Answer from the documents (the assistant), sources after each."
    ),
    url: str | None = UrlOption,
) -> None:
    """Talk to the gateway's models; the answer streams. Piped stdin joins the prompt."""
    alias = _model_of(model, code, use_chat)
    piped = None if sys.stdin.isatty() else sys.stdin.read()
    if rag:
        from aiharness.cli.assistant import rag_chat

        asked = "\n\n".join(p for p in (prompt, piped) if p and p.strip())
        rag_chat(
            url=url, prompt=asked or None, model=model or (alias if code or use_chat else None)
        )
        return
    messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    extra: dict[str, Any] = {"max_tokens": tokens} if tokens else {}
    one_shot = "\n\n".join(p for p in (prompt, piped) if p and p.strip())
    with gateway_side(url) as side:
        if one_shot or piped is not None:
            if not one_shot:
                fail("nothing to ask: the prompt and stdin are empty", code=2)
            messages.append({"role": "user", "content": one_shot})
            _ask(side, {"model": alias, "messages": messages, **extra})
            return
        console.print(f"[dim]model {alias}; /reset forgets the conversation, Ctrl-D ends it[/]")
        while True:
            try:
                line = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                _write("\n")
                return
            if not line:
                continue
            if line in {"/exit", "/quit"}:
                return
            if line == "/reset":
                messages = messages[:1] if system else []
                continue
            messages.append({"role": "user", "content": line})
            answer = _ask(side, {"model": alias, "messages": messages, **extra})
            messages.append({"role": "assistant", "content": answer})


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("chat")(chat)
