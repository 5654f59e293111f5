"""Schemathesis with sign-in required: every operation called with an admin's API key (bounded
examples); no server error, no undocumented status, bodies match the schema. The same run
without a key: every protected operation answers 401 in its documented shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from aiharness.access import service
from aiharness.access.runtime import AccessRuntime
from aiharness.app import create_app
from aiharness.features import make_settings
from tests.core.test_api_schema import _no_undocumented_server_error

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES_PER_OPERATION = 5
PUBLIC = frozenset({"/health", "/ready"})


def test_every_operation_keeps_its_schema_with_auth_on(tmp_path: Path) -> None:
    app = create_app(
        make_settings(
            data_dir=tmp_path / "data",
            log_level="error",
            jobs={"worker_enabled": False},
            knowledge={"demo_ingest": "off"},
            access={"mode": "required"},
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    runtime: AccessRuntime = app.state.platform.get(AccessRuntime)
    with app.state.platform.unit_of_work() as session:
        _row, key = service.create_key(
            session=session,
            known=runtime.permissions,
            name="schemathesis",
            username=None,
            role="admin",
        )
    headers = {"Authorization": f"Bearer {key}"}
    checks = (_no_undocumented_server_error, status_code_conformance, response_schema_conformance)
    failures: list[str] = []
    tried = 0
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal tried
            tried += 1
            if case.operation.path not in PUBLIC:
                # Without a key: refused, as the schema documents (401).
                assert case.call().status_code == 401
            case.call_and_validate(headers=headers, checks=checks)

        try:
            run()
        except BaseException as exc:  # schemathesis raises exception groups
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    print(
        f"schemathesis with auth on: {len(operations)} operations, {tried} examples, "
        f"{len(failures)} failing operations"
    )
    assert failures == [], "\n\n".join(failures)
