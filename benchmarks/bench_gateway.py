"""Model gateway figures: the latency the gateway adds over calling the same fast local
OpenAI-compatible stub directly (p50/p99 at concurrency 1 and 32, non-streaming), time to first
token when streaming, requests/s at concurrency 32, RSS before and after N requests, and the
time to fail over from a refused connection. With ``--litellm``, LiteLLM's proxy (in its own
throw-away virtualenv, never a project dependency) runs against the same stub, side by side.

    uv run python benchmarks/bench_gateway.py                       # 100,000 requests for RSS
    uv run python benchmarks/bench_gateway.py --requests 20000 \
        --litellm /tmp/litellm-venv/bin/litellm

The stub and each proxy run in their own processes; the load generator is a lean asyncio client
on raw keep-alive connections, so the CPU goes to the proxy under test. Figures are printed,
never asserted. Targets (issue 9): added p50 <= 2 ms and p99 <= 5 ms at concurrency 1; at 32,
at least 2x LiteLLM's requests/s and under half its added p50; RSS growth <= 20 MB over 100k
requests; failover within 1 s of a refused connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

BODY = {"model": "chat", "messages": [{"role": "user", "content": "펌프 점검 순서를 알려줘"}]}
TOKENS = [" 점검", " 순서", "는", " 다음", "과", " 같습니다", "."]


# -- the stub: a fast OpenAI-compatible server ---------------------------------------------
async def _stub_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    answer = json.dumps(
        {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1,
            "model": "stub",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(TOKENS)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        }
    ).encode()
    base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub"}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    events += [
        {**base, "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}
        for t in TOKENS
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    sse = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]
    stream_body = b"".join(b"%x\r\n%s\r\n" % (len(s), s) for s in sse) + b"0\r\n\r\n"
    models = json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d"
                    b"\r\n\r\n%s" % (len(models), models)
                )
            elif b'"stream": true' in body or b'"stream":true' in body:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + stream_body
                )
            else:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d"
                    b"\r\n\r\n%s" % (len(answer), answer)
                )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_stub(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_stub_connection, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the load generator --------------------------------------------------------------------
@dataclass
class Result:
    latencies_ms: list[float]
    ttfts_ms: list[float]
    seconds: float
    errors: int

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


async def _one_connection(
    port: int, request: bytes, count: int, result: Result, stream: bool
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            ok = head.startswith(b"HTTP/1.1 200")
            lowered = head.lower()
            first: float | None = None
            if b"transfer-encoding: chunked" in lowered:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        break
                    data = await reader.readexactly(size + 2)
                    if first is None and b'"content"' in data and b'"content":""' not in data:
                        first = time.perf_counter()
            else:
                length = 0
                for line in lowered.split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
            done = time.perf_counter()
            if not ok:
                result.errors += 1
                continue
            result.latencies_ms.append((done - started) * 1000)
            if stream and first is not None:
                result.ttfts_ms.append((first - started) * 1000)
    finally:
        writer.close()


def load(
    port: int,
    *,
    concurrency: int,
    requests: int,
    stream: bool = False,
    model: str = "chat",
    key: str = "sk-bench",
) -> Result:
    body = json.dumps({**BODY, "model": model, "stream": stream}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    result = Result([], [], 0.0, 0)

    async def main() -> None:
        per = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
        started = time.perf_counter()
        await asyncio.gather(*(_one_connection(port, request, n, result, stream) for n in per if n))
        result.seconds = time.perf_counter() - started

    asyncio.run(main())
    return result


# -- processes ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float = 120, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s}s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_gateway(stub_port: int, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    dead = free_port()  # nothing listens there: connection refused
    config = folder / "gateway.toml"
    config.write_text(
        f"""
[gateway]
failure_threshold = 1000000000   # keep trying the dead backend: measures every failover
health_interval_s = 3600

[[gateway.backends]]
name = "stub"
base_url = "http://127.0.0.1:{stub_port}/v1"
model = "stub"
capabilities = ["chat", "code"]
max_concurrency = 64

[[gateway.backends]]
name = "dead"
base_url = "http://127.0.0.1:{dead}/v1"
model = "dead"
capabilities = []

[gateway.aliases]
failover = ["dead", "stub"]
"""
    )
    port = free_port()
    env = {
        **os.environ,
        "AIHARNESS_CONFIG_FILE": str(config),
        "AIHARNESS_DATA_DIR": str(folder / "data"),
        "AIHARNESS_PORT": str(port),
        "AIHARNESS_LOG_LEVEL": "warning",
        "AIHARNESS_JOBS__WORKER_ENABLED": "false",
        "AIHARNESS_KNOWLEDGE__DEMO_INGEST": "off",
        # The per-key rate limit stays on the request path (its cost is measured) but far
        # above what the load generator sends.
        "AIHARNESS_LIMITS__V1_PER_MINUTE": "1000000000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "aiharness", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "gateway.log").open("wb"),
    )
    wait_http(f"http://127.0.0.1:{port}/health")
    return process, port


def start_litellm(
    litellm: str, stub_port: int, folder: Path
) -> tuple[subprocess.Popen[bytes], int]:
    config = folder / "litellm.yaml"
    config.write_text(
        f"""model_list:
  - model_name: chat
    litellm_params:
      model: openai/stub
      api_base: http://127.0.0.1:{stub_port}/v1
      api_key: none
