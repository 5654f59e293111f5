"""Features add cards to the dashboard from their pages module (DASHBOARD); the pipelines card
shows the recent runs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


def test_the_dashboard_shows_recent_runs(client: TestClient) -> None:
    page = client.get("/", params={"lang": "en"}, headers={"Accept": "text/html"})
    assert "Recent runs" in page.text
    assert 'hx-get="/ui/runs/table?limit=5"' in page.text
    partial = client.get("/ui/runs/table", params={"limit": 5})
    assert partial.status_code == 200
    assert "No runs yet" in partial.text
    assert client.get("/ui/runs/table", params={"limit": 0}).status_code == 200  # a flash, not 500
