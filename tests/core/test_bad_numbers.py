"""Numbers and strings no database can hold are a 422 with a message, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

HUGE = "99999999999999999999"
PAST_INT64 = "9223372036854775808"


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", f"/api/documents/{HUGE}", {}),
        ("DELETE", f"/api/documents/{HUGE}", {}),
        ("GET", f"/api/events/{HUGE}", {}),
        ("GET", "/api/documents", {"offset": PAST_INT64}),
        ("GET", "/api/events", {"offset": PAST_INT64}),
        ("GET", "/api/jobs", {"offset": PAST_INT64}),
        ("GET", "/api/documents/0", {}),
    ],
)
def test_out_of_range_ids_and_offsets_are_422(
    client: TestClient, method: str, path: str, params: dict[str, str]
) -> None:
    response = client.request(method, path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_largest_valid_values_are_fine(client: TestClient) -> None:
    assert client.get(f"/api/documents/{2**63 - 1}").status_code == 404
    assert client.get("/api/jobs", params={"offset": str(2**63 - 1)}).status_code == 200


def test_a_nul_byte_in_an_ingest_path_is_422(client: TestClient) -> None:
    response = client.post("/api/ingest", json={"path": "/tmp/a\u0000b", "collection": "c"})
    assert response.status_code == 422
    assert "path" in response.json()["error"]["message"]


def test_text_with_a_lone_surrogate_is_422_not_500(client: TestClient) -> None:
    body = b'{"path": "/tmp/bad\\udb8b.csv"}'
    response = client.post(
        "/api/datasets", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"validation_error", "invalid_text"}
    assert client.get("/api/datasets").json() == []
