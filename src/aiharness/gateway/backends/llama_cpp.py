"""The embedded backend: a GGUF file run in process by llama-cpp-python (extra ``local-llm``).

The model loads on first use (``warm_up``, in a worker thread) and generates in a thread of its
own per request, so the event loop never blocks; answers and stream chunks come out in OpenAI's
exact shapes. One request at a time per model (a llama.cpp context is not thread-safe): the
others wait their turn in the event loop, not in threads. The context length is the smaller of
the configured one and the one the model was trained with (read from the file's header, before
loading, so the gateway can refuse too long a prompt without loading anything).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import json
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiharness.gateway.backends.base import BackendError
from aiharness.gateway.backends.gguf import GGUFError, read_gguf_info
from aiharness.gateway.settings import BackendSettings

INSTALL_HINT = (
    "the llama_cpp backend needs llama-cpp-python: install the extra with "
    "`uv sync --extra local-llm` (or `pip install 'aiharness[local-llm]'`)"
)
# OpenAI parameters that llama-cpp-python understands under the same name.
_PASSED = (
    "temperature",
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "response_format",
)
_END = object()
# Chat formats for files that carry no template, by architecture (prefix).
_FORMATS = (("gemma", "gemma"), ("qwen", "chatml"), ("mistral", "mistral-instruct"))
# llama-cpp-python chat format -> the name llama.cpp's own template code knows it by.
_LLAMA_TEMPLATES = {
    "gemma": "gemma",
    "chatml": "chatml",
    "llama-2": "llama2",
    "llama-3": "llama3",
    "mistral-instruct": "mistral-v1",
}


def resolve_model_path(model: str, models_dir: Path | None) -> Path:
    """``model`` as given when absolute, else inside ``models_dir`` (the data dir's models)."""
    path = Path(model).expanduser()
    if path.is_absolute() or models_dir is None:
        return path
    return models_dir / path


def _generation_args(body: Mapping[str, Any]) -> dict[str, Any]:
    if body.get("n") not in (None, 1):
        raise BackendError(
            "llama_cpp generates one choice per request (n=1)", status_code=400, retryable=False
        )
    if body.get("tools") or body.get("functions"):
        raise BackendError("llama_cpp does not call tools here", status_code=400, retryable=False)
    args = {k: body[k] for k in _PASSED if body.get(k) is not None}
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int):
        args["max_tokens"] = limit
    if isinstance(args.get("logit_bias"), Mapping):
        args["logit_bias"] = {int(k): float(v) for k, v in args["logit_bias"].items()}
    return args


def _text(content: Any) -> str:
    """A message's text: a string, or OpenAI's list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return ""


def _continues(messages: list[dict[str, Any]]) -> bool:
    """The last message is a partial answer to continue (the gateway's mid-stream failover)."""
    return messages[-1].get("role") == "assistant" and bool(_text(messages[-1].get("content")))


def _messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BackendError("messages must be a non-empty list", status_code=400, retryable=False)
    return [dict(m) for m in messages if isinstance(m, Mapping)]


class _Counter:
    """A logits processor that counts the tokens of one generation and, once ``cancel`` is set
    or the deadline has passed, allows only the end-of-text token so the generation ends at the
    next step."""

    def __init__(self, eos: int, cancel: threading.Event, deadline: float) -> None:
        self.eos = eos
        self.cancel = cancel
        self.deadline = deadline
        self.prompt_tokens: int | None = None
        self.steps = 0
        self.timed_out = False

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
        self.steps += 1
        if not self.timed_out and time.monotonic() > self.deadline:
            self.timed_out = True
        if self.timed_out or self.cancel.is_set():
            keep = float(scores[self.eos])
            scores[:] = float("-inf")
            scores[self.eos] = keep if keep > float("-inf") else 0.0
        return scores

    def usage(self, finish_reason: str | None) -> dict[str, int]:
        prompt = self.prompt_tokens or 0
        # The sampled end-of-text token is not part of the answer.
        completion = max(0, self.steps - (1 if finish_reason == "stop" else 0))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


def _failure(name: str, exc: Exception) -> BackendError:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ValueError) and "exceed context window" in text:
        return BackendError(
            f"{name}: the prompt does not fit the model's context ({text})",
            status_code=400,
            retryable=False,
        )
    return BackendError(f"{name} failed: {type(exc).__name__}: {text}")


class _LocalStream:
    """One generation running in its own thread; chunks arrive through a queue."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[Any],
        stop: threading.Event,
        done: asyncio.Event,
    ) -> None:
        self._loop = loop
        self._queue = queue
        self._stop = stop
        self._done = done
        self._closed = False
        self._first: str | None = None

    async def first(self) -> str:
        item = await self._queue.get()
        if isinstance(item, BackendError):
            raise item
        if item is _END:
            raise BackendError("the model produced no answer")
        self._first = str(item)
        return self._first

    async def payloads(self) -> AsyncIterator[str]:
        first, self._first = self._first, None
        if first is not None:
            yield first
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            if isinstance(item, BackendError):
                raise item
            yield str(item)

    async def aclose(self) -> None:
        """Stop the generation at its next token; returns once the model is free again."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        await self._done.wait()


