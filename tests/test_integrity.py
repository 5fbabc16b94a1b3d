"""`archiver verify`: a healthy store passes; each byte or row changed behind the tool's back is named."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archiver.chain import add_captures
from archiver.db import open_database, sqlite_path
from archiver.integrity import verify_store
from archiver.models import Capture
from archiver.sources import add_source
from archiver.store import compress, put_blobs

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def page(i: int) -> bytes:
    return f"<html><body><p>第{i}条 Article number {i} about the contract.</p></body></html>".encode()


def build_store(url: str, count: int = 5) -> list[dict]:
    """A store with `count` sealed captures of two sources; returns each capture's id and blob keys."""
    sessions = open_database(url)
    made = []
    with sessions.begin() as session:
        sources = [add_source(session, f"http://example.org/{name}")[0] for name in ("a", "b")]
        for i in range(count):
            body, text = page(i), f"Article number {i}".encode()
            (body_sha, text_sha), _ = put_blobs(session, [body, text])
            capture = Capture(
                source_id=sources[i % 2].id, origin="live", requested_url=sources[i % 2].url,
                final_url=sources[i % 2].url, started_at=T0 + timedelta(hours=i),
                ended_at=T0 + timedelta(hours=i, seconds=1), status_code=200, redirects=[],
                request_headers={"User-Agent": "test"}, response_headers=[["Content-Type", "text/html"]],
                server_ip="127.0.0.1", http_version="HTTP/1.1", content_type="text/html",
                body_sha256=body_sha, body_size=len(body), text_sha256=text_sha, verdict="new",
                tool="source-archiver", tool_version="0.1.0", config={"fetch": {"timeout": 5}},
            )
            add_captures(session, [capture])
            made.append({"id": capture.id, "body": body_sha, "text": text_sha})
    sessions.kw["bind"].dispose()
    return made


def raw(url: str, sql: str, params=()) -> None:
    """Change the database the way someone with the file and a SQLite shell could (foreign keys off)."""
    conn = sqlite3.connect(sqlite_path(url))
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def verify(url: str):
    sessions = open_database(url)
    with sessions() as session:
        return verify_store(session)


def kinds(report) -> list[tuple[str, int | None, str | None]]:
    return [(p.kind, p.capture_id, p.blob_sha256) for p in report.problems]


def test_healthy_store_passes(db_url):
    made = build_store(db_url)
    report = verify(db_url)
    assert report.ok, report.problems
    assert report.captures_checked == 5
    assert report.blobs_checked == 10
    assert report.head_capture_id == made[-1]["id"]


def test_empty_store_passes(sqlite_url):
    report = verify(sqlite_url)
    assert report.ok and report.captures_checked == 0


def test_altered_blob_bytes_are_named(sqlite_url):
    made = build_store(sqlite_url)
    victim = made[2]["body"]
    raw(sqlite_url, "UPDATE blobs SET data = ? WHERE sha256 = ?", (compress(page(2).replace(b"contract", b"contrast")), victim))
    report = verify(sqlite_url)
    assert kinds(report) == [("blob_altered", None, victim)]
    assert victim in report.problems[0].message


def test_garbled_blob_is_unreadable(sqlite_url):
    made = build_store(sqlite_url)
    victim = made[1]["text"]
    raw(sqlite_url, "UPDATE blobs SET data = ? WHERE sha256 = ?", (b"\x28\xb5\x2f\xfd not zstd at all", victim))
    assert kinds(verify(sqlite_url)) == [("blob_unreadable", None, victim)]


def test_blob_size_edit_is_named(sqlite_url):
    made = build_store(sqlite_url)
    raw(sqlite_url, "UPDATE blobs SET size = size + 1 WHERE sha256 = ?", (made[0]["body"],))
    assert kinds(verify(sqlite_url)) == [("blob_size", None, made[0]["body"])]


@pytest.mark.parametrize("column, value", [
    ("status_code", 404),
    ("final_url", "http://example.org/elsewhere"),
    ("started_at", "2024-03-01 09:30:00.000000"),
    ("response_headers", '[["Content-Type", "text/plain"]]'),
])
def test_edited_capture_row_is_named(sqlite_url, column, value):
    made = build_store(sqlite_url)
    victim = made[3]["id"]
    raw(sqlite_url, f"UPDATE captures SET {column} = ? WHERE id = ?", (value, victim))
    report = verify(sqlite_url)
    assert kinds(report) == [("capture_altered", victim, None)]
    assert f"capture {victim} was altered" in report.problems[0].message


