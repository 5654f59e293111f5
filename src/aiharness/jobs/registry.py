"""Job types: a name, a pydantic params model, a handler and its retry policy.

Feature modules register their types at import (``@job_type(...)``); API and workers import the
same modules (each installed feature's ``jobs`` plus the ``jobs.modules`` setting) so both sides
know every type.
"""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from aiharness.config import ConfigError

if TYPE_CHECKING:
    from aiharness.jobs.context import JobContext

P = TypeVar("P", bound=BaseModel)
JobResult = dict[str, Any] | None
Handler = Callable[["JobContext", P], JobResult]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,127}$")
QUEUE_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")


class PermanentJobError(Exception):
    """Raised by a handler for a failure that retrying cannot fix (bad input): fails at once."""


class UnknownJobTypeError(LookupError):
    """No job type of that name is registered."""


class InvalidJobParamsError(ValueError):
    """Parameters do not validate against the job type's model; ``problems`` lists why."""

    def __init__(self, job_type: str, problems: list[str]) -> None:
        super().__init__(f"invalid parameters for job type {job_type!r}: " + "; ".join(problems))
        self.problems = problems


class NoParams(BaseModel):
    """The params model of job types that take none."""


@dataclass(frozen=True)
class JobType(Generic[P]):
    name: str
    handler: Handler[P]
    params_model: type[P]
    max_attempts: int = 3
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    # Errors (besides PermanentJobError) that must not be retried.
    permanent_errors: tuple[type[BaseException], ...] = ()
    queue: str = "default"
    # Cron-like schedule (`minute hour day month weekday`); workers submit it when due.
    schedule: str | None = None
    description: str = ""

    def parse_params(self, raw: dict[str, Any] | None) -> P:
        """Validated parameters; unknown names are refused, not silently dropped (a typo such
        as ``secnods`` would otherwise run the job with the default)."""
        raw = raw or {}
        known = {
            name
            for field_name, field in self.params_model.model_fields.items()
            for name in (field_name, field.alias)
            if name
        }
        unknown = sorted(str(key) for key in raw if key not in known)
        problems = [f"{key}: unknown parameter" for key in unknown]
        try:
            params = self.params_model.model_validate(raw)
        except ValidationError as exc:
            problems += [
                f"{'.'.join(str(p) for p in err['loc']) or 'params'}: {err['msg']}"
                for err in exc.errors()
            ]
        if problems:
            if unknown:
                problems.append(f"known parameters: {', '.join(sorted(known)) or 'none'}")
            raise InvalidJobParamsError(self.name, problems) from None
        return params

    def is_permanent(self, exc: BaseException) -> bool:
        return isinstance(exc, (PermanentJobError, InvalidJobParamsError, *self.permanent_errors))

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with full jitter: uniform(0.5, 1.0) x min(cap, base x 2^(n-1))."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** max(attempt - 1, 0))
        jitter: float = (rng or random).uniform(0.5, 1.0)
        return ceiling * jitter


class JobRegistry:
    """Name -> JobType. One default instance lives in this module; tests may build their own."""

    def __init__(self) -> None:
        self._types: dict[str, JobType[Any]] = {}

    def add(self, job_type: JobType[Any]) -> None:
        if not NAME_PATTERN.match(job_type.name):
            raise ValueError(f"job type name {job_type.name!r} must match {NAME_PATTERN.pattern}")
        if not QUEUE_PATTERN.match(job_type.queue):
            raise ValueError(f"queue name {job_type.queue!r} must match {QUEUE_PATTERN.pattern}")
        if job_type.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        existing = self._types.get(job_type.name)
        if existing is not None and existing.handler is not job_type.handler:
            raise ValueError(f"job type {job_type.name!r} is registered twice")
        self._types[job_type.name] = job_type

    def get(self, name: str) -> JobType[Any]:
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "none"
            raise UnknownJobTypeError(
                f"unknown job type {name!r}; registered types: {known}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def all(self) -> list[JobType[Any]]:
        return [self._types[name] for name in sorted(self._types)]

    def periodic(self) -> list[JobType[Any]]:
        return [t for t in self.all() if t.schedule]


registry = JobRegistry()


def job_type(
    name: str,
    *,
    params: type[P],
    max_attempts: int = 3,
    backoff_base_s: float = 2.0,
    backoff_cap_s: float = 300.0,
    permanent_errors: tuple[type[BaseException], ...] = (),
    queue: str = "default",
    schedule: str | None = None,
    target: JobRegistry | None = None,
) -> Callable[[Handler[P]], Handler[P]]:
    """Register the decorated function as the handler of job type ``name``."""

    def decorator(handler: Handler[P]) -> Handler[P]:
        if schedule is not None:
            parse_schedule(schedule)
        (target or registry).add(
            JobType(
                name=name,
                handler=handler,
                params_model=params,
                max_attempts=max_attempts,
                backoff_base_s=backoff_base_s,
                backoff_cap_s=backoff_cap_s,
                permanent_errors=permanent_errors,
                queue=queue,
                schedule=schedule,
                description=(handler.__doc__ or "").strip().splitlines()[0]
                if handler.__doc__
                else "",
            )
        )
        return handler

    return decorator


def parse_schedule(spec: str) -> Callable[[Any], bool]:
    """A cron spec (`minute hour day month weekday`) as a datetime predicate, via huey.crontab."""
    from huey import crontab

    fields = spec.split()
    if len(fields) != 5:
        raise ValueError(f"schedule {spec!r} needs 5 fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    predicate: Callable[[Any], bool] = crontab(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekday
    )
    return predicate


def load_job_modules(modules: Iterable[str]) -> JobRegistry:
    """Import the given job modules so their types are registered in the default registry."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"AIHARNESS_JOBS__MODULES: cannot import job module {module!r}: {exc}"
            ) from None
    return registry
