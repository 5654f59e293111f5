"""A small OpenAI-compatible chat server on 127.0.0.1 with scriptable faults: a stand-in for
llama.cpp, vLLM or Ollama (services we do not own and must break on purpose).

It answers ``/v1/chat/completions`` (JSON or server-sent events with chunked encoding),
``/v1/embeddings`` and ``/v1/models``; faults: statuses to answer first (500, 429, ...),
a hang before the first token, and a stream that breaks after N tokens.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class FakeLLM:
    def __init__(self, name: str = "fake", *, words: int = 6, usage: bool = True) -> None:
        self.name = name
        self.words = words
        self.usage = usage
        self.fail_statuses: list[int] = []
        self.hang_s = 0.0  # silence after the headers, before the first token
        self.break_after: int | None = None  # close the stream after this many tokens
        self.token_delay_s = 0.0
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self.in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": server.name}]})
                else:
                    self._json(404, {"error": {"message": "no such path"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                if server.fail_statuses:
                    status = server.fail_statuses.pop(0)
                    self._json(status, {"error": {"message": f"injected {status}"}})
                    return
                if self.path.endswith("/embeddings"):
                    self._json(200, server.embeddings(body))
                elif body.get("stream"):
                    server.in_flight += 1
                    try:
                        self._stream(body)
                    finally:
                        server.in_flight -= 1
                else:
                    time.sleep(server.hang_s)
                    self._json(200, server.completion(body))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    server.disconnects += 1

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _stream(self, body: dict[str, Any]) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    base: dict[str, Any] = {
                        "id": f"chatcmpl-{server.name}",
                        "object": "chat.completion.chunk",
                        "created": 1,
                        "model": server.name,
                    }
                    role = {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
                    self._chunk(b"data: " + json.dumps(role).encode() + b"\n\n")
                    if server.hang_s:
                        time.sleep(server.hang_s)
                    tokens = server.tokens(body)
                    for i, token in enumerate(tokens):
                        if server.break_after is not None and i >= server.break_after:
                            self.connection.shutdown(socket.SHUT_RDWR)  # no final chunk
                            return
                        time.sleep(server.token_delay_s)
                        delta = {"index": 0, "delta": {"content": token}, "finish_reason": None}
                        event = {**base, "choices": [delta]}
                        self._chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
                    end: dict[str, Any] = {
                        **base,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    }
                    self._chunk(b"data: " + json.dumps(end).encode() + b"\n\n")
                    if server.usage and (body.get("stream_options") or {}).get("include_usage"):
                        usage = {**base, "choices": [], "usage": server.counts(body, tokens)}
                        self._chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
                    self._chunk(b"data: [DONE]\n\n")
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError, OSError):
                    server.disconnects += 1
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def tokens(self, body: dict[str, Any]) -> list[str]:
        """The answer: continues an assistant prefix when the last message is one."""
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        count = self.words
        if isinstance(body.get("max_tokens"), int):
            count = min(count, body["max_tokens"])
        if last.get("role") == "assistant":
            done = len(str(last.get("content", "")).split())
            return [f" w{i}" for i in range(done, max(done, self.words))][:count]
        return [f"{'' if i == 0 else ' '}w{i}" for i in range(count)]

    def counts(self, body: dict[str, Any], tokens: list[str]) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": len(tokens),
            "total_tokens": prompt + len(tokens),
        }

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        tokens = self.tokens(body)
        answer: dict[str, Any] = {
            "id": f"chatcmpl-{self.name}",
            "object": "chat.completion",
            "created": 1,
            "model": self.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens)},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.usage:
            answer["usage"] = self.counts(body, tokens)
        return answer

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        rows = []
        for i, text in enumerate(texts):
            digest = hashlib.sha256(text.encode()).digest()
            rows.append(
                {"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]}
            )
        return {"object": "list", "data": rows, "model": self.name}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
