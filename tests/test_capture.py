"""The capture pass end to end: real loopback pages in, real SQLite (and PostgreSQL) rows out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from archiver.capture import run_pass
from archiver.db import open_database
from archiver.models import Capture, Run, Source
from archiver.sources import add_source
from archiver.store import get_blob, get_text
from tests.processes import children

ARTICLE = """<html><head><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>{title}</h1>
<p>{para} The company signed the agreement in the capital, officials said on Tuesday.</p>
<p>The project covers surveillance cameras, data centres and a command platform for the city police.</p>
<p>Critics said the contract lacked any public tender and raised human rights concerns in the region.</p>
</article><footer>Copyright 2019 Example News</footer></body></html>"""

ZH_ARTICLE = """<html><head><meta charset="{charset}"><title>{title}</title></head><body>
<div class="nav">首页 | 新闻 | 政务</div>
<div class="article"><h1>{title}</h1>
<p>{para}云从科技与津巴布韦政府在广州签署战略合作框架协议，双方将在智慧城市和公共安全领域开展合作。</p>
<p>根据协议，云从科技将为津巴布韦的机场、火车站和汽车站提供人脸识别技术，并建立国家人脸数据库。</p>
<p>该项目是中国“一带一路”倡议下的重要合作项目之一，得到了两国政府的大力支持。</p>
</div><div class="footer">版权所有 &copy; 2018 示例新闻网</div></body></html>"""


BIG5_ARTICLE = """<html><head><meta charset="big5"><title>雲從科技簽約</title></head><body>
<div class="nav">首頁 | 新聞 | 政務</div>
<div class="article"><h1>雲從科技簽約</h1>
<p>雲從科技與辛巴威政府在廣州簽署戰略合作框架協議，雙方將在智慧城市和公共安全領域開展合作。</p>
<p>根據協議，雲從科技將為辛巴威的機場、火車站和汽車站提供人臉識別技術，並建立國家人臉資料庫。</p>
<p>該項目是中國一帶一路倡議下的重要合作項目之一，得到了兩國政府的大力支持。</p>
</div><div class="footer">版權所有 2018 示例新聞網</div></body></html>"""


def article(i: int) -> str:
    return ARTICLE.format(title=f"Report number {i}", para=f"Paragraph {i} opens the story.")


def track(sessions, urls, **kwargs):
    with sessions.begin() as session:
        for url in urls:
            add_source(session, url, **kwargs)


def test_two_hundred_pages_then_no_new_bodies(site, config, db_url):
    config.database.url = db_url
    sessions = open_database(db_url)
    urls = [site.set(f"/a/{i}.html", article(i)) for i in range(200)]
    track(sessions, urls)

    first = run_pass(config, sessions, everything=True)
    assert first.total == 200
    assert first.counts["new"] == 200
    assert first.new_bodies == 200

    second = run_pass(config, sessions, everything=True)
    assert second.total == 200
    assert second.counts["unchanged"] == 200
    assert second.new_bodies == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 400
        body_blobs = session.scalar(select(func.count(func.distinct(Capture.body_sha256))))
        assert body_blobs == 200
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        assert [r.status for r in runs] == ["finished", "finished"]
        assert runs[1].counts["unchanged"] == 200


def test_only_due_sources_are_captured(site, config):
    sessions = open_database(config.database.url)
    track(sessions, [site.set("/due.html", article(1))])
    assert run_pass(config, sessions).total == 1
    assert run_pass(config, sessions).total == 0, "captured once, not due again for a day"
    assert run_pass(config, sessions, everything=True).total == 1


def test_chinese_encodings_are_stored_and_extracted(site, config):
    sessions = open_database(config.database.url)
    pages = {}
    for charset in ("gbk", "gb2312", "gb18030", "utf-8", "big5"):
        html = ZH_ARTICLE.format(charset=charset, title="云从科技签约", para="新华社广州电 ")
        if charset == "big5":
            html = BIG5_ARTICLE
        body = html.encode(charset if charset != "gb2312" else "gb2312", errors="strict")
        pages[charset] = (site.set(f"/zh/{charset}.html", body, content_type="text/html"), body)
    undeclared = ZH_ARTICLE.replace('<meta charset="{charset}">', "").format(charset="", title="云从科技签约", para="")
    pages["gbk-undeclared"] = (site.set("/zh/undeclared.html", undeclared.encode("gbk"), content_type="text/html"), None)
    track(sessions, [url for url, _ in pages.values()], lang="zh")
    summary = run_pass(config, sessions, everything=True)
    assert summary.counts["new"] == len(pages), summary.failures
    with sessions() as session:
        for name, (url, body) in pages.items():
            source = session.scalars(select(Source).where(Source.url == url)).one()
            capture = session.get(Capture, source.last_capture_id)
            text = get_text(session, capture.text_sha256)
            assert "人脸识别技术" in text or "人臉識別技術" in text or "人脸识别" in text, (name, text[:200])
            assert "首页" not in text and "首頁" not in text
            if body is not None:
                assert get_blob(session, capture.body_sha256) == body, "raw bytes kept exactly"


def test_failures_are_recorded_and_do_not_stop_the_run(site, config):
    config.fetch.total_timeout = 1.5
    config.fetch.timeout = 1.0
    config.fetch.max_bytes = 10_000
    sessions = open_database(config.database.url)
    good = site.set("/good.html", article(7))
    slow = site.set("/slow.html", article(8), delay=3)
    huge = site.set("/huge.html", "<p>" + "x" * 50_000 + "</p>")
    missing = site.url("/gone.html")
    refused = "http://127.0.0.1:9/closed.html"
    track(sessions, [good, slow, huge, missing, refused])
    summary = run_pass(config, sessions, everything=True)
    assert summary.total == 5
    with sessions() as session:
        by_url = {s.url: s for s in session.scalars(select(Source))}
        assert by_url[good].state == "new"
        assert by_url[slow].state == "unreachable"
        assert "timed out" in by_url[slow].last_error
        assert by_url[refused].state == "unreachable"
        assert by_url[refused].last_error
        assert by_url[missing].state == "deleted" or by_url[missing].state == "unreachable"
        huge_capture = session.get(Capture, by_url[huge].last_capture_id)
        assert huge_capture.error_kind == "too_large"
        assert huge_capture.body_size == 10_000


def test_conditional_requests_store_nothing_new(site, config):
    sessions = open_database(config.database.url)
    url = site.set("/etag.html", article(3), etag='"v1"')
    track(sessions, [url])
    run_pass(config, sessions, everything=True)
    second = run_pass(config, sessions, everything=True)
    assert second.counts["unchanged"] == 1
    assert second.new_bodies == 0
    page_requests = [r for r in site.requests if r["path"] == "/etag.html"]
    assert page_requests[-1]["headers"].get("If-None-Match") == '"v1"'
    with sessions() as session:
        captures = list(session.scalars(select(Capture).order_by(Capture.id)))
        assert captures[1].not_modified and captures[1].status_code == 304
        assert captures[1].body_sha256 == captures[0].body_sha256
        assert captures[1].text_sha256 == captures[0].text_sha256


def test_captures_are_never_overwritten(site, config):
    sessions = open_database(config.database.url)
    url = site.set("/page.html", article(1))
    track(sessions, [url])
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        first = session.scalars(select(Capture)).one()
        first_hash, first_body = first.record_hash, first.body_sha256
    site.set("/page.html", article(2))
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        captures = list(session.scalars(select(Capture).order_by(Capture.id)))
        assert len(captures) == 2
        assert captures[0].record_hash == first_hash and captures[0].body_sha256 == first_body
        assert captures[1].body_sha256 != first_body
        assert captures[1].verdict == "altered"
        assert captures[1].prev_hash == first_hash


def _write_config(tmp_path, db_path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{db_path}"\n'
        "[fetch]\nallow_private_addresses = true\nper_host_delay = 0.0\nconcurrency = 4\nper_host_concurrency = 4\n"
        "[capture]\nbatch_size = 10\n[wayback]\nenabled = false\n",
        encoding="utf-8",
    )
    return str(path)


def test_killed_run_is_continued_without_duplicates(site, tmp_path):
    """SIGKILL in the middle of a pass; the next pass captures the rest, each source exactly once."""
    db_path = tmp_path / "archive.db"
    config_path = _write_config(tmp_path, db_path)
    sessions = open_database(f"sqlite:///{db_path}")
    urls = [site.set(f"/slow/{i}.html", article(i), delay=0.2) for i in range(60)]
    track(sessions, urls)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "archiver", "--config", config_path, "run", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        with sessions() as session:
            if session.scalar(select(func.count()).select_from(Capture)) >= 10:
                break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sessions() as session:
        done_before = session.scalar(select(func.count()).select_from(Capture))
    assert 0 < done_before < 60

    result = subprocess.run(
        [sys.executable, "-m", "archiver", "--config", config_path, "run", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with sessions() as session:
        per_source = dict(session.execute(select(Capture.source_id, func.count()).group_by(Capture.source_id)).all())
        assert len(per_source) == 60
        assert set(per_source.values()) == {1}
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        assert runs[0].status == "interrupted"
        assert runs[-1].status == "finished"
        assert session.scalar(select(func.count()).select_from(Source).where(Source.lease_owner.is_not(None))) == 0


def test_captures_record_the_settings_that_shaped_them(site, config):
    config.wayback.secret_key = "wayback-secret"
    config.notify.webhook_url = "https://hooks.example.org/team"
    sessions = open_database(config.database.url)
    track(sessions, [site.set("/settings.html", article(1))])
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        capture = session.scalars(select(Capture)).one()
    assert set(capture.config) == {"fetch", "capture", "verdict", "vantage"}
    assert capture.config["vantage"] == {"name": "default", "proxy": ""}
    assert capture.config["fetch"]["user_agent"] == config.fetch.user_agent
    assert capture.config["verdict"]["min_body_chars"] == config.verdict.min_body_chars
    recorded = str(capture.config)
    assert "wayback-secret" not in recorded and "hooks.example.org" not in recorded and "sqlite" not in recorded


def test_verdicts_of_a_pooled_pass_over_new_edited_and_deleted_pages(site, config):
    """Enough sources for the extraction pool: first captures and unchanged texts are judged in the
    pool, edited texts in the main process; each gets the verdict it would get alone."""
    sessions = open_database(config.database.url)
    english = [site.set(f"/en/{i}.html", article(i)) for i in range(8)]
    chinese = [site.set(f"/zh/{i}.html", ZH_ARTICLE.format(charset="gbk", title=f"签约{i}", para="").encode("gbk"),
                        content_type="text/html") for i in range(4)]
    track(sessions, english + chinese)
    first = run_pass(config, sessions, everything=True)
    assert first.counts == {"new": 12}, first.failures

    site.set("/en/0.html", article(0).replace("officials said on Tuesday", "officials denied on Friday"))
    edited = ZH_ARTICLE.format(charset="gbk", title="签约0", para="").replace("人脸识别技术", "安防技术")
    site.set("/zh/0.html", edited.encode("gbk"), content_type="text/html")
    site.set("/en/1.html", "<h1>404 Not Found</h1>", status=404)
    second = run_pass(config, sessions, everything=True)
    assert second.counts == {"unchanged": 9, "altered": 2, "deleted": 1}, second.failures
    with sessions() as session:
        by_url = {s.url: s for s in session.scalars(select(Source))}
        assert by_url[english[0]].state == "altered" and by_url[chinese[0]].state == "altered"
        assert "安防" in by_url[chinese[0]].state_reason, by_url[chinese[0]].state_reason
        assert by_url[english[1]].state == "deleted"


def test_a_failing_store_ends_the_pass_instead_of_hanging(site, config, monkeypatch):
    """Captures wait for room in a bounded queue; when the writer dies they must not wait forever."""
    import asyncio

    from archiver import capture

    sessions = open_database(config.database.url)
    track(sessions, [site.set(f"/full/{i}.html", article(i)) for i in range(300)])

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(capture, "write_outcomes", disk_full)

    async def bounded():
        return await asyncio.wait_for(capture.capture_pass(config, sessions, everything=True), timeout=60)

    with pytest.raises(OSError, match="No space left"):
        asyncio.run(bounded())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 0
        leased = session.scalar(select(func.count()).select_from(Source).where(Source.lease_owner.is_not(None)))
        assert leased == 0, "the sources are given back for the next pass"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:].split()[0] not in (b"Z", b"X")


def test_extraction_workers_exit_when_the_pass_is_killed(site, tmp_path):
    """SIGKILL leaves no time to shut the pool down: the workers must notice and exit by themselves."""
    db_path = tmp_path / "archive.db"
    config_path = _write_config(tmp_path, db_path)
    sessions = open_database(f"sqlite:///{db_path}")
    track(sessions, [site.set(f"/slow/{i}.html", article(i), delay=0.3) for i in range(40)])
    proc = subprocess.Popen([sys.executable, "-m", "archiver", "--config", config_path, "run", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pool: list[int] = []
        deadline = time.time() + 30
        while time.time() < deadline and len(pool) < 2:
            pool = [grandchild for child in children(proc.pid) for grandchild in children(child)]
            time.sleep(0.1)
        assert len(pool) >= 2, "the pass started its extraction workers"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 15
        while time.time() < deadline and any(_running(pid) for pid in pool):
            time.sleep(0.2)
        assert not any(_running(pid) for pid in pool), "extraction workers outlived the killed pass"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_failure_inside_the_archiver_is_tried_again_and_never_costs_a_day(site, config, monkeypatch):
    """A bug or a broken pool is not the page's fault: the capture is tried again in the same pass,
    and a source that still fails stays due within minutes instead of its whole interval."""
    from datetime import timedelta

    from archiver import capture
    from archiver.models import utcnow

    sessions = open_database(config.database.url)
    flaky, broken, fine = (site.set(f"/{name}.html", article(i)) for i, name in enumerate(("flaky", "broken", "fine")))
    track(sessions, [flaky, broken, fine])
    real_snapshot = capture._snapshot
    calls = {"flaky": 0}

    def snapshot(job, *args, **kwargs):
        if job.url == broken or (job.url == flaky and calls["flaky"] == 0):
            calls["flaky"] += job.url == flaky
            raise RuntimeError("a bug in the archiver")
        return real_snapshot(job, *args, **kwargs)

    monkeypatch.setattr(capture, "_snapshot", snapshot)
    summary = run_pass(config, sessions)
    assert summary.counts == {"new": 2, "failed": 1}
    with sessions() as session:
        by_url = {s.url: s for s in session.scalars(select(Source))}
        failed = session.scalars(select(Capture).where(Capture.requested_url == broken)).one()
    assert failed.error_kind == "internal" and "a bug in the archiver" in failed.error
    assert by_url[broken].state == "pending" and "internal error" in by_url[broken].last_error
    assert utcnow() < by_url[broken].next_due_at <= utcnow() + timedelta(minutes=10)
    assert by_url[flaky].state == "new" and by_url[flaky].next_due_at > utcnow() + timedelta(hours=23)


def test_run_retry_failed_captures_the_failed_sources_now(site, cli):
    good = site.set("/good.html", article(1))
    down = site.set("/down.html", "maintenance", status=503)
    for url in (good, down):
        assert cli("add", url).exit_code == 0
    assert cli("run").exit_code == 0
    assert json.loads(cli("run", "--json").output)["total"] == 0, "nothing is due after the first pass"
    site.set("/down.html", article(2))
    again = json.loads(cli("run", "--retry-failed", "--json").output)
    assert again["total"] == 1 and again["counts"] == {"new": 1}
    sessions = open_database(cli.db_url)
    with sessions() as session:
        assert {s.url: s.state for s in session.scalars(select(Source))} == {good: "new", down: "new"}


def test_a_refusal_by_configuration_says_how_to_retry(tmp_path, monkeypatch):
    """Refused before any connection is made: 127.0.0.1 is refused from its address alone."""
    from tests.conftest import make_cli

    cli = make_cli(tmp_path, monkeypatch)
    cli.config.write_text(cli.config.read_text().replace("allow_private_addresses = true", "allow_private_addresses = false"))
    assert cli("add", "http://127.0.0.1:9/intranet/notice.html").exit_code == 0
    result = cli("run")
    assert result.exit_code == 0
    assert "refused by the configuration" in result.output and "--retry-failed" in result.output
    data = json.loads(cli("run", "--retry-failed", "--json").output)
    assert data["failures"][0]["kind"] == "private_address"


# --- conditional requests never cross a redirect ------------------------------------------------

ARTICLE_STAMP = "Wed, 01 May 2024 08:00:00 GMT"
LATER_STAMP = "Sat, 01 Jun 2024 08:00:00 GMT"
SITE_STAMP = "Mon, 01 Jan 2024 00:00:00 GMT"
HOME = """<html><head><title>Example News</title></head><body><nav>Home | World | Business</nav>
<main><h2>Top stories</h2><ul><li><a href="/x">Floods close schools across the northern province</a></li>
<li><a href="/y">Markets rally as the central bank holds its key rate steady</a></li>
<li><a href="/z">A new bridge opens over the river after six years of work</a></li></ul>
<p>Subscribe to our newsletter for the day's top stories every morning.</p></main></body></html>"""
OTHER_ARTICLE = """<html><head><title>Harvest festival</title></head><body><article><h1>Harvest festival</h1>
<p>Thousands of visitors came to the valley for the annual harvest festival over the weekend.</p>
<p>Farmers sold apples, pears and honey from stalls along the old market street near the station.</p>
<p>Organisers said next year's festival will add a music stage and a longer children's programme.</p>
</article></body></html>"""
QUOTE = "covers surveillance cameras, data centres and a command platform"