def test_resealed_capture_breaks_the_link_to_the_next(sqlite_url):
    made = build_store(sqlite_url)
    raw(sqlite_url, "UPDATE captures SET record_hash = ? WHERE id = ?", ("0" * 64, made[1]["id"]))
    found = kinds(verify(sqlite_url))
    assert ("capture_altered", made[1]["id"], None) in found
    assert ("chain_broken", made[2]["id"], None) in found


def test_deleted_capture_in_the_middle_is_named(sqlite_url):
    made = build_store(sqlite_url)
    raw(sqlite_url, "DELETE FROM captures WHERE id = ?", (made[2]["id"],))
    report = verify(sqlite_url)
    assert kinds(report) == [("chain_broken", made[3]["id"], None)]
    assert f"capture {made[2]['id']} was deleted" in report.problems[0].message


def test_deleted_first_and_last_captures_are_named(sqlite_url):
    made = build_store(sqlite_url)
    raw(sqlite_url, "DELETE FROM captures WHERE id IN (?, ?)", (made[0]["id"], made[-1]["id"]))
    found = kinds(verify(sqlite_url))
    assert ("capture_missing", made[1]["id"], None) in found
    assert ("capture_missing", made[-1]["id"], None) in found
    assert len(found) == 2


def test_deleted_blob_is_named_with_its_capture(sqlite_url):
    made = build_store(sqlite_url)
    victim = made[4]["body"]
    raw(sqlite_url, "DELETE FROM blobs WHERE sha256 = ?", (victim,))
    report = verify(sqlite_url)
    assert kinds(report) == [("blob_missing", made[4]["id"], victim)]
    assert "missing from the store" in report.problems[0].message


def test_edited_chain_head_is_named(sqlite_url):
    build_store(sqlite_url)
    raw(sqlite_url, "UPDATE chain_heads SET record_hash = ? WHERE id = 1", ("f" * 64,))
    assert [k for k, _, _ in kinds(verify(sqlite_url))] == ["chain_head"]


def test_verify_streams_in_pages(sqlite_url, monkeypatch):
    import archiver.integrity as integrity

    monkeypatch.setattr(integrity, "CAPTURE_PAGE", 2)
    monkeypatch.setattr(integrity, "BLOB_PAGE", 3)
    monkeypatch.setattr(integrity, "BLOB_BATCH_BYTES", 10)
    made = build_store(sqlite_url, count=7)
    raw(sqlite_url, "DELETE FROM captures WHERE id = ?", (made[4]["id"],))
    report = verify(sqlite_url)
    assert report.captures_checked == 6 and report.blobs_checked == 14
    assert kinds(report) == [("chain_broken", made[5]["id"], None)]


def test_cli_exit_codes_and_json(sqlite_url):
    from archiver.cli import main

    made = build_store(sqlite_url)
    runner = CliRunner()
    env = {"ARCHIVER_DATABASE_URL": sqlite_url}
    healthy = runner.invoke(main, ["verify"], env=env)
    assert healthy.exit_code == 0, healthy.output
    assert "archive intact" in healthy.output

    raw(sqlite_url, "UPDATE captures SET status_code = 500 WHERE id = ?", (made[0]["id"],))
    raw(sqlite_url, "DELETE FROM blobs WHERE sha256 = ?", (made[1]["text"],))
    broken = runner.invoke(main, ["verify", "--json"], env=env)
    assert broken.exit_code == 1
    data = json.loads(broken.stdout)
    assert data["ok"] is False
    assert {(p["kind"], p["capture_id"]) for p in data["problems"]} == {
        ("capture_altered", made[0]["id"]), ("blob_missing", made[1]["id"])}

    text = runner.invoke(main, ["verify"], env=env)
    assert text.exit_code == 1
    assert f"capture {made[0]['id']} was altered" in text.output


ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           "<p>{para} The company signed the agreement in the capital, officials said on Tuesday.</p>"
           "<p>Critics said the contract lacked any public tender and raised human rights concerns.</p>"
           "</article></body></html>")
ZH_ARTICLE = ("<html><head><title>{title}</title></head><body><div class='article'><h1>{title}</h1>"
              "<p>{para}云从科技与津巴布韦政府在广州签署战略合作框架协议，双方将在智慧城市和公共安全领域开展合作。</p>"
              "<p>根据协议，云从科技将为津巴布韦的机场、火车站和汽车站提供人脸识别技术。</p></div></body></html>")


def real_store(site, config):
    """A store made by two real capture passes over loopback pages, one page edited in between."""
    from archiver.capture import run_pass

    en = site.set("/en.html", ARTICLE.format(title="Contract signed", para="First version."))
    zh = site.set("/zh.html", ZH_ARTICLE.format(title="合作协议", para="").encode("gbk"), content_type="text/html")
    site.redirect("/old.html", "/en.html")
    gone = site.url("/gone.html")
    sessions = open_database(config.database.url)
    with sessions.begin() as session:
        for url in (en, zh, site.url("/old.html"), gone):
            add_source(session, url)
    run_pass(config, sessions, everything=True)
    site.set("/en.html", ARTICLE.format(title="Contract signed", para="Second, edited version."))
    run_pass(config, sessions, everything=True)
    return sessions


