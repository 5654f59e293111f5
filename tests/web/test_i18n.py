from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiharness.features import FEATURES
from aiharness.web.i18n import SUPPORTED, Catalogs, parse_accept_language
from aiharness.web.router import PLANNED, pages_modules

pytestmark = pytest.mark.unit

TEMPLATES = Path(__file__).parents[2] / "src" / "aiharness" / "web" / "templates"


def test_catalogs_have_the_same_keys_and_no_blanks() -> None:
    catalogs = Catalogs.load()
    en, ko = catalogs.strings["en"], catalogs.strings["ko"]
    assert en.keys() == ko.keys()
    assert all(value.strip() for value in [*en.values(), *ko.values()])


def test_every_key_used_by_a_template_exists() -> None:
    keys = Catalogs.load().strings["en"].keys()
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(
            re.findall(r"""\bt\(\s*["']([a-z0-9_.]*[a-z0-9_])["']\s*[,)]""", template.read_text())
        )
    declared = [
        item
        for module in pages_modules(FEATURES)
        for item in (*getattr(module, "NAV", ()), *getattr(module, "ADMIN", ()))
    ]
    used |= {f"nav.{item.key}" for item in [*PLANNED, *declared]}
    assert used - keys == set()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr-FR,ko;q=0.5,en;q=0.7", "en"),
        ("ko;q=0", None),
        ("de", None),
        ("", None),
        ("ko;q=abc, en", "en"),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.integration
def test_language_choice_header_query_and_cookie(client: TestClient) -> None:
    assert "<h1>대시보드</h1>" in client.get("/", headers={"Accept-Language": "ko"}).text
    assert "<h1>Dashboard</h1>" in client.get("/", headers={"Accept-Language": "en"}).text
    switched = client.get("/?lang=ko", headers={"Accept-Language": "en"})
    assert "<h1>대시보드</h1>" in switched.text
    assert switched.cookies.get("aiharness_lang") == "ko"
    # the cookie now wins over the browser's header
    assert "<h1>대시보드</h1>" in client.get("/", headers={"Accept-Language": "en"}).text
    assert set(SUPPORTED) == {"ko", "en"}


@pytest.mark.integration
def test_pages_escape_user_text(client: TestClient) -> None:
    response = client.get("/", params={"lang": "<script>"})
    assert response.status_code == 200
    assert "<script>" not in response.text.split("</head>")[1]


@pytest.mark.integration
def test_a_browser_gets_an_html_error_page_and_an_api_client_json(client: TestClient) -> None:
    page = client.get("/no-such-page", headers={"Accept": "text/html", "Accept-Language": "ko"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "문제가 발생했습니다" in page.text
    api = client.get("/api/no-such", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/knowledge/no-such-collection", "/jobs/no-such-job"])
def test_feature_pages_show_a_404_page_for_missing_things(client: TestClient, path: str) -> None:
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "404 · " in page.text
    assert 'aria-current="page"' in page.text
