"""Relational storage: engine, sessions, ORM base and Alembic migrations."""