def test_verify_passes_after_two_real_capture_passes_and_catches_tampering(site, config):
    sessions = real_store(site, config)
    with sessions() as session:
        report = verify_store(session)
        assert report.ok, report.problems
        assert report.captures_checked == 8
        text_sha = session.scalar(select(Capture.text_sha256).where(Capture.text_sha256.is_not(None)).limit(1))
    raw(config.database.url, "UPDATE blobs SET data = ? WHERE sha256 = ?", (compress("一段被篡改的文字".encode()), text_sha))
    raw(config.database.url, "UPDATE captures SET server_ip = '203.0.113.9' WHERE id = 5")
    with sessions() as session:
        assert kinds(verify_store(session)) == [("blob_altered", None, text_sha), ("capture_altered", 5, None)]


def test_real_captures_record_what_the_berkeley_protocol_asks(site, config):
    """Original and final URL, start and end in UTC, request and response headers, server IP,
    body SHA-256, tool name and version, and the settings that shaped the capture."""
    from archiver import __version__

    sessions = real_store(site, config)
    with sessions() as session:
        captures = list(session.scalars(select(Capture).where(Capture.status_code == 200)))
    assert len(captures) == 6
    for capture in captures:
        assert capture.requested_url and capture.final_url
        assert capture.started_at.tzinfo is not None and capture.ended_at >= capture.started_at
        assert capture.request_headers.get("User-Agent") or capture.request_headers.get("user-agent")
        assert any(name.lower() == "content-type" for name, _ in capture.response_headers)
        assert capture.server_ip == "127.0.0.1"
        assert len(capture.body_sha256) == 64
        assert (capture.tool, capture.tool_version) == ("source-archiver", __version__)
        assert capture.config["fetch"]["timeout"] == config.fetch.timeout
        assert capture.record_hash and capture.http_version
    moved = [c for c in captures if c.requested_url.endswith("/old.html")]
    assert moved and all(c.final_url.endswith("/en.html") and c.redirects for c in moved)


# --- every field a report or an export shows is sealed (record format 2) -------------------------


def tamper(url: str, sql: str, params: dict | None = None) -> None:
    """Change the database behind the archiver's back, on SQLite (foreign keys off, as in a
    SQLite shell) or PostgreSQL, the way someone with write access to it could."""
    from sqlalchemy import create_engine, text

    from archiver.db import normalise_db_url

    engine = create_engine(normalise_db_url(url))
    with engine.begin() as conn:
        conn.execute(text(sql), params or {})
    engine.dispose()


