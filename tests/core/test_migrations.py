from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from aiharness.db import migrate
from aiharness.db.engine import create_db_engine
from aiharness.db.migrate import DatabaseError

pytestmark = pytest.mark.integration


def test_upgrade_is_idempotent_and_sets_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert migrate.revision_state(engine).current is None
    first = migrate.upgrade(engine)
    second = migrate.upgrade(engine)
    assert first.at_head and second == first
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_unknown_revision_is_a_clear_error(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
    with pytest.raises(DatabaseError, match=r"9999_newer.*does not know"):
        migrate.upgrade(engine)
    engine.dispose()


def test_migrations_downgrade_and_upgrade_on_postgresql(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    assert migrate.revision_state(engine).at_head
    from alembic import command

    command.downgrade(migrate.alembic_config(engine), "base")
    assert migrate.current_revision(engine) is None
    assert migrate.upgrade(engine).at_head
    engine.dispose()


def test_unreachable_postgresql_is_one_clear_line() -> None:
    engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseError, match=r"cannot open the database .*127\.0\.0\.1:1") as info:
        migrate.current_revision(engine)
    assert "\n" not in str(info.value)


def test_upgrading_a_populated_knowledge_base_keeps_every_row(tmp_path: Path) -> None:
    """Later migrations must not lose data already stored (SQLite: recreating a parent table
    with foreign keys on would cascade its delete into documents and chunks)."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    migrate.upgrade(engine, "0005_pg_inline_tsvector")
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO collections (name, description, embedding_model, embedding_dim, "
                "chunking, analyzer, index_generation, created_at, updated_at) VALUES "
                "('demo', '', 'm', 3, '{}', 'kiwi', 1, :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO documents (collection_id, source_kind, source_path, file_name, "
                "mime_type, size_bytes, content_hash, status, chunk_count, metadata, created_at, "
                "updated_at) VALUES (1, 'path', '/a.txt', 'a.txt', 'text/plain', 4, 'h', "
                "'ready', 1, '{}', :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO chunks (document_id, collection_id, chunk_index, text, token_count, "
                "metadata, terms, term_count) VALUES (1, 1, 0, '펌프 베어링', 2, '{}', "
                "'펌프 베어링', 2)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
            for table in ("collections", "documents", "chunks")
        ]
        uid = conn.execute(text("SELECT uid FROM collections")).scalar()
    assert counts == [1, 1, 1]
    assert isinstance(uid, str) and len(uid) == 32
    engine.dispose()
