"""Schemathesis against the OpenAPI schema, every operation with a bounded number of generated
requests: no server error, no status the schema does not document, and bodies that match it.

A 503 is not counted as a server error where the operation documents it (a dependency that is
down, such as an LLM server when none is configured): the platform says so with Retry-After.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from aiharness.app import create_app
from aiharness.features import make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES_PER_OPERATION = 8


def _no_undocumented_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    documented = {str(code) for code in case.operation.definition.raw.get("responses", {})}
    if response.status_code == 503 and "503" in documented:
        return None
    return not_a_server_error(ctx, response, case)


def test_every_operation_keeps_its_schema(tmp_path: Path) -> None:
    app = create_app(
        make_settings(
            data_dir=tmp_path / "data",
            log_level="error",
            jobs={"worker_enabled": False},
            knowledge={"demo_ingest": "off"},
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = (_no_undocumented_server_error, status_code_conformance, response_schema_conformance)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20
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
            case.call_and_validate(checks=checks)

        try:
            run()
        except BaseException as exc:  # schemathesis raises exception groups
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert failures == [], "\n\n".join(failures)