def build_full_store(url: str, count: int = 6) -> dict:
    """Captures of two runs with every field a report shows filled in, and a Wayback copy of one
    of them recorded the way the Save Page Now queue records it (a chained event)."""
    from archiver.chain import append_event
    from archiver.models import Run

    sessions = open_database(url)
    made: dict = {"captures": []}
    with sessions.begin() as session:
        sources = [add_source(session, f"http://example.org/{name}")[0] for name in ("a", "b")]
        runs = [Run(started_at=T0, status="finished"), Run(started_at=T0 + timedelta(days=1), status="finished")]
        session.add_all(runs)
        session.flush()
        made["runs"] = [r.id for r in runs]
        previous: dict[int, int] = {}
        for i in range(count):
            source = sources[i % 2]
            body, text_ = page(i), f"Article number {i} 第{i}条".encode()
            (body_sha, text_sha), _ = put_blobs(session, [body, text_])
            capture = Capture(
                source_id=source.id, run_id=runs[i // (count // 2)].id, origin="live", requested_url=source.url,
                final_url=source.url, started_at=T0 + timedelta(hours=i), ended_at=T0 + timedelta(hours=i, seconds=1),
                status_code=200, redirects=[], request_headers={"User-Agent": "test"},
                response_headers=[["Content-Type", "text/html; charset=utf-8"]], server_ip="127.0.0.1",
                http_version="HTTP/1.1", content_type="text/html; charset=utf-8", charset="utf-8",
                body_sha256=body_sha, body_size=len(body), text_sha256=text_sha, text_length=len(text_.decode()),
                page_title=f"合同 Contract {i}", published="2019-05-03", verdict="unchanged" if i > 1 else "new",
                verdict_reason="same text", similarity=0.987654321 if i > 1 else None,
                compared_to_id=previous.get(source.id), tool="source-archiver", tool_version="0.1.0",
                config={"fetch": {"timeout": 5}}, elapsed_ms=1000 + i,
            )
            add_captures(session, [capture])
            previous[source.id] = capture.id
            made["captures"].append(capture.id)
        event = append_event(session, "wayback", source_id=sources[0].id, capture_id=made["captures"][2], payload={
            "wayback_url": "https://web.archive.org/web/20240301100000/http://example.org/a",
            "wayback_timestamp": "20240301100000", "job_id": 1})
        made["event"] = event.id
    sessions.kw["bind"].dispose()
    return made


MISSED_EDITS = [
    ("page_title", "'A title the page never had'"),
    ("text_length", "text_length + 1"),
    ("similarity", "0.5"),
    ("compared_to_id", "compared_to_id - 2"),
    ("wayback_url", "'https://web.archive.org/web/20240101000000/http://example.org/a'"),
    ("run_id", "NULL"),
    ("published", "'2018-01-01'"),
]


@pytest.mark.parametrize("column, value", MISSED_EDITS, ids=[c for c, _ in MISSED_EDITS])
def test_edits_of_fields_the_first_record_format_left_out_are_named(db_url, column, value):
    made = build_full_store(db_url)
    sessions = open_database(db_url)
    with sessions() as session:
        assert verify_store(session).ok
    victim = made["captures"][4]
    tamper(db_url, f"UPDATE captures SET {column} = {value} WHERE id = :id", {"id": victim})
    with sessions() as session:
        report = verify_store(session)
    assert kinds(report) == [("capture_altered", victim, None)], report.problems
    assert f"capture {victim} was altered" in report.problems[0].message
    sessions.kw["bind"].dispose()


def test_a_wayback_copy_is_a_sealed_event_and_editing_it_is_named(db_url):
    made = build_full_store(db_url)
    sessions = open_database(db_url)
    with sessions() as session:
        report = verify_store(session)
        assert report.ok and report.events_checked == 1 and report.head_event_id == made["event"]
        assert report.record_versions == {3: 6}
    tamper(db_url, "UPDATE chain_events SET payload = :p WHERE id = :id",
           {"p": json.dumps({"wayback_url": "https://web.archive.org/web/20990101000000/http://example.org/a",
                             "wayback_timestamp": "20990101000000", "job_id": 1}), "id": made["event"]})
    with sessions() as session:
        report = verify_store(session)
    assert [(p.kind, p.event_id) for p in report.problems] == [("event_altered", made["event"])]
    assert f"event {made['event']} was altered" in report.problems[0].message
    sessions.kw["bind"].dispose()


@pytest.mark.parametrize("sql", [
    "UPDATE captures SET seal_version = NULL WHERE id = :id",
    "UPDATE captures SET seal_version = 1 WHERE id = :id",
    "UPDATE captures SET elapsed_ms = 1 WHERE id = :id",
    "UPDATE captures SET wayback_timestamp = '20240101000000' WHERE id = :id",
])
def test_a_capture_cannot_be_moved_to_a_weaker_record_format_or_edited_elsewhere(sqlite_url, sql):
    made = build_full_store(sqlite_url)
    victim = made["captures"][1]
    tamper(sqlite_url, sql, {"id": victim})
    assert kinds(verify(sqlite_url)) == [("capture_altered", victim, None)]


def test_an_unknown_record_format_is_named(sqlite_url):
    made = build_full_store(sqlite_url)
    tamper(sqlite_url, "UPDATE captures SET seal_version = 9 WHERE id = :id", {"id": made["captures"][0]})
    report = verify(sqlite_url)
    assert kinds(report) == [("capture_altered", made["captures"][0], None)]
    assert "record format 9 is not known" in report.problems[0].message


def test_deleting_a_chained_event_is_named(sqlite_url):
    made = build_full_store(sqlite_url)
    tamper(sqlite_url, "DELETE FROM chain_events WHERE id = :id", {"id": made["event"]})
    report = verify(sqlite_url)
    assert [p.kind for p in report.problems] == ["chain_head"]
    assert f"event {made['event']}" in report.problems[0].message


def test_verify_json_only_adds_fields(sqlite_url):
    """The JSON of `archiver verify --json` keeps every field it had, with the same meaning."""
    from archiver.cli import main

    made = build_full_store(sqlite_url)
    result = CliRunner().invoke(main, ["verify", "--json"], env={"ARCHIVER_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"ok", "blobs_checked", "captures_checked", "timestamps_checked", "chain_head", "problems"} <= set(data)
    assert data["chain_head"]["capture_id"] == made["captures"][-1]
    assert data["chain_head"]["event_id"] == made["event"]
    assert (data["ok"], data["captures_checked"], data["events_checked"]) == (True, 6, 1)
    assert data["anchors"]["logs"][0]["found"] is False
