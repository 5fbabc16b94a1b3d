"""Alembic migrations: the only way the schema changes. Applied automatically on open."""