def _redirect_again(site, path: str, target: str, how) -> None:
    if how == "meta":
        site.set(path, f'<html><head><meta http-equiv="refresh" content="0; url={target}"></head><body></body></html>',
                 etag='"build-8"', last_modified=LATER_STAMP)
    else:
        site.redirect(path, target, status=how)


@pytest.mark.parametrize("how", [301, 302, 307, 308, "meta"])
@pytest.mark.parametrize("target", ["home", "other article", "same article"])
def test_conditions_never_cross_a_redirect(site, config, tmp_path, how, target):
    """An article captured once, then redirected (HTTP or meta refresh) to the home page, to an
    unrelated article, or to its own text at a new address. Every page of the site shares one
    ETag (a build number) and older Last-Modified dates, so any of them would answer 304 to the
    article's validators: none may receive them, and the verdict, the quote check and the WARC
    export must follow what the new address really serves."""
    from warcio.archiveiterator import ArchiveIterator

    from archiver.readdb import Reader
    from archiver.warc import select_captures, write_warc
    from evidence.claims import Target, add_claim, cite
    from evidence.report import claim_report

    config.verdict.probe_not_found = True
    sessions = open_database(config.database.url)
    shared = {"etag": '"build-7"', "last_modified": SITE_STAMP}
    url = site.set("/news/a.html", article(1), etag='"build-7"', last_modified=ARTICLE_STAMP)
    site.set("/", HOME, **shared)
    site.set("/news/b.html", OTHER_ARTICLE, **shared)
    with sessions.begin() as session:
        add_claim(session, "The contract covers cameras", claim_id="cameras")
        cite(session, Target(claim_id="cameras"), url, quote=QUOTE)
    assert run_pass(config, sessions, everything=True).counts["new"] == 1

    path = {"home": "/", "other article": "/news/b.html", "same article": "/news/a-moved.html"}[target]
    if target == "same article":
        site.set(path, article(1), **shared)
    _redirect_again(site, "/news/a.html", path, how)
    site.requests.clear()
    summary = run_pass(config, sessions, everything=True)
    assert summary.total == 1

    to_target = [r for r in site.requests if r["path"] == path]
    assert to_target, "the new address was fetched"
    for request in to_target:
        assert "If-None-Match" not in request["headers"] and "If-Modified-Since" not in request["headers"]
    with sessions() as session:
        source = session.scalars(select(Source)).one()
        first, second = session.scalars(select(Capture).order_by(Capture.id)).all()
        assert not second.not_modified and second.status_code == 200
        assert second.final_url == site.url(path)
        assert second.body_sha256 != first.body_sha256 or target == "same article"
        expected = {"home": "deleted", "other article": "deleted",
                    "same article": "moved" if how in (301, 308) else "unchanged"}[target]
        assert second.verdict == expected, second.verdict_reason
        support = claim_report(Reader.of_session(session), "cameras").citations[0]
        if target == "same article":
            assert support.quote_status == "present" and support.support == "live"
        else:
            assert support.quote_status == "missing" and support.support != "live"
        warc = tmp_path / "export.warc.gz"
        write_warc(session, select_captures(session, source_ids=[source.id]), warc)
    with open(warc, "rb") as handle:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                    r.content_stream().read() if r.rec_type == "response" else b"")
                   for r in ArchiveIterator(handle)]
    assert not [r for r in records if r[0] == "revisit"]
    responses = {uri: payload for kind, uri, payload in records if kind == "response"}
    assert responses[url] == article(1).encode()
    served = site.pages[path].body
    assert responses[site.url(path)] == served


def test_a_redirected_capture_is_revalidated_at_its_final_address(site, config):
    """A source that ended at B after a redirect sends B's validators to B only; B's 304 keeps
    it unchanged, and the redirecting address never receives a condition."""
    sessions = open_database(config.database.url)
    start = site.redirect("/old.html", "/new.html", status=301)
    site.set("/new.html", article(4), etag='"n1"', last_modified=ARTICLE_STAMP)
    site.set("/", HOME, etag='"n1"', last_modified=SITE_STAMP)
    track(sessions, [start])
    run_pass(config, sessions, everything=True)
    site.requests.clear()
    summary = run_pass(config, sessions, everything=True)
    assert summary.counts["unchanged"] == 1 and summary.new_bodies == 0
    old, new = [r for r in site.requests if r["path"] in ("/old.html", "/new.html")]
    assert "If-None-Match" not in old["headers"] and new["headers"].get("If-None-Match") == '"n1"'
    with sessions() as session:
        last = session.scalars(select(Capture).order_by(Capture.id.desc())).first()
        assert last.not_modified and last.status_code == 304 and last.final_url == site.url("/new.html")
