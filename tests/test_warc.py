"""WARC export and import: every header and byte survives a round trip through warcio; wget's WARCs come in."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from archiver.chain import add_captures, canonical_json
from archiver.db import open_database
from archiver.integrity import verify_store
from archiver.models import Capture, Source
from archiver.sources import add_source
from archiver.store import get_blob, put_blobs
from archiver.warc import WarcImportError, import_warc, select_captures, write_warc
from tests.processes import console_script

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
ZH_PAGE = ("<html><head><title>云从科技签署合作协议</title></head><body><div class='article'>"
           "<p>云从科技与津巴布韦政府在广州签署战略合作框架协议，双方将在智慧城市和公共安全领域开展合作。</p>"
           "<p>根据协议，云从科技将为津巴布韦的机场、火车站和汽车站提供人脸识别技术。</p></div></body></html>")
EN_PAGE = ("<html><head><title>Contract signed</title></head><body><article><h1>Contract signed</h1>"
           "<p>The company signed the agreement in the capital, officials said on Tuesday.</p>"
           "<p>Critics said the contract lacked any public tender and raised human rights concerns.</p>"
           "</article></body></html>")


def store_with_captures(url: str) -> dict[str, int]:
    """Captures of every shape an export meets: plain, gzip-encoded, GBK, 404, failed, 304."""
    sessions = open_database(url)
    ids = {}
    with sessions.begin() as session:
        en, _ = add_source(session, "http://news.example.org/contract")
        zh, _ = add_source(session, "http://www.example.gov.cn/art/2018/4/1/art_1.html")
        gone, _ = add_source(session, "http://news.example.org/removed")
        dead, _ = add_source(session, "http://offline.example.org/")
        en_body, zh_body, missing = EN_PAGE.encode(), ZH_PAGE.encode("gbk"), b"<html><body>Not Found</body></html>"
        (en_sha, zh_sha, missing_sha), _ = put_blobs(session, [en_body, zh_body, missing])

        def capture(source, n, **fields):
            base = dict(
                source_id=source.id, origin="live", requested_url=source.url, final_url=source.url,
                started_at=T0 + timedelta(minutes=n), ended_at=T0 + timedelta(minutes=n, seconds=2),
                redirects=[], server_ip="192.0.2.7", http_version="HTTP/1.1",
                request_headers={"Host": source.url.split("/")[2], "Accept-Encoding": "gzip, deflate",
                                 "User-Agent": "Mozilla/5.0 source-archiver/0.1"},
                tool="source-archiver", tool_version="0.1.0", config={"fetch": {"timeout": 30.0}},
            )
            base.update(fields)
            row = Capture(**base)
            add_captures(session, [row])
            return row.id

        ids["plain"] = capture(en, 0, status_code=200, content_type="text/html; charset=utf-8",
                               response_headers=[["Content-Type", "text/html; charset=utf-8"], ["Server", "nginx"],
                                                 ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"],
                                                 ["Content-Length", str(len(en_body))]],
                               body_sha256=en_sha, body_size=len(en_body), verdict="new")
        ids["gzip"] = capture(zh, 1, status_code=200, content_type="text/html",
                              response_headers=[["Content-Type", "text/html"], ["Content-Encoding", "gzip"],
                                                ["Content-Length", "311"], ["Vary", "Accept-Encoding"]],
                              body_sha256=zh_sha, body_size=len(zh_body), charset="gb18030", verdict="new",
                              http_version="HTTP/2", redirects=[[302, "http://www.example.gov.cn/art/2018/4/1/art_1.html"]],
                              requested_url="http://example.gov.cn/a1")
        ids["missing"] = capture(gone, 2, status_code=404, content_type="text/html",
                                 response_headers=[["Content-Type", "text/html"]],
                                 body_sha256=missing_sha, body_size=len(missing), verdict="new")
        ids["failed"] = capture(dead, 3, status_code=None, final_url=None, request_headers={}, response_headers=[],
                                server_ip=None, error_kind="dns", error="could not find the address", verdict="unreachable")
        ids["not_modified"] = capture(en, 4, status_code=304, not_modified=True, response_headers=[["ETag", '"x1"']],
                                      body_sha256=en_sha, verdict="unchanged")
    return ids


def read_records(path) -> list:
    """(record headers, http headers, payload bytes) for each record, read back with warcio."""
    out = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise"):
            payload = record.content_stream().read() if record.rec_type != "revisit" else b""
            out.append((record.rec_headers, record.http_headers, payload))
    return out


def export(url, path, **kwargs) -> int:
    sessions = open_database(url)
    with sessions() as session:
        return write_warc(session, select_captures(session, **kwargs), path)


def test_round_trip_keeps_every_header_and_byte(db_url, tmp_path):
    ids = store_with_captures(db_url)
    path = tmp_path / "out.warc.gz"
    assert export(db_url, path) == 1 + 3 * 4 + 1
    records = read_records(path)
    assert records[0][0].get_header("WARC-Type") == "warcinfo"
    assert records[0][0].protocol == "WARC/1.1"
    assert b"software: source-archiver/" in records[0][2]

    sessions = open_database(db_url)
    with sessions() as session:
        captures = {c.id: c for c in session.scalars(select(Capture))}
        bodies = {c.id: get_blob(session, c.body_sha256) for c in captures.values() if c.body_sha256}
    by_capture: dict[int, dict[str, tuple]] = {}
    for rec, http, payload in records[1:]:
        by_capture.setdefault(int(rec.get_header("X-Archiver-Capture-ID")), {})[rec.get_header("WARC-Type")] = (rec, http, payload)
    assert set(by_capture) == set(ids.values())

    plain = captures[ids["plain"]]
    rec, http, payload = by_capture[plain.id]["response"]
    assert payload == bodies[plain.id]
    assert rec.get_header("WARC-Target-URI") == plain.final_url
    assert iso_date_to_datetime(rec.get_header("WARC-Date")).replace(tzinfo=UTC) == plain.started_at
    assert rec.get_header("WARC-IP-Address") == "192.0.2.7"
    assert rec.get_header("WARC-Payload-Digest") == "sha256:" + plain.body_sha256
    assert rec.get_header("X-Archiver-Record-Hash") == plain.record_hash
    assert rec.get_header("X-Archiver-Prev-Hash") == "none"
    assert http.protocol == "HTTP/1.1" and http.get_statuscode() == "200"
    assert [list(h) for h in http.headers] == plain.response_headers

    req_rec, req_http, req_payload = by_capture[plain.id]["request"]
    assert f"{req_http.protocol} {req_http.statusline}" == "GET /contract HTTP/1.1"
    assert dict(req_http.headers) == plain.request_headers
    assert req_rec.get_header("WARC-Concurrent-To") == rec.get_header("WARC-Record-ID")
    assert req_payload == b""

    gz = captures[ids["gzip"]]
    rec, http, payload = by_capture[gz.id]["response"]
    assert payload == bodies[gz.id] == ZH_PAGE.encode("gbk")
    assert rec.get_header("WARC-Protocol") == "h2"
    assert http.headers == [("Content-Type", "text/html"), ("X-Archive-Orig-Content-Encoding", "gzip"),
                            ("X-Archive-Orig-Content-Length", "311"), ("Vary", "Accept-Encoding"),
                            ("Content-Length", str(len(payload)))]

    assert by_capture[ids["missing"]]["response"][1].get_statuscode() == "404"
    assert set(by_capture[ids["failed"]]) == {"metadata"}

    rec, http, _ = by_capture[ids["not_modified"]]["revisit"]
    assert http.get_statuscode() == "304"
    assert rec.get_header("WARC-Profile").endswith("/revisit/server-not-modified")
    assert rec.get_header("WARC-Refers-To-Target-URI") == plain.final_url
    assert rec.get_header("WARC-Payload-Digest") == "sha256:" + plain.body_sha256
    assert rec.get_header("X-Archiver-Prev-Hash") == captures[ids["failed"]].record_hash


def test_a_304_from_another_address_is_no_revisit_of_the_article(sqlite_url, tmp_path):
    """A 304 stored before conditional requests were tied to their address (the article's
    validators sent on to the home page it redirected to) claims no body in the export: the
    home page's record is the bare 304 it was, never a revisit pointing at the article's bytes."""
    sessions = open_database(sqlite_url)
    with sessions.begin() as session:
        source, _ = add_source(session, "http://news.example.org/contract")
        (sha,), _ = put_blobs(session, [EN_PAGE.encode()])
        common = dict(source_id=source.id, origin="live", requested_url=source.url, redirects=[],
                      request_headers={"Host": "news.example.org"}, http_version="HTTP/1.1",
                      tool="source-archiver", tool_version="0.1.0", config={})
        rows = [Capture(**common, final_url=source.url, started_at=T0, ended_at=T0, status_code=200,
                        response_headers=[["Last-Modified", "Wed, 01 May 2024 08:00:00 GMT"]], body_sha256=sha,
                        body_size=len(EN_PAGE), verdict="new"),
                Capture(**common | {"redirects": [[301, "http://news.example.org/"]]}, final_url="http://news.example.org/",
                        started_at=T0 + timedelta(days=1), ended_at=T0 + timedelta(days=1), status_code=304,
                        not_modified=True, response_headers=[], body_sha256=sha, verdict="unchanged")]
        add_captures(session, rows)
    path = tmp_path / "out.warc.gz"
    export(sqlite_url, path)
    records = read_records(path)
    assert not [rec for rec, _, _ in records if rec.get_header("WARC-Type") == "revisit"]
    home = [(rec, http) for rec, http, _ in records
            if rec.get_header("WARC-Type") == "response" and rec.get_header("WARC-Target-URI") == "http://news.example.org/"]
    assert len(home) == 1
    rec, http = home[0]
    assert http.get_statuscode() == "304"
    assert rec.get_header("WARC-Payload-Digest") != "sha256:" + sha
    assert rec.get_header("WARC-Refers-To-Target-URI") is None


def test_metadata_lets_anyone_recompute_the_record_hash(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    path = tmp_path / "out.warc.gz"
    export(sqlite_url, path)
    metadata = [json.loads(p) for rec, _, p in read_records(path) if rec.get_header("WARC-Type") == "metadata"]
    assert len(metadata) == 5
    previous = None
    for item in metadata:
        assert hashlib.sha256(canonical_json(item["sealed_record"])).hexdigest() == item["record_hash"]
        assert item["sealed_record"]["prev_hash"] == previous
        previous = item["record_hash"]
    assert metadata[1]["sealed_record"]["requested_url"] == "http://example.gov.cn/a1"


def test_same_capture_exports_with_the_same_record_ids(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    first, second = tmp_path / "1.warc.gz", tmp_path / "2.warc.gz"
    export(sqlite_url, first)
    export(sqlite_url, second)
    ids = [[r.get_header("WARC-Record-ID") for r, _, _ in read_records(p)][1:] for p in (first, second)]
    assert ids[0] == ids[1] and len(set(ids[0])) == len(ids[0])


def test_warcio_check_accepts_the_digests(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    path = tmp_path / "out.warc.gz"
    assert export(sqlite_url, path) == 14
    result = subprocess.run([console_script("warcio"), "check", "-v", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == 13
    assert result.stdout.count("not checked (revisit)") == 1
    assert "fail" not in result.stdout


def test_select_captures_by_source_and_date(sqlite_url):
    ids = store_with_captures(sqlite_url)
    sessions = open_database(sqlite_url)
    with sessions() as session:
        source = session.scalar(select(Source).where(Source.url == "http://news.example.org/contract"))
        assert [c.id for c in select_captures(session, source_ids=[source.id])] == [ids["plain"], ids["not_modified"]]
        assert [c.id for c in select_captures(session, since=T0 + timedelta(minutes=2))] == [
            ids["missing"], ids["failed"], ids["not_modified"]]
        assert len(list(select_captures(session, since=date(2024, 5, 6)))) == 5
        assert list(select_captures(session, since=date(2024, 5, 7))) == []


def test_write_to_a_file_object(sqlite_url):
    store_with_captures(sqlite_url)
    sessions = open_database(sqlite_url)
    buffer = io.BytesIO()
    with sessions() as session:
        count = write_warc(session, select_captures(session, source_ids=[1]), buffer)
    buffer.seek(0)
    assert count == 1 + 3 + 3
    assert [r.rec_type for r in ArchiveIterator(buffer)] == ["warcinfo", "response", "request", "metadata",
                                                            "revisit", "request", "metadata"]


# --- import -------------------------------------------------------------------------------------


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_import_our_own_export_into_another_store(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    path = tmp_path / "out.warc.gz"
    export(sqlite_url, path)
    other = open_database(f"sqlite:///{tmp_path / 'other.db'}")
    summary = import_warc(other, path)
    assert summary.imported == 3
    assert summary.skipped_reasons == {"metadata record": 5, "revisit record": 1}

    with other() as session:
        rows = list(session.scalars(select(Capture).order_by(Capture.id)))
        assert [r.status_code for r in rows] == [200, 200, 404]
        assert all(r.origin == "warc" for r in rows)
        assert rows[0].started_at == T0
        assert get_blob(session, rows[0].body_sha256) == EN_PAGE.encode()
        assert rows[0].request_headers["User-Agent"] == "Mozilla/5.0 source-archiver/0.1"
        assert rows[0].tool == "source-archiver"
        assert rows[0].verdict == "new"
        assert get_blob(session, rows[1].body_sha256) == ZH_PAGE.encode("gbk")
        assert rows[1].http_version == "HTTP/1.1" and rows[1].server_ip == "192.0.2.7"
        assert rows[0].config["warc_file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert verify_store(session).ok

    again = import_warc(other, path)
    assert (again.imported, again.duplicates) == (0, 3)
    assert count(other, Capture) == 3

    same_store = import_warc(open_database(sqlite_url), path)
    assert (same_store.imported, same_store.duplicates) == (0, 3)


def test_import_rejects_a_file_that_is_not_a_warc(sqlite_url, tmp_path):
    bogus = tmp_path / "notes.warc.gz"
    bogus.write_bytes(b"this is not a WARC file\n")
    with pytest.raises(WarcImportError, match="not a readable WARC"):
        import_warc(open_database(sqlite_url), bogus)
    with pytest.raises(WarcImportError, match="file not found"):
        import_warc(open_database(sqlite_url), tmp_path / "absent.warc")


WGET = shutil.which("wget")


@pytest.mark.skipif(WGET is None, reason="wget is not installed (Debian: apt-get install wget)")
def test_import_a_wget_warc(site, db_url, tmp_path):
    en = site.set("/en.html", EN_PAGE)
    zh = site.set("/zh.html", ZH_PAGE.encode("gbk"), content_type="text/html")
    site.set("/logo.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    moved = site.redirect("/old.html", "/zh.html")
    site.set("/gone.html", "<html><body>页面不存在</body></html>", status=404)
    gone = site.url("/gone.html")
    prefix = tmp_path / "crawl"
    subprocess.run([WGET, "--quiet", f"--warc-file={prefix}", "--no-warc-keep-log", "-O", str(tmp_path / "out"),
                    en, zh, site.url("/logo.png"), moved, gone], check=False, timeout=60)
    path = tmp_path / "crawl.warc.gz"
    assert path.is_file()

    sessions = open_database(db_url)
    summary = import_warc(sessions, path)
    assert summary.imported == 4
    assert summary.skipped_reasons["redirect"] == 1
    assert summary.skipped_reasons["image/png content"] == 1
    assert summary.new_sources == 3

    with sessions() as session:
        rows = list(session.scalars(select(Capture).order_by(Capture.id)))
        by_url = {}
        for row in rows:
            by_url.setdefault(row.final_url, []).append(row)
        assert set(by_url) == {en, zh, gone}
        first_zh = by_url[zh][0]
        assert get_blob(session, first_zh.body_sha256) == ZH_PAGE.encode("gbk")
        assert "津巴布韦" in get_blob(session, first_zh.text_sha256).decode("utf-8")
        assert first_zh.page_title == "云从科技签署合作协议"
        assert first_zh.tool == "Wget" and first_zh.tool_version.startswith("1.")
        assert first_zh.server_ip == "127.0.0.1"
        assert first_zh.request_headers["User-Agent"].startswith("Wget/")
        assert first_zh.origin == "warc" and first_zh.verdict == "new"
        assert by_url[zh][1].verdict == "unchanged"
        assert by_url[gone][0].status_code == 404 and by_url[gone][0].verdict == "deleted"
        assert session.scalar(select(Source.state).where(Source.url == gone)) == "deleted"
        assert abs((first_zh.started_at - datetime.now(UTC)).total_seconds()) < 120

        en_source = session.scalar(select(Source).where(Source.url == en))
        assert en_source.state == "new" and en_source.last_good_capture_id == by_url[en][0].id
        assert en_source.title == "Contract signed"
        assert verify_store(session).ok

    again = import_warc(sessions, path)
    assert (again.imported, again.duplicates) == (0, 4)
    assert count(sessions, Capture) == 4


@pytest.mark.skipif(WGET is None, reason="wget is not installed (Debian: apt-get install wget)")
def test_import_tracked_only(site, sqlite_url, tmp_path):
    en = site.set("/en.html", EN_PAGE)
    other = site.set("/other.html", EN_PAGE.replace("Contract", "Tender"))
    subprocess.run([WGET, "--quiet", f"--warc-file={tmp_path / 'crawl'}", "-O", str(tmp_path / "out"), en, other],
                   check=False, timeout=60)
    sessions = open_database(sqlite_url)
    with sessions.begin() as session:
        add_source(session, en)
    summary = import_warc(sessions, tmp_path / "crawl.warc.gz", tracked_only=True)
    assert summary.imported == 1 and summary.skipped_reasons["not a tracked source"] == 1
    assert count(sessions, Source) == 1


def test_import_warc_command(sqlite_url, tmp_path):
    from click.testing import CliRunner

    from archiver.cli import main

    store_with_captures(sqlite_url)
    path = tmp_path / "out.warc.gz"
    export(sqlite_url, path)
    runner = CliRunner()
    env = {"ARCHIVER_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    result = runner.invoke(main, ["import-warc", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["imported"], data["new_sources"], data["duplicates"]) == (3, 3, 0)

    again = runner.invoke(main, ["import-warc", str(path)], env=env)
    assert again.exit_code == 0
    assert "imported 0 capture(s)" in again.output and "3 already in the archive" in again.output

    bogus = tmp_path / "bogus.warc"
    bogus.write_text("hello\n")
    bad = runner.invoke(main, ["import-warc", str(bogus)], env=env)
    assert bad.exit_code == 2
    assert "not a readable WARC file" in bad.output


def test_round_trip_of_real_captures(site, config, tmp_path):
    from tests.test_integrity import real_store

    sessions = real_store(site, config)
    path = tmp_path / "real.warc.gz"
    with sessions() as session:
        assert write_warc(session, select_captures(session), path) == 1 + 8 * 3
        captures = {c.id: c for c in session.scalars(select(Capture))}
        bodies = {c.id: get_blob(session, c.body_sha256) for c in captures.values()}
    responses = requests = 0
    served = set()
    for rec, http, payload in read_records(path)[1:]:
        capture = captures[int(rec.get_header("X-Archiver-Capture-ID"))]
        kind = rec.get_header("WARC-Type")
        assert rec.get_header("WARC-Target-URI") == (capture.final_url if kind != "metadata"
                                                     else f"urn:source-archiver:capture:{capture.id}")
        assert iso_date_to_datetime(rec.get_header("WARC-Date")).replace(tzinfo=UTC) == capture.started_at
        if kind == "response":
            responses += 1
            assert payload == bodies[capture.id]
            served.add(payload)
            assert [list(h) for h in http.headers] == capture.response_headers
            assert f"{http.protocol} {http.statusline}".startswith(f"{capture.http_version} {capture.status_code} ")
            assert rec.get_header("WARC-IP-Address") == "127.0.0.1"
            assert rec.get_header("WARC-Payload-Digest") == "sha256:" + capture.body_sha256
            assert rec.get_header("X-Archiver-Record-Hash") == capture.record_hash
        elif kind == "request":
            requests += 1
            assert dict(http.headers) == capture.request_headers
    assert responses == requests == 8
    assert site.pages["/zh.html"].body in served and site.pages["/en.html"].body in served
    assert b"First version." in b"".join(served)


def _warc_of(path, responses) -> None:
    """A WARC file holding these (url, WARC-Date, status, html) responses, in this order."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, when, status, html in responses:
            body = html.encode("utf-8")
            http = StatusAndHeaders(f"{status} X", [("Content-Type", "text/html; charset=utf-8"),
                                                    ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                               warc_headers_dict={"WARC-Date": when})
            writer.write_record(record)


def test_imported_history_is_judged_like_live_captures(tmp_path, monkeypatch):
    from tests.conftest import make_cli

    cli = make_cli(tmp_path, monkeypatch)
    url = "http://www.example.gov.cn/art/2018/4/1/art_1.html"
    other = "http://news.example.org/contract"
    cli("claim", "add", "CloudWalk signed with Zimbabwe", "--id", "cw")
    cli("cite", "cw", url, "--quote", "云从科技与津巴布韦政府在广州签署战略合作框架协议")
    edited = EN_PAGE.replace("on Tuesday", "on Wednesday")
    path = tmp_path / "history.warc.gz"
    # written out of order: the 404 of 2020 first, the 200 of 2019 after it
    _warc_of(path, [(url, "2020-02-01T00:00:00Z", 404, "<html><body>页面不存在</body></html>"),
                    (url, "2019-03-12T08:00:00Z", 200, ZH_PAGE),
                    (other, "2019-01-01T00:00:00Z", 200, EN_PAGE),
                    (other, "2019-06-01T00:00:00Z", 200, edited)])
    assert cli("import-warc", str(path)).exit_code == 0
    rows = {row["url"]: row for row in json.loads(cli("status", "--json").output)}
    assert rows[url]["state"] == "deleted" and rows[url]["state_since"].startswith("2020-02-01")
    assert rows[other]["state"] == "altered" and "Wednesday" in rows[other]["reason"]
    report = json.loads(cli("report", "cw", "--format", "json").output)["citations"][0]
    assert report["state"] == "deleted" and report["support"] == "archive"
    assert report["best_capture"]["captured_at"].startswith("2019-03-12")
    shown = json.loads(cli("show", url, "--json").output)["captures"]
    assert [(c["status"], c["verdict"]) for c in shown] == [(200, "new"), (404, "deleted")]

    older = tmp_path / "older.warc.gz"
    _warc_of(older, [(other, "2018-05-01T00:00:00Z", 200, EN_PAGE.replace("Tuesday", "Monday"))])
    assert cli("import-warc", str(older)).exit_code == 0
    assert json.loads(cli("status", "--json").output)[1]["state"] == "altered", "older history is not judged"
    shown = json.loads(cli("show", other, "--json").output)["captures"]
    assert shown[-1]["verdict"] is None and "kept as evidence" in shown[-1]["reason"]
    assert cli("verify").exit_code == 0
