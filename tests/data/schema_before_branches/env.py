"""Alembic environment of the schema as it was before the evidence tables got their own branch:
one chain 0001..0008 that created the archiver's and the evidence tables together. Kept,
unchanged, so tests/test_migrations.py can build a database the way older versions did."""

from alembic import context

with context.config.attributes["engine"].connect() as connection:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