"""
    )
    port = free_port()
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": "sk-bench",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
    }
    process = subprocess.Popen(
        [litellm, "--config", str(config), "--port", str(port), "--num_workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "litellm.log").open("wb"),
    )
    wait_http(
        f"http://127.0.0.1:{port}/v1/models",
        timeout_s=180,
        headers={"Authorization": "Bearer sk-bench"},
    )
    return process, port


# -- the run ----------------------------------------------------------------------------------
AUTO_SAMPLES = [
    "펌프 P-101의 진동이 심합니다. 점검 절차를 알려 주세요.",
    "파이썬 함수가 리스트를 반환하지 않아요",
    "What is the recommended maintenance interval for a centrifugal pump?",
    'Traceback (most recent call last):\n  File "main.py", line 3\nValueError: bad value',
    "보일러 안전 점검 항목은 무엇인가요? " * 40,  # a long message: the rules read its tail
]


def auto_rule_us(rounds: int = 2000) -> tuple[float, float]:
    """Median and p99 microseconds of the ``auto`` chat/code choice over the samples."""
    from aiharness.gateway.routing import choose_alias

    timings = []
    for _ in range(rounds):
        for text in AUTO_SAMPLES:
            messages = [{"role": "user", "content": text}]
            started = time.perf_counter()
            choose_alias("auto", messages)
            timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    return statistics.median(timings), timings[int(0.99 * len(timings))]


def measure(name: str, port: int, args: argparse.Namespace) -> dict[str, Result]:
    load(port, concurrency=4, requests=args.warmup)  # connections, caches, JIT-free warm-up
    found = {
        "c1": load(port, concurrency=1, requests=args.samples),
        "c32": load(port, concurrency=32, requests=args.samples * 4),
        "stream": load(port, concurrency=1, requests=args.samples, stream=True),
    }
    for key, result in found.items():
        if result.errors:
            print(f"  {name} {key}: {result.errors} errors")
    return found


def row(label: str, r: dict[str, Result], base: dict[str, Result] | None) -> str:
    def added(key: str, q: float) -> str:
        if base is None:
            return "      -"
        return f"{r[key].p(q) - base[key].p(q):7.2f}"

    ttft = statistics.median(r["stream"].ttfts_ms) if r["stream"].ttfts_ms else float("nan")
    return (
        f"{label:<10} {r['c1'].p(0.5):7.2f} {r['c1'].p(0.99):7.2f} {added('c1', 0.5)} "
        f"{added('c1', 0.99)} | {r['c32'].p(0.5):7.2f} {r['c32'].p(0.99):7.2f} "
        f"{added('c32', 0.5)} {r['c32'].rps:8.0f} | {ttft:8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests for the RSS run")
    parser.add_argument("--samples", type=int, default=2000, help="requests per latency run")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--litellm", help="path of the `litellm` command in its own venv")
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        with contextlib.suppress(KeyboardInterrupt):  # stopped with SIGINT at the end
            serve_stub(args.serve_stub)
        return

    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        folder = Path(tmp)
        stub_port = free_port()
        stub = subprocess.Popen(
            [sys.executable, __file__, "--serve-stub", str(stub_port)],
            stdout=subprocess.DEVNULL,
        )
        processes = [stub]
        try:
            wait_http(f"http://127.0.0.1:{stub_port}/v1/models")
            print(f"cpus: {os.cpu_count()}, samples per latency run: {args.samples}")
            median_us, p99_us = auto_rule_us()
            print(f"`auto` chat/code choice: median {median_us:.1f} us, p99 {p99_us:.0f} us")
            direct = measure("stub", stub_port, args)
            gateway, gw_port = start_gateway(stub_port, folder)
            processes.append(gateway)
            ours = measure("gateway", gw_port, args)
            theirs = None
            if args.litellm:
                litellm, lt_port = start_litellm(args.litellm, stub_port, folder)
                processes.append(litellm)
                theirs = measure("litellm", lt_port, args)
                stop(litellm)

            print(
                "\nlatency ms  c1 p50  c1 p99 +c1 p50 +c1 p99 | "
                "c32 p50 c32 p99 +c32p50    req/s | TTFT p50"
            )
            print(row("stub", direct, None))
            print(row("aiharness", ours, direct))
            if theirs is not None:
                print(row("litellm", theirs, direct))
                ratio = ours["c32"].rps / theirs["c32"].rps
                ours_added = ours["c32"].p(0.5) - direct["c32"].p(0.5)
                theirs_added = theirs["c32"].p(0.5) - direct["c32"].p(0.5)
                print(
                    f"at concurrency 32: {ratio:.2f}x LiteLLM's requests/s; added p50 "
                    f"{ours_added:.2f} ms vs {theirs_added:.2f} ms "
                    f"({ours_added / theirs_added:.2f}x)"
                )

            failover = load(gw_port, concurrency=1, requests=200, model="failover")
            plain = load(gw_port, concurrency=1, requests=200, model="chat")
            print(
                f"\nfailover from a refused connection: p50 {failover.p(0.5):.2f} ms, "
                f"p99 {failover.p(0.99):.2f} ms per request (no failover: p50 "
                f"{plain.p(0.5):.2f} ms); errors {failover.errors}"
            )

            before = rss_mb(gateway.pid)
            started = time.perf_counter()
            run = load(gw_port, concurrency=32, requests=args.requests)
            half = load(gw_port, concurrency=8, requests=max(1, args.requests // 10), stream=True)
            after = rss_mb(gateway.pid)
            print(
                f"RSS over {args.requests:,} requests (+{args.requests // 10:,} streamed): "
                f"{before:.1f} MB -> {after:.1f} MB ({after - before:+.1f} MB) in "
                f"{time.perf_counter() - started:.0f} s, {run.rps:.0f} req/s, "
                f"errors {run.errors + half.errors}"
            )
        finally:
            for process in reversed(processes):
                stop(process)


if __name__ == "__main__":
    main()
