import multiprocessing

import pytest
from sqlalchemy import inspect, text

from archiver.db import (
    DatabaseError,
    current_revisions,
    head_revisions,
    make_engine,
    open_database,
    script_heads,
    stored_revisions,
)


def test_schema_created_by_migrations(db_url):
    open_database(db_url)
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "captures", "blobs", "runs", "wayback_jobs", "claims", "citations", "quote_checks"} <= tables
    assert current_revisions(engine) == head_revisions(engine)
    open_database(db_url)  # a second open is a no-op


def test_sqlite_runs_in_wal_mode(sqlite_url):
    sessions = open_database(sqlite_url)
    with sessions() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def _open(url):
    open_database(url)


def test_two_processes_upgrading_at_once(sqlite_url):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(sqlite_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(DatabaseError, match="cannot reach database"):
        open_database("postgresql://nobody@127.0.0.1:1/none")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="does not exist"):
        open_database(f"sqlite:///{tmp_path}/no/such/dir/a.db")


def test_head_read_from_the_migration_files_is_alembics(sqlite_url):
    """upgrade() compares the database with the head read from the files' revision lines
    (no Alembic import); it must be the head Alembic finds."""
    engine = make_engine(sqlite_url)
    assert script_heads() == head_revisions(engine)
    assert stored_revisions(engine) is None  # a new database: no alembic_version table yet
    open_database(sqlite_url)
    assert stored_revisions(engine) == head_revisions(engine) == current_revisions(engine)


def test_migration_files_alembic_must_read_are_left_to_alembic(tmp_path):
    def write(name, body):
        (tmp_path / name).write_text(body, encoding="utf-8")

    write("a.py", "revision = 'a'\ndown_revision = None\n")
    write("b.py", 'revision: str = "b"\ndown_revision: Union[str, None] = "a"  # the first\n')
    assert script_heads(tmp_path) == {"b"}
    write("c.py", "revision = 'c'\ndown_revision = 'a'\n")
    assert script_heads(tmp_path) == {"b", "c"}
    write("d.py", "revision = 'd'\ndown_revision = ('b', 'c')\n")
    assert script_heads(tmp_path) == {"d"}
    write("e.py", "revision = 'e'\ndown_revision = (\n    'd',\n)\n")  # not on one line
    assert script_heads(tmp_path) is None
    write("e.py", "revision = 'e'\ndown_revision = 'zz'\n")  # unknown parent
    assert script_heads(tmp_path) is None
    assert script_heads(tmp_path / "missing") is None


def test_an_old_schema_is_still_upgraded(sqlite_url):
    """A database at an older revision goes through Alembic and reaches the head."""
    open_database(sqlite_url)
    engine = make_engine(sqlite_url)
    from alembic import command

    from archiver.db import alembic_config

    command.downgrade(alembic_config(engine), "archiver@-1")
    assert stored_revisions(engine) != head_revisions(engine)
    open_database(sqlite_url)
    assert stored_revisions(engine) == head_revisions(engine)
