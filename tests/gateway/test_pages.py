"""The Models page: backends with live health, recent usage, and a playground that streams,
in headless Chromium at phone (390 px) and desktop (1280 px) widths, in Korean and English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Gateway, backend
from tests.gateway.fake_llm import FakeLLM, closed_port_url

pytestmark = pytest.mark.e2e


@pytest.fixture
def gw(fakes: Callable[..., FakeLLM], gateway: Callable[..., Gateway]) -> Gateway:
    server = fakes("page-server", words=12)
    server.token_delay_s = 0.02
    return gateway(
        {
            "backends": [
                backend("small", server.url, priority=1),
                backend("offline", closed_port_url(), priority=2),
            ],
            "health_interval_s": 0.5,
        }
    )


def test_the_page_and_its_partials_render_in_both_languages(gw: Gateway) -> None:
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gw.url + "/v1/chat/completions", json=body).status_code == 200
    gw.usage()
    english = httpx.get(gw.url + "/models?lang=en")
    assert english.status_code == 200
    assert "Backends" in english.text and 'data-backend="small"' in english.text
    assert "gateway.css" in english.text and 'data-usage="' in english.text
    korean = httpx.get(gw.url + "/models?lang=ko")
    assert "백엔드" in korean.text and "최근 요청" in korean.text
    partial = httpx.get(gw.url + "/ui/partials/gateway/backends", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and 'data-backend="offline"' in partial.text


@pytest.mark.parametrize(("width", "lang"), [(390, "ko"), (1280, "en")])
def test_the_playground_streams_and_the_page_fits(
    gw: Gateway, browser: Any, test_output_dir: Path, width: int, lang: str
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{gw.url}/models?lang={lang}")
        page.locator('tr[data-backend="offline"] .badge.down').first.wait_for(timeout=15000)
        page.fill("textarea[name=prompt]", "펌프 점검 순서를 알려줘")
        page.click("#gateway-playground button[type=submit]")
        answer = page.locator("[data-testid=playground-answer]")
        page.wait_for_function(
            "document.querySelector('[data-testid=playground-answer]').textContent.includes('w11')",
            timeout=15000,
        )
        assert answer.inner_text().startswith("w0 w1 w2")
        page.locator("#gateway-answer-meta").filter(has_text="page-server").wait_for()
        page.locator("#gateway-usage tr[data-usage]").first.wait_for()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
        page.screenshot(path=str(test_output_dir / f"gateway-{width}-{lang}.png"), full_page=True)
        assert not errors
    finally:
        context.close()
