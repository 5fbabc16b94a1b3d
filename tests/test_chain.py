"""add_captures: a batch is reserved its ids, sealed in id order, and written with one INSERT
and no UPDATE of captures; the chain verifies afterwards, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

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

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
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


# --- record formats, chained events, and stores made before them --------------------------------


def test_every_captures_column_is_sealed_or_is_the_seal():
    """The current record format (3) covers every column of captures but the seal itself. A column
    added later needs a new record format (formats 2 and 3 are frozen, so that their rows keep verifying)."""
    from archiver.chain import SEALED_FIELDS_V2, SEALED_FIELDS_V3, UNSEALED_CAPTURE_COLUMNS

    columns = {column.key for column in Capture.__table__.columns}
    assert columns == set(SEALED_FIELDS_V3) | set(UNSEALED_CAPTURE_COLUMNS)
    assert len(SEALED_FIELDS_V3) == len(set(SEALED_FIELDS_V3))
    assert SEALED_FIELDS_V3[:len(SEALED_FIELDS_V2)] == SEALED_FIELDS_V2


def test_events_are_chained_between_captures_in_order(db_url):
    from archiver.chain import append_event, event_hash
    from archiver.models import ChainEvent

    sessions, source_ids, keys = setup_store(db_url)
    first = add_batch(sessions, source_ids, keys, 3)
    with sessions.begin() as session:
        one = append_event(session, "wayback", source_id=source_ids[0], capture_id=first[0],
                           payload={"wayback_url": "https://web.archive.org/web/2024/x", 7: ("a", "b"),
                                    "when": datetime(2024, 3, 1, tzinfo=UTC)})
        two = append_event(session, "note_for_later", payload=None)
        assert one.payload == {"wayback_url": "https://web.archive.org/web/2024/x", "7": ["a", "b"],
                               "when": "2024-03-01 00:00:00+00:00"}, "stored as JSON reads it back"
        assert (one.after_capture_id, two.after_capture_id) == (first[-1], first[-1])
        assert two.prev_hash == one.record_hash and one.prev_hash is not None
    second = add_batch(sessions, source_ids, keys, 2, start=3)
    with sessions() as session:
        captures = {c.id: c for c in session.scalars(select(Capture))}
        events = list(session.scalars(select(ChainEvent).order_by(ChainEvent.id)))
        assert captures[second[0]].prev_hash == events[-1].record_hash
        assert events[0].record_hash == event_hash(events[0], events[0].prev_hash)
        head = session.get(ChainHead, 1)
        assert (head.capture_id, head.event_id) == (second[-1], None)
    report = verify(sessions)
    assert report.ok, report.problems
    assert (report.captures_checked, report.events_checked) == (5, 2)
    with sessions.begin() as session, pytest.raises(ValueError, match="short lower-case word"):
        append_event(session, "Wayback URL!")
    with sessions.begin() as session, pytest.raises(ValueError, match="JSON object"):
        append_event(session, "wayback", payload=["not", "an", "object"])
    sessions.kw["bind"].dispose()


def test_a_capture_batch_and_an_event_from_two_writers_chain_in_order(db_url):
    from archiver.chain import append_event

    sessions, source_ids, keys = setup_store(db_url)
    add_batch(sessions, source_ids, keys, 2)
    holding, got = threading.Event(), {}

    def writer():
        with sessions.begin() as session:
            sources = {s.id: s for s in session.scalars(select(Source))}
            captures = [make_capture(100 + i, sources[source_ids[i % 4]], *keys) for i in range(5)]
            add_captures(session, captures)
            holding.set()
            time.sleep(0.5)
            got["captures"] = [c.id for c in captures]

    def recorder():
        holding.wait(10)
        with sessions.begin() as session:
            got["event"] = append_event(session, "wayback", capture_id=1, payload={"wayback_url": "u"}).after_capture_id

    threads = [threading.Thread(target=writer), threading.Thread(target=recorder)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert got["event"] == max(got["captures"]), "the event waited for the batch and sits after it"
    report = verify(sessions)
    assert report.ok, report.problems
    assert report.head_event_id is not None
    sessions.kw["bind"].dispose()


def _old_store(url: str) -> dict:
    """A store as the archiver left it before record format 2 (schema revision 0005): captures
    sealed under format 1, two of them with a Wayback copy written on the row afterwards, and one
    recovered from the Wayback Machine."""
    from types import SimpleNamespace

    import sqlalchemy as sa
    from alembic import command

    from archiver.db import alembic_config, make_engine
    from archiver.store import compress

    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0005")
    postgres = engine.dialect.name == "postgresql"

    def when(moment):
        return moment if postgres else moment.replace(tzinfo=None)

    sources = sa.table("sources", *(sa.column(n) for n in ("id", "url", "state", "capture_count")),
                       sa.column("added_at", sa.DateTime(timezone=True)), sa.column("next_due_at", sa.DateTime(timezone=True)))
    blobs = sa.table("blobs", sa.column("sha256"), sa.column("size"), sa.column("codec"),
                     sa.column("data", sa.LargeBinary), sa.column("created_at", sa.DateTime(timezone=True)))
    json_columns = ("redirects", "request_headers", "response_headers", "config")
    time_columns = ("started_at", "ended_at")
    plain = ("id", "source_id", "origin", "requested_url", "final_url", "status_code", "server_ip", "http_version",
             "content_type", "charset", "body_sha256", "body_size", "text_sha256", "not_modified", "error_kind", "error",
             "verdict", "verdict_reason", "tool", "tool_version", "text_length", "page_title", "published", "similarity",
             "compared_to_id", "wayback_url", "wayback_timestamp", "elapsed_ms", "prev_hash", "record_hash")
    captures = sa.table("captures", *(sa.column(n) for n in plain), *(sa.column(n, sa.JSON) for n in json_columns),
                        *(sa.column(n, sa.DateTime(timezone=True)) for n in time_columns))
    body = b"<html><body><p>Old article \xe7\xac\xac1\xe6\x9d\xa1</p></body></html>"
    body_sha = hashlib.sha256(body).hexdigest()
    rows, previous = [], None
    for i in range(1, 6):
        origin = "wayback" if i == 5 else "live"
        fields = dict(
            id=i, source_id=1 + i % 2, origin=origin, requested_url=f"http://example.org/old/{1 + i % 2}",
            final_url=f"http://example.org/old/{1 + i % 2}", started_at=T0 + timedelta(hours=i),
            ended_at=T0 + timedelta(hours=i, seconds=2), status_code=200, redirects=[],
            request_headers={"User-Agent": "old"}, response_headers=[["Content-Type", "text/html"]],
            server_ip="192.0.2.1", http_version="HTTP/1.1", content_type="text/html", charset="utf-8",
            body_sha256=body_sha, body_size=len(body), text_sha256=None, not_modified=False, error_kind=None,
            error=None, verdict="new" if i < 3 else "unchanged", verdict_reason="old", tool="source-archiver",
            tool_version="0.0.9", config={"fetch": {"timeout": 30}}, text_length=12, page_title=f"Old {i}",
            published=None, similarity=1.0 if i > 2 else None, compared_to_id=i - 2 if i > 2 else None,
            wayback_url=None, wayback_timestamp=None, elapsed_ms=2000,
        )
        if i in (2, 4):
            fields["wayback_url"] = f"https://web.archive.org/web/2024030{i}000000/http://example.org/old/{1 + i % 2}"
            fields["wayback_timestamp"] = f"2024030{i}000000"
        if i == 5:
            fields["wayback_url"] = "https://web.archive.org/web/20190503000000/http://example.org/old/2"
            fields["wayback_timestamp"] = "20190503000000"
        sealed = record_hash(SimpleNamespace(**fields, seal_version=None), previous)
        rows.append(dict(fields, prev_hash=previous, record_hash=sealed,
                         started_at=when(fields["started_at"]), ended_at=when(fields["ended_at"])))
        previous = sealed
    with engine.begin() as conn:
        conn.execute(sources.insert(), [dict(id=n, url=f"http://example.org/old/{n}", state="unchanged", capture_count=0,
                                             added_at=when(T0), next_due_at=when(T0)) for n in (1, 2)])
        conn.execute(blobs.insert(), [dict(sha256=body_sha, size=len(body), codec="zstd", data=compress(body),
                                           created_at=when(T0))])
        conn.execute(captures.insert(), rows)
        conn.execute(sa.text("UPDATE chain_heads SET capture_id = 5, record_hash = :h WHERE id = 1"), {"h": previous})
        if postgres:
            for table in ("sources", "captures"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 5)"))
    engine.dispose()
    return {"head": previous}


def test_an_old_store_upgrades_and_its_format_1_seals_still_verify(db_url):
    from archiver.events import wayback_copies
    from archiver.models import ChainEvent
    from archiver.readdb import Reader
    from tests.test_integrity import tamper

    old = _old_store(db_url)
    sessions = open_database(db_url)
    with sessions() as session:
        report = verify_store(session)
        assert report.ok, report.problems
        assert report.record_versions == {1: 5} and report.events_checked == 3
        assert any("sealed under record format 1" in note for note in report.notes)
        events = list(session.scalars(select(ChainEvent).order_by(ChainEvent.id)))
        assert [(e.kind, e.capture_id) for e in events] == [("wayback", 2), ("wayback", 4), ("upgrade", None)]
        assert events[0].prev_hash == old["head"] and events[-1].payload["captures_sealed_under_version_1"] == 5
        assert [session.get(Capture, i).wayback_url for i in (2, 4)] == [None, None], "moved into sealed events"
        assert session.get(Capture, 5).wayback_url.endswith("/old/2"), "a recovered copy stays on its capture"
        copies = wayback_copies(Reader.of_session(session), [1, 2, 3, 4, 5])
        assert sorted(copies) == [2, 4] and copies[4][1] == "20240304000000"
    new = add_batch(sessions, [1, 2], _keys(sessions), 2, start=10)
    with sessions() as session:
        assert session.get(Capture, new[0]).prev_hash == events[-1].record_hash
        assert session.get(Capture, new[0]).seal_version == 3
        report = verify_store(session)
        assert report.ok and report.record_versions == {1: 5, 3: 2}
    tamper(db_url, "UPDATE captures SET wayback_url = 'https://web.archive.org/web/2099/x' WHERE id = 3")
    tamper(db_url, "UPDATE captures SET status_code = 404 WHERE id = 1")
    with sessions() as session:
        found = [(p.kind, p.capture_id) for p in verify_store(session).problems]
    assert found == [("capture_altered", 1), ("capture_altered", 3)]
    sessions.kw["bind"].dispose()


def _keys(sessions):
    with sessions.begin() as session:
        keys, _ = put_blobs(session, [b"<html><body><p>New</p></body></html>", "新 New".encode()])
    return keys
