"""Alembic environment: runs on the engine handed over by aiharness.db.migrate.

The features' ORM modules come in the config (``model_modules``): the database layer names no
feature, so the metadata is complete only when the caller says which features are installed.
"""

from __future__ import annotations

import importlib

from alembic import context

from aiharness.db.base import Base

config = context.config
for module in config.attributes.get("model_modules", ()):
    importlib.import_module(module)
target_metadata = Base.metadata
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
