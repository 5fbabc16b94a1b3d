"""add_captures: a batch is reserved its ids, sealed in id order, and written with one INSERT
and no UPDATE of captures; the chain verifies afterwards, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, inspect, select, text

from archiver.capture import run_pass
from archiver.chain import add_captures, record_hash
from archiver.cli import main
from archiver.db import open_database, sqlite_path
from archiver.integrity import verify_store
from archiver.models import Capture, ChainHead, Source, WaybackJob
from archiver.sources import add_source
from archiver.store import put_blobs

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
SETTINGS = {"fetch": {"timeout": 30.0, "user_agent": "Mozilla/5.0 source-archiver/0.1"}, "capture": {"batch_size": 50}}


def make_capture(i: int, source: Source, body_sha: str, text_sha: str) -> Capture:
    """A capture as the pipeline makes them; every fifth one a timeout (many NULL columns), every
    seventh one leaves origin, started_at and not_modified to their column defaults."""
    failed = i % 5 == 0
    fields = dict(
        source_id=source.id, origin="live", requested_url=source.url,
        final_url=None if failed else source.url, started_at=T0 + timedelta(minutes=i),
        ended_at=T0 + timedelta(minutes=i, seconds=1), status_code=None if failed else 200,
        redirects=[] if i % 3 else [[301, source.url + "/"]],
        request_headers={"User-Agent": "Mozilla/5.0 source-archiver/0.1", "Accept-Language": "zh-CN,zh;q=0.9"},
        response_headers=None if failed else [["Content-Type", "text/html; charset=utf-8"], ["Server", "nginx"]],
        server_ip=None if failed else "192.0.2.7", http_version=None if failed else "HTTP/1.1",
        content_type=None if failed else "text/html; charset=utf-8", charset=None if failed else "utf-8",
        body_sha256=None if failed else body_sha, body_size=None if failed else 1234,
        text_sha256=None if failed else text_sha, text_length=0 if failed else 400,
        page_title=None if failed else f"第{i}条 Article {i}", not_modified=False,
        error_kind="timeout" if failed else None, error="read timed out" if failed else None,
        verdict="unreachable" if failed else "new", verdict_reason="timeout" if failed else "first capture",
        similarity=None, compared_to_id=None, tool="source-archiver", tool_version="0.1.0",
        config=SETTINGS, elapsed_ms=1000,
    )
    if i % 7 == 3:
        for name in ("origin", "started_at", "not_modified"):
            del fields[name]
    return Capture(**fields)


def setup_store(url: str, sources: int = 4):
    """A fresh store with `sources` sources and one body and text blob; returns (sessions, source ids, blob keys)."""
    sessions = open_database(url)
    with sessions.begin() as session:
        ids = [add_source(session, f"http://example.org/page/{n}")[0].id for n in range(sources)]
        keys, _ = put_blobs(session, [b"<html><body><p>Article</p></body></html>", "正文 Article".encode()])
    return sessions, ids, keys


def add_batch(sessions, source_ids, keys, count: int, start: int = 0) -> list[int]:
    with sessions.begin() as session:
        sources = {s.id: s for s in session.scalars(select(Source))}
        captures = [make_capture(start + i, sources[source_ids[i % len(source_ids)]], *keys) for i in range(count)]
        add_captures(session, captures)
        return [c.id for c in captures]


@contextmanager
def statements(sessions):
    """Record (statement, executemany) of every statement the session factory's engine sends."""
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((" ".join(statement.split()), executemany))

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def on_captures(seen, verb: str) -> list[tuple[str, bool]]:
    prefix = {"INSERT": "INSERT INTO captures ", "UPDATE": "UPDATE captures "}[verb]
    return [s for s in seen if s[0].startswith(prefix)]


def head_moves(seen) -> list[tuple[str, bool]]:
    """The chain head updates: one per add_captures call."""
    return [s for s in seen if s[0].startswith("UPDATE chain_heads SET capture_id")]


def verify(sessions):
    with sessions() as session:
        return verify_store(session)


