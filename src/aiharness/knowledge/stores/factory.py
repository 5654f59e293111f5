"""Pick the knowledge store for the configured database: SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from aiharness.config import ConfigError, Settings
from aiharness.knowledge.stores.base import KnowledgeStore
from aiharness.knowledge.stores.postgres import PostgresKnowledgeStore
from aiharness.knowledge.stores.sqlite import SqliteKnowledgeStore


def index_dir(settings: Settings) -> Path:
    """Where the embedded store keeps its rebuildable vector index files."""
    return settings.data_dir / "index"


def create_knowledge_store(*, settings: Settings, engine: Engine) -> KnowledgeStore:
    """The store matching ``engine``'s dialect; nothing is connected until ``warm_up()``."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return SqliteKnowledgeStore(engine=engine, index_dir=index_dir(settings))
    if dialect == "postgresql":
        return PostgresKnowledgeStore(engine=engine)
    raise ConfigError(f"no knowledge store for database dialect {dialect!r}")
