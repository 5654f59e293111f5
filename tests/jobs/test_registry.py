"""Job type registry: validation, retry policy (backoff with jitter), schedules."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from pydantic import BaseModel

from aiharness.config import ConfigError
from aiharness.jobs.registry import (
    InvalidJobParamsError,
    JobRegistry,
    JobType,
    NoParams,
    PermanentJobError,
    UnknownJobTypeError,
    job_type,
    load_job_modules,
    parse_schedule,
)

pytestmark = pytest.mark.unit


class Params(BaseModel):
    count: int


def _handler(_ctx: object, _params: object) -> None:
    return None


def _type(**kwargs: object) -> JobType[Params]:
    values: dict[str, object] = {"name": "t", "handler": _handler, "params_model": Params}
    values.update(kwargs)
    return JobType(**values)  # type: ignore[arg-type]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    jt = _type(backoff_base_s=1.0, backoff_cap_s=10.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [jt.backoff_s(attempt, rng) for _ in range(200)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling * 0.3  # jittered, not fixed


def test_params_are_validated_with_readable_problems() -> None:
    jt = _type()
    assert jt.parse_params({"count": "3"}).count == 3
    with pytest.raises(InvalidJobParamsError) as info:
        jt.parse_params({"count": "many"})
    assert info.value.problems == [
        "count: Input should be a valid integer, unable to parse string as an integer"
    ]
    with pytest.raises(InvalidJobParamsError, match="count: Field required"):
        jt.parse_params(None)


def test_permanent_errors() -> None:
    class Bad(Exception):
        pass

    jt = _type(permanent_errors=(Bad,))
    assert jt.is_permanent(PermanentJobError("x"))
    assert jt.is_permanent(Bad())
    assert not jt.is_permanent(ConnectionError())


def test_registry_rejects_bad_names_duplicates_and_unknowns() -> None:
    registry = JobRegistry()
    registry.add(_type(name="ok.name"))
    registry.add(_type(name="ok.name"))  # the same handler again (module re-import) is fine
    with pytest.raises(ValueError, match="registered twice"):
        registry.add(_type(name="ok.name", handler=lambda c, p: None))
    with pytest.raises(ValueError, match="must match"):
        registry.add(_type(name="Bad Name"))
    with pytest.raises(ValueError, match="queue name"):
        registry.add(_type(name="q", queue="GPU!"))
    with pytest.raises(UnknownJobTypeError, match=r"registered types: ok\.name"):
        registry.get("other")


def test_decorator_registers_schedule() -> None:
    registry = JobRegistry()

    @job_type("every.five", params=NoParams, schedule="*/5 * * * *", target=registry)
    def every_five(_ctx: object, _params: NoParams) -> None:
        """Runs every five minutes."""

    [registered] = registry.periodic()
    assert registered.description == "Runs every five minutes."
    due = parse_schedule("*/5 * * * *")
    assert due(datetime(2026, 1, 1, 10, 15))
    assert not due(datetime(2026, 1, 1, 10, 16))
    with pytest.raises(ValueError, match="5 fields"):
        parse_schedule("* * *")


def test_every_feature_declares_its_job_modules_and_a_bad_module_is_a_config_error() -> None:
    from aiharness.features import FEATURES

    names = load_job_modules([m for f in FEATURES for m in f.jobs]).names()
    assert {"noop", "sleep", "housekeeping", "knowledge.ingest", "knowledge.reembed"} <= set(names)
    with pytest.raises(ConfigError, match="AIHARNESS_JOBS__MODULES"):
        load_job_modules(["no.such.module_xyz"])