def test_a_batch_is_one_insert_and_no_update_and_the_chain_verifies(db_url):
    sessions, source_ids, keys = setup_store(db_url)
    first = add_batch(sessions, source_ids, keys, 3)
    with sessions.begin() as session, statements(sessions) as seen:
        sources = {s.id: s for s in session.scalars(select(Source))}
        captures = [make_capture(10 + i, sources[source_ids[i % 4]], *keys) for i in range(40)]
        add_captures(session, captures)
        inserts, updates = on_captures(seen, "INSERT"), on_captures(seen, "UPDATE")
        assert len(inserts) == 1, inserts
        assert inserts[0][1] is True or len(captures) == 1, "one executemany"
        assert updates == []
        assert len(head_moves(seen)) == 1

        ids = [c.id for c in captures]
        assert ids == sorted(ids) and len(set(ids)) == 40 and ids[0] > first[-1]
        # the captures are ordinary persistent objects, fully loaded: reading them sends nothing
        seen.clear()
        assert all(inspect(c).persistent for c in captures)
        assert [c.source.url for c in captures[:4]] == [f"http://example.org/page/{n}" for n in range(4)]
        assert captures[3].origin == "live" and captures[3].not_modified is False and captures[3].started_at
        assert captures[1].prev_hash == captures[0].record_hash
        assert captures[0].record_hash == record_hash(captures[0], captures[0].prev_hash)
        assert seen == []
        # rows referring to them by id can be written in the same transaction
        session.add(WaybackJob(source_id=captures[5].source_id, capture_id=captures[5].id, url="http://x",
                               reason="new", status="pending", attempts=0, next_attempt_at=T0))
        session.flush()
        last_id, last_hash = ids[-1], captures[-1].record_hash

    report = verify(sessions)
    assert report.ok, report.problems
    assert report.captures_checked == 43
    assert (report.head_capture_id, report.head_hash) == (last_id, last_hash)
    with sessions() as session:
        stored = session.scalars(select(Capture).where(Capture.id.in_([last_id]))).one()
        assert stored.record_hash == last_hash and stored.prev_hash is not None
        assert session.get(ChainHead, 1).capture_id == last_id
    sessions.kw["bind"].dispose()


def test_ids_keep_rising_and_the_chain_holds_over_many_batches(db_url):
    sessions, source_ids, keys = setup_store(db_url)
    made = []
    for size, start in ((1, 0), (7, 1), (1, 8), (25, 9)):
        made += add_batch(sessions, source_ids, keys, size, start)
    assert made == sorted(made) and len(set(made)) == len(made)
    if db_url.startswith("sqlite"):
        assert made == list(range(1, len(made) + 1)), "SQLite: the next ids after the largest, as before"
    else:
        with sessions() as session:  # a later draw from the sequence cannot collide with a reserved id
            assert session.scalar(text("SELECT nextval(pg_get_serial_sequence('captures', 'id'))")) > made[-1]
    report = verify(sessions)
    assert report.ok, report.problems
    assert report.captures_checked == len(made)
    sessions.kw["bind"].dispose()


def test_two_writers_are_serialised_and_chained_in_id_order(db_url):
    """The second writer blocks on the chain lock until the first commits; then it reserves ids
    above the first one's and links to the head the first one left."""
    sessions, source_ids, keys = setup_store(db_url)
    add_batch(sessions, source_ids, keys, 2)
    first_holds_lock, got = threading.Event(), {}

    def first_writer():
        with sessions.begin() as session:
            sources = {s.id: s for s in session.scalars(select(Source))}
            captures = [make_capture(100 + i, sources[source_ids[i % 4]], *keys) for i in range(10)]
            add_captures(session, captures)
            got["first"] = [c.id for c in captures]
            first_holds_lock.set()
            time.sleep(0.8)
            got["first_done"] = time.monotonic()

    def second_writer():
        first_holds_lock.wait(10)
        with sessions.begin() as session:
            sources = {s.id: s for s in session.scalars(select(Source))}
            captures = [make_capture(200 + i, sources[source_ids[i % 4]], *keys) for i in range(10)]
            add_captures(session, captures)
            got["second_locked"] = time.monotonic()
            got["second"] = [c.id for c in captures]

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert got["second_locked"] >= got["first_done"], "the second writer waited for the first"
    assert min(got["second"]) > max(got["first"])
    report = verify(sessions)
    assert report.ok, report.problems
    assert report.captures_checked == 22 and report.head_capture_id == max(got["second"])
    sessions.kw["bind"].dispose()


