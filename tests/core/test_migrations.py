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