class LlamaCppBackend:
    """A GGUF model in this process, behind the same interface as an OpenAI-compatible server."""

    def __init__(self, settings: BackendSettings, *, models_dir: Path | None = None) -> None:
        self.name = settings.name
        self.configured = settings
        self.path = resolve_model_path(settings.model, models_dir)
        self.trained_context: int | None = None
        self.chat_format = settings.chat_format
        self._header_error: str | None = None
        try:
            info = read_gguf_info(self.path)
        except (OSError, GGUFError) as exc:
            # Not fatal here: the file may be copied in later; requests then fail over.
            self._header_error = f"{self.path}: {exc}"
        else:
            self.trained_context = info.context_length
            if self.chat_format is None and info.chat_template is None:
                arch = info.architecture.lower()
                self.chat_format = next((f for a, f in _FORMATS if arch.startswith(a)), None)
            if info.context_length is not None and info.context_length < settings.context_length:
                settings = settings.model_copy(
                    update={"context_length": max(256, info.context_length)}
                )
        self.settings = settings
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # one generation at a time, from any event loop
        self._gates: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}

    # -- loading -------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the model (once; blocking: call it from a worker thread)."""
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is not None:
                return
            # llama.cpp's OpenMP threads spin while they wait by default; on a machine that
            # also runs the API, the workers and other models that spinning costs several
            # times the generation time (22 s against 4 s measured on 2 shared cores). An
            # explicit setting in the environment wins; it is read when llama.cpp loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                module = importlib.import_module("llama_cpp")
            except ImportError:
                raise BackendError(INSTALL_HINT) from None
            if not self.path.is_file():
                raise BackendError(
                    f"{self.name}: no GGUF file at {self.path} (models are never downloaded; "
                    "copy the file into the data dir's models folder)"
                )
            if self._header_error is not None:
                raise BackendError(f"{self.name}: {self._header_error}")
            threads = self.settings.threads or max(1, (os.cpu_count() or 2) // 2)
            try:
                self._model = module.Llama(
                    model_path=str(self.path),
                    n_ctx=self.settings.context_length,
                    n_threads=threads,
                    n_threads_batch=threads,
                    chat_format=self.chat_format,
                    verbose=False,
                )
            except Exception as exc:  # llama.cpp says little more than "failed to load"
                raise BackendError(f"{self.name}: could not load {self.path.name}: {exc}") from None

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(id(loop))
        if gate is None or gate[0] is not loop:
            self._gates = {k: g for k, g in self._gates.items() if not g[0].is_closed()}
            gate = self._gates[id(loop)] = (loop, asyncio.Semaphore(1))
        return gate[1]

    # -- the interface -------------------------------------------------------------------
    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        messages, args = _messages(body), _generation_args(body)
        async with self._gate():
            stop = threading.Event()
            deadline = time.monotonic() + self.settings.total_timeout_s
            task = asyncio.ensure_future(
                asyncio.to_thread(self._complete_blocking, messages, args, stop, deadline)
            )
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                stop.set()  # the caller went away: end the generation at its next token
                with contextlib.suppress(BaseException):
                    await task  # keep the gate until the model is free again
                raise

    def _complete_blocking(
        self,
        messages: list[dict[str, Any]],
        args: dict[str, Any],
        stop: threading.Event,
        deadline: float,
    ) -> dict[str, Any]:
        self.warm_up()
        with self._run_lock:
            counter = _Counter(self._model.token_eos(), stop, deadline)
            try:
                raw = self._generate(messages, args, counter, stream=False)
            except BackendError:
                raise
            except Exception as exc:
                raise _failure(self.name, exc) from None
        if counter.timed_out:
            raise BackendError(
                f"{self.name} timed out after {self.settings.total_timeout_s:g}s (total)"
            )
        choice = raw["choices"][0]
        finish = choice.get("finish_reason") or "stop"
        message = choice.get("message") or {"content": choice.get("text")}
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.settings.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": message.get("content") or ""},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": raw.get("usage") or counter.usage(finish),
        }

    async def open_stream(self, body: dict[str, Any]) -> _LocalStream:
        messages, args = _messages(body), _generation_args(body)
        options = body.get("stream_options")
        include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
        gate = self._gate()
        await gate.acquire()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        done = asyncio.Event()

        def put(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def finished() -> None:
            done.set()
            gate.release()

        def run() -> None:
            try:
                for payload in self._stream_blocking(messages, args, stop, include_usage):
                    put(payload)
            except BackendError as exc:
                put(exc)
            except Exception as exc:
                put(_failure(self.name, exc))
            finally:
                put(_END)
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(finished)

        stream = _LocalStream(loop, queue, stop, done)
        threading.Thread(target=run, name=f"llama-cpp-{self.name}", daemon=True).start()
        try:
            await stream.first()  # the role chunk comes with the first token
        except BaseException:
            stop.set()
            raise
        return stream

    def _stream_blocking(
        self,
        messages: list[dict[str, Any]],
        args: dict[str, Any],
        stop: threading.Event,
        include_usage: bool,
    ) -> Iterator[str]:
        self.warm_up()
        deadline = time.monotonic() + self.settings.total_timeout_s
        stamp = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.settings.model,
            "system_fingerprint": None,
        }

        def chunk(delta: dict[str, Any], finish: str | None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return json.dumps({**stamp, "choices": [choice]}, ensure_ascii=False)

        with self._run_lock:
            counter = _Counter(self._model.token_eos(), stop, deadline)
            continuing = _continues(messages)
            chunks: Iterator[dict[str, Any]] = self._generate(messages, args, counter, stream=True)
            finish: str | None = None
            started = False
            try:
                for raw in chunks:
                    if stop.is_set():
                        return  # the reader went away
                    choice = (raw.get("choices") or [{}])[0]
                    delta = choice.get("delta") or {}
                    if not started:
                        started = True
                        yield chunk({"role": "assistant"}, None)
                    content = choice.get("text") if continuing else delta.get("content")
                    if content:
                        yield chunk({"content": content}, None)
                    if choice.get("finish_reason"):
                        finish = str(choice["finish_reason"])
            finally:
                close: Callable[[], None] | None = getattr(chunks, "close", None)
                if close is not None:
                    close()
        if counter.timed_out:
            raise BackendError(
                f"{self.name} timed out after {self.settings.total_timeout_s:g}s (total)"
            )
        if not started:
            yield chunk({"role": "assistant"}, None)
        yield chunk({}, finish or "stop")
        if include_usage:
            yield json.dumps({**stamp, "choices": [], "usage": counter.usage(finish)})
        yield "[DONE]"

    def _generate(
        self,
        messages: list[dict[str, Any]],
        args: dict[str, Any],
        counter: _Counter,
        *,
        stream: bool,
    ) -> Any:
        """llama.cpp's chat completion; or, to continue a partial answer (the last message is
        the assistant's), a plain completion of the chat prompt followed by that partial."""
        if not _continues(messages):
            return self._model.create_chat_completion(
                messages=messages, logits_processor=[counter], stream=stream, **args
            )
        plain = {k: v for k, v in args.items() if k != "response_format"}
        return self._model.create_completion(
            prompt=self._continuation_prompt(messages),
            logits_processor=[counter],
            stream=stream,
            **plain,
        )

    def _continuation_prompt(self, messages: list[dict[str, Any]]) -> str:
        """The prompt up to the open assistant turn (llama.cpp's template code), plus the
        partial answer, so the model goes on with the same sentence."""
        module = importlib.import_module("llama_cpp")
        template = self._model.metadata.get("tokenizer.chat_template") or _LLAMA_TEMPLATES.get(
            self.chat_format or ""
        )
        if not template:
            raise BackendError(f"{self.name}: no chat template known to continue an answer")
        head = messages[:-1]
        items = [
            module.llama_chat_message(
                role=str(m.get("role") or "user").encode(), content=_text(m.get("content")).encode()
            )
            for m in head
        ]
        chat = (module.llama_chat_message * max(1, len(items)))(*items)
        size = 2 * sum(len(_text(m.get("content"))) + 32 for m in head) + 1024
        for _ in range(2):
            buffer = ctypes.create_string_buffer(size)
            length = module.llama_chat_apply_template(
                template.encode(), chat, len(items), True, buffer, size
            )
            if length < 0:
                raise BackendError(
                    f"{self.name}: llama.cpp cannot apply this model's chat template to "
                    "continue an answer"
                )
            if length <= size:
                return buffer.raw[:length].decode("utf-8", "replace") + _text(
                    messages[-1].get("content")
                )
            size = length + 1
        raise BackendError(f"{self.name}: the chat template kept growing")

    async def embed(self, body: dict[str, Any]) -> dict[str, Any]:
        raise BackendError(
            f"{self.name} (llama_cpp) serves chat, not embeddings", status_code=400, retryable=False
        )

    async def probe(self) -> list[str]:
        """Up once the model is loaded: the first probe loads it (in a worker thread)."""
        await asyncio.to_thread(self.warm_up)
        return [self.settings.model]

    async def aclose(self) -> None:
        self._gates.pop(id(asyncio.get_running_loop()), None)

    def close(self) -> None:
        """Free the model (a later request loads it again)."""
        self._gates = {}
        with self._load_lock:
            model, self._model = self._model, None
        if model is not None:
            with self._run_lock, contextlib.suppress(Exception):
                model.close()
