"""Alembic environment: runs migrations on the engine handed over by archiver.db.

On SQLite, a batch migration rebuilds a table (copy, drop, rename): with foreign keys enforced,
dropping `sources` while `captures` refer to it fails, so they are off while migrations run
(the way Alembic's documentation advises) and checked once they are done."""

from alembic import context
from sqlalchemy import create_engine

from archiver import plugins
from archiver.models import Base

config = context.config
plugins.register_models()  # the plugins' tables join the archiver's, for autogenerate
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") or ""
    engine = config.attributes.get("engine") or create_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
                if broken:
                    raise RuntimeError(f"the migrations left rows referring to missing rows: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations_online()
