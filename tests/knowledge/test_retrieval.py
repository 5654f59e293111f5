"""retrieval.search: the concurrent hybrid path (keyword on a thread while the query embeds)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aiharness.errors import Unavailable
from aiharness.knowledge import fusion, retrieval
from aiharness.knowledge.embedders import Embedder, EmbedderError
from aiharness.knowledge.fusion import CROSS_LANGUAGE_KEYWORD_WEIGHT
from aiharness.knowledge.runtime import KnowledgeRuntime
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import COMPRESSOR_CP949, CONVEYOR_EN, PUMP_KO

pytestmark = pytest.mark.integration

kb_app = kb_fixtures.kb_app
kb_client = kb_fixtures.kb_client
kb_settings = kb_fixtures.kb_settings
run_jobs = kb_fixtures.run_jobs


def test_concurrent_hybrid_matches_sequential_and_reports_errors(
    kb_app: FastAPI, kb_client: TestClient, run_jobs: Callable[[], list[str]]
) -> None:
    kb_client.post("/api/collections", json={"name": "plant"})
    kb_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("pump.txt", PUMP_KO.encode())),
            ("files", ("belt.md", f"# Conveyor\n\n{CONVEYOR_EN}".encode())),
        ],
    )
    run_jobs()
    platform = kb_app.state.platform
    runtime = platform.get(KnowledgeRuntime)

    def search(query: str, *, concurrent: bool, embedder: Callable[[], Embedder]) -> list[int]:
        with platform.session_factory() as session:
            hits = retrieval.search(
                session=session,
                store=runtime.search_store(),
                embedder=embedder,
                settings=runtime.section.search,
                query=query,
                k=5,
                collection="plant",
                concurrent=concurrent,
            )
        return [h.chunk_id for h in hits]

    def model() -> Embedder:
        embedder: Embedder = runtime.embedder
        return embedder

    for query in ("벨트 장력 conveyor belt tension", "펌프 베어링 온도 점검"):
        sequential = search(query, concurrent=False, embedder=model)
        assert sequential
        assert search(query, concurrent=True, embedder=model) == sequential

    def broken() -> Embedder:
        raise EmbedderError("model file missing")

    # An embedder failure while the keyword side runs on its thread is still a clean 503.
    with pytest.raises(Unavailable) as caught:
        search("펌프", concurrent=True, embedder=broken)
    assert caught.value.code == "embedder_unavailable"


@pytest.mark.unit
def test_hybrid_weights_follow_the_query_unless_configured() -> None:
    from aiharness.knowledge.settings import SearchSettings

    def length(query: str) -> int:
        return len(retrieval.query_terms(query, ["kiwi"]))

    long_question = "원심 판결 이유 상고 기각 비용 원고 부담 주문 판단 법리 오해 위법 없음"
    short = retrieval.hybrid_weights(SearchSettings(), length("P-101A"))
    long = retrieval.hybrid_weights(SearchSettings(), length(long_question))
    assert short["keyword"] < long["keyword"]
    assert short["keyword"] + short["vector"] == pytest.approx(1.0)
    fixed = SearchSettings(keyword_weight=0.7)
    assert retrieval.hybrid_weights(fixed, length(long_question)) == pytest.approx(
        {"keyword": 0.7, "vector": 0.3}
    )
    both = SearchSettings(keyword_weight=2.0, vector_weight=1.0)
    assert retrieval.hybrid_weights(both, length("x")) == {"keyword": 2.0, "vector": 1.0}


SAMPLE_DOCS = Path(retrieval.__file__).parent / "sample_docs"


def test_an_english_question_over_korean_passages_leans_on_vectors(
    kb_client: TestClient, run_jobs: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 13: an English question over Korean manuals matches on the keyword side only what
    # the languages share (English words of unrelated pages); when the multilingual vector
    # side puts passages of the other language first, it must lead the fusion.
    kb_client.post("/api/collections", json={"name": "plant"})
    kb_client.post(
        "/api/collections/plant/documents",
        files=[
            ("files", ("loto.md", (SAMPLE_DOCS / "loto-procedure-ko.md").read_bytes())),
            ("files", ("pump-ko.txt", PUMP_KO.encode())),
            ("files", ("compressor-ko.txt", COMPRESSOR_CP949.encode())),
            ("files", ("onboarding.md", ONBOARDING_EN.encode())),
        ],
    )
    run_jobs()
    used: list[dict[str, float]] = []
    real_fuse = fusion.fuse

    def recording_fuse(*args: Any, **kwargs: Any) -> list[tuple[str, float]]:
        used.append(dict(kwargs["weights"]))
        return real_fuse(*args, **kwargs)

    monkeypatch.setattr(retrieval, "fuse", recording_fuse)

    def ranked(query: str, mode: str) -> list[str]:
        params: dict[str, Any] = {
            "q": query,
            "mode": mode,
            "k": 3,
            "collection": "plant",
            "per_document": True,
        }
        return [h["file_name"] for h in kb_client.get("/api/rag/search", params=params).json()]

    english = "pump lubricating oil change interval"
    assert ranked(english, "hybrid")[0] == "pump-ko.txt"
    assert used[-1]["keyword"] == pytest.approx(CROSS_LANGUAGE_KEYWORD_WEIGHT)
    # Within one language the keyword side keeps the weight of the query-length rule.
    assert ranked("onboarding steps for new staff", "hybrid")[0] == "onboarding.md"
    assert used[-1]["keyword"] > CROSS_LANGUAGE_KEYWORD_WEIGHT
    assert ranked("잠금장치 표지 부착 절차", "hybrid")[0] == "loto.md"
    assert used[-1]["keyword"] > CROSS_LANGUAGE_KEYWORD_WEIGHT


ONBOARDING_EN = (
    "# Onboarding steps\n\nSteps for new staff: collect the badge, get a locker, take the "
    "cafeteria tour. These steps take one day; the next steps are explained by the team lead."
)
