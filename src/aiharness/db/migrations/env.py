"""Alembic environment: runs on the engine handed over by aiharness.db.migrate."""

from __future__ import annotations

from alembic import context

from aiharness.db.base import Base
from aiharness.db.models import import_all_models

import_all_models()
target_metadata = Base.metadata
config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through `aiharness db upgrade`")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