def test_a_capture_already_added_to_the_session_is_inserted_once(db_url):
    sessions, source_ids, keys = setup_store(db_url)
    with sessions.begin() as session:
        source = session.get(Source, source_ids[0])
        capture = make_capture(1, source, *keys)
        session.add(capture)
        add_captures(session, [capture])
        with pytest.raises(ValueError, match="already stored"):
            add_captures(session, [capture])
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 1
    assert verify(sessions).ok
    sessions.kw["bind"].dispose()


def test_sqlite_autoincrement_table_does_not_give_a_deleted_id_again(sqlite_url):
    """Should the captures table be AUTOINCREMENT, ids continue after the largest ever given
    (sqlite_sequence), not after the largest still present."""
    sessions, source_ids, keys = setup_store(sqlite_url)
    sessions.kw["bind"].dispose()
    conn = sqlite3.connect(sqlite_path(sqlite_url))
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'captures'").fetchone()
    assert "AUTOINCREMENT" not in ddl.upper(), "the migrations make a plain INTEGER PRIMARY KEY"
    auto = ddl.replace("id INTEGER NOT NULL,", "id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,", 1)
    auto = auto.replace("PRIMARY KEY (id),", "", 1)
    assert "AUTOINCREMENT" in auto and "PRIMARY KEY (id)" not in auto
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DROP TABLE captures")
    conn.execute(auto)
    conn.commit()
    conn.close()

    sessions = open_database(sqlite_url)
    assert add_batch(sessions, source_ids, keys, 3) == [1, 2, 3]
    assert verify(sessions).ok
    conn = sqlite3.connect(sqlite_path(sqlite_url))
    assert conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'captures'").fetchone() == (3,)
    conn.execute("DELETE FROM captures WHERE id = 3")
    conn.commit()
    conn.close()
    assert add_batch(sessions, source_ids, keys, 2, start=3) == [4, 5]
    sessions.kw["bind"].dispose()


ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           "<p>{para} The company signed the agreement in the capital, officials said on Tuesday.</p>"
           "<p>Critics said the contract lacked any public tender and raised human rights concerns.</p>"
           "</article></body></html>")


def test_pipeline_captures_verify(site, config, db_url):
    """Two capture passes (new, altered, deleted, redirected, failing pages) through the
    pipeline: one INSERT of captures per stored batch, none updated, `archiver verify` passes."""
    config.database.url = db_url
    sessions = open_database(db_url)
    urls = [site.set(f"/a/{i}.html", ARTICLE.format(title=f"Report {i}", para=f"Paragraph {i}.")) for i in range(30)]
    urls.append(site.redirect("/moved.html", "/a/1.html"))
    urls.append(site.set("/broken.html", "oops", status=500))
    with sessions.begin() as session:
        for url in urls:
            add_source(session, url)
    with statements(sessions) as seen:
        first = run_pass(config, sessions, everything=True)
    assert first.total == 32
    assert on_captures(seen, "UPDATE") == []
    assert 1 <= len(on_captures(seen, "INSERT")) == len(head_moves(seen)), "one INSERT per stored batch"

    site.set("/a/2.html", ARTICLE.format(title="Report 2", para="Paragraph 2, edited: a different figure."))
    site.set("/a/3.html", "Not found", status=404)
    with statements(sessions) as seen:
        second = run_pass(config, sessions, everything=True)
    assert second.total == 32 and second.counts["altered"] == 1 and second.counts["deleted"] == 1
    assert on_captures(seen, "UPDATE") == []
    assert 1 <= len(on_captures(seen, "INSERT")) == len(head_moves(seen))
    sessions.kw["bind"].dispose()

    result = CliRunner().invoke(main, ["verify"], env={"ARCHIVER_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "archive intact" in result.output and "64 captures" in result.output
