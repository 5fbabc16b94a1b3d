"""Alembic environment: runs migrations on the engine handed over by archiver.db."""

from alembic import context
from sqlalchemy import create_engine

from archiver import plugins
from archiver.models import Base

config = context.config
plugins.register_models()  # the plugins' tables join the archiver's, for autogenerate
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
