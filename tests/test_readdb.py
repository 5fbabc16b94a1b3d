"""archiver.readdb: the read connection of `status` and `report`, without SQLAlchemy, on real
SQLite files and PostgreSQL databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command

from archiver.db import alembic_config, make_engine, open_database, stored_revisions
from archiver.models import Capture, Source
from archiver.readdb import DatabaseError, Reader, connect, script_heads, utc
from archiver.sources import add_source, list_sources, state_counts
from evidence.claims import Target, add_claim, cite
from evidence.report import claim_report

# Microseconds, and a moment whose UTC date differs from its date in Shanghai.
MOMENT = datetime(2026, 3, 1, 20, 30, 15, 123456, tzinfo=UTC)


def revisions(db: Reader) -> frozenset[str]:
    return frozenset(row[0] for row in db.rows("SELECT version_num FROM alembic_version"))


def test_an_existing_sqlite_file_at_the_newest_revision_is_read_as_it_is(sqlite_url):
    open_database(sqlite_url).kw["bind"].dispose()
    with connect(sqlite_url) as db:
        assert db.dialect == "sqlite" and db.statements == 1  # the revision check, nothing else
        assert db.rows("PRAGMA query_only") == [(1,)]
        assert state_counts(db) == {}


def test_a_missing_sqlite_file_is_created_at_the_newest_revision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with connect("sqlite:///relative.db") as db:
        assert revisions(db) == script_heads()
        assert list_sources(db) == []
    assert (tmp_path / "relative.db").is_file()
    with connect("bare-path.db") as db:
        assert revisions(db) == script_heads()
    assert (tmp_path / "bare-path.db").is_file()


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="does not exist"):
        connect(f"sqlite:///{tmp_path}/no/such/dir/a.db")


def test_an_in_memory_database_is_created_and_read():
    with connect("sqlite://") as db:
        assert revisions(db) == script_heads()
        assert state_counts(db) == {}


def test_a_database_at_an_older_revision_is_upgraded_first(db_url):
    open_database(db_url)
    engine = make_engine(db_url)
    command.downgrade(alembic_config(engine), "archiver@-1")
    assert stored_revisions(engine) != script_heads()
    with connect(db_url) as db:
        assert revisions(db) == script_heads()
    assert stored_revisions(engine) == script_heads()
    engine.dispose()


def test_an_empty_postgresql_database_is_created_then_read(pg_url):
    with connect(pg_url) as db:
        assert db.dialect == "postgresql"
        assert revisions(db) == script_heads()
        assert db.rows("SELECT CAST(? AS TEXT) || '%'", ["100"]) == [("100%",)]


def test_an_unreachable_postgresql_is_a_clear_error_without_the_password():
    with pytest.raises(DatabaseError, match="cannot reach database") as raised:
        connect("postgresql://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(raised.value)


def test_timestamps_and_json_read_back_as_the_orm_returns_them(db_url):
    sessions = open_database(db_url)
    with sessions.begin() as session:
        source, _ = add_source(session, "https://www.gov.cn/zhengce/content_1.htm")
        source.state, source.state_since, source.last_checked_at = "altered", MOMENT, MOMENT + timedelta(hours=5)
        capture = Capture(source_id=source.id, requested_url=source.url, started_at=MOMENT, status_code=200,
                          verdict="altered", body_sha256=None)
        session.add(capture)
        session.flush()
        source.last_good_capture_id = capture.id
        add_claim(session, "Cameras were installed", claim_id="cams", tags=["cameras", "新疆"])
        cite(session, Target(claim_id="cams"), source.url)
    with sessions() as session:
        orm_source = session.get(Source, source.id)
        orm_capture = session.get(Capture, capture.id)
    with connect(db_url) as db:
        if db.dialect == "postgresql":
            db.connection.execute("SET TIME ZONE 'Asia/Shanghai'")
        [row] = list_sources(db)
        report = claim_report(db, "cams")
    for read, stored in ((row.state_since, orm_source.state_since), (row.last_checked, orm_source.last_checked_at),
                         (report.citations[0].best_capture.captured_at, orm_capture.started_at)):
        assert read == stored == stored.astimezone(UTC)
        assert read.tzinfo == UTC and read.isoformat() == stored.isoformat()
    assert row.state_since == MOMENT
    assert report.tags == ["cameras", "新疆"]


def test_a_session_reader_reads_inside_the_session_transaction(db_url):
    sessions = open_database(db_url)
    with sessions() as session:
        add_source(session, "http://example.com/not-committed")
        db = Reader.of_session(session)
        assert [r.url for r in list_sources(db)] == ["http://example.com/not-committed"]
        db.close()  # the session's connection stays open: the session still works
        assert session.get(Source, 1) is not None
        session.rollback()
    with connect(db_url) as db:
        assert list_sources(db) == []


def test_utc_reads_both_drivers_forms():
    assert utc("2026-03-01 20:30:15.123456") == MOMENT
    assert utc("2026-03-01 20:30:15") == MOMENT.replace(microsecond=0)
    shanghai = timezone(timedelta(hours=8))
    assert utc(MOMENT.astimezone(shanghai)).tzinfo == UTC
    assert utc(MOMENT.astimezone(shanghai)) == MOMENT
    assert utc(None) is None
