"""One place that imports every feature's ORM models, so Alembic and tests see the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "aiharness.events.models",
    "aiharness.jobs.models",
    "aiharness.knowledge.models",
)


def import_all_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
