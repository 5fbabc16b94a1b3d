import multiprocessing

import pytest
from sqlalchemy import inspect, text

from archiver.db import DatabaseError, current_revision, head_revision, make_engine, open_database


def test_schema_created_by_migrations(db_url):
    open_database(db_url)
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "captures", "blobs", "runs", "wayback_jobs", "claims", "citations", "quote_checks"} <= tables
    assert current_revision(engine) == head_revision(engine)
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
