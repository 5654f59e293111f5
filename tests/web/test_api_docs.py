"""The API docs pages load nothing from outside the platform (the browser check is in e2e)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_use_only_vendored_assets(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert "cdn.jsdelivr" not in page.text and "fonts.googleapis" not in page.text
    urls = [a or b for a, b in ASSET.findall(page.text)]
    assert urls, "the page names its assets"
    for url in urls:
        assert url.startswith("/"), f"{path} loads {url} from outside the platform"
        assert client.get(url).status_code == 200, url


def test_swagger_ui_sends_the_schema_to_no_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_vendored_assets_carry_their_licenses(client: TestClient) -> None:
    for path in [
        "/static/vendor/swagger-ui-5.35.0/LICENSE",
        "/static/vendor/redoc-2.5.4/LICENSE",
    ]:
        assert "MIT" in client.get(path).text or "Apache" in client.get(path).text
