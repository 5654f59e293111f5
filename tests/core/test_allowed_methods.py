"""OPTIONS answers the allowed methods of a path; an unknown path is a JSON 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/collections", "GET, OPTIONS, POST"),
        ("/api/collections/plant", "DELETE, GET, OPTIONS"),
        ("/api/jobs/abc/cancel", "OPTIONS, POST"),
        ("/health", "GET, OPTIONS"),
    ],
)
def test_options_lists_every_allowed_method(client: TestClient, path: str, allowed: str) -> None:
    response = client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allowed


def test_options_on_an_unknown_path_is_404(client: TestClient) -> None:
    response = client.options("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_openapi_schema_documents_the_real_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    job = spec["paths"]["/api/jobs/{job_id}"]["get"]["responses"]
    assert {"404", "422"} <= job.keys()
    assert job["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    name = spec["components"]["schemas"]["CollectionCreate"]["properties"]["name"]
    assert "starting with a letter or digit" in name["description"]
