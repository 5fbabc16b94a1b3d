"""The Wayback Machine with the real capture pipeline: which captures are submitted, a drain
killed mid-queue, and a deleted page's quote recovered from an archived copy.

Everything is real: loopback web sites, the fake Wayback Machine, SQLite files, and for the
restart test a separate `archiver wayback drain` process killed with SIGKILL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select, text, update

from archiver import dates, plugins, submissions
from archiver import recover as rc
from archiver import wayback_queue as wq
from archiver.capture import run_pass
from archiver.events import wayback_copies
from archiver.models import Capture, Source, WaybackJob, utcnow
from archiver.quotes import check_quote
from archiver.readdb import Reader
from archiver.sources import add_source
from archiver.store import get_blob, get_text

# Their pages are served on loopback: in these tests, those count as public for the Wayback Machine.
pytestmark = pytest.mark.usefixtures("loopback_is_public")

ARTICLE = """<html><head><title>Report {n}</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Report {n}</h1>
<p>{lead} The company signed the agreement in the capital, officials said on Tuesday.</p>
<p>The project covers surveillance cameras, data centres and a command platform for the city police.</p>
<p>Critics said the contract lacked any public tender and raised human rights concerns in the region.</p>
</article><footer>Copyright 2019 Example News</footer></body></html>"""

QUOTE = "The project covers surveillance cameras, data centres and a command platform for the city police."


def article(n: int, lead: str = "") -> str:
    return ARTICLE.format(n=n, lead=lead or f"Paragraph {n} opens the story.")


@pytest.fixture
def wired(config, fake, sessions):
    """Config with Wayback submissions on, pointing at the fake; and an open database."""
    fake.configure(config.wayback)
    config.wayback.max_per_minute = 60000.0
    config.wayback.backoff_base = 0.05
    config.wayback.backoff_max = 0.5
    config.wayback.poll_interval = 0.02
    config.wayback.timeout = 5.0
    config.verdict.probe_not_found = False
    return config, sessions


def track(sessions, urls) -> None:
    with sessions.begin() as session:
        for url in urls:
            add_source(session, url)


def open_jobs(sessions) -> dict[str, str]:
    """URL -> reason of every job not yet done."""
    with sessions() as session:
        return dict(session.execute(select(WaybackJob.url, WaybackJob.reason).where(WaybackJob.status != "done")).all())


def captured_and_saved(sessions, config, urls) -> None:
    """Track `urls`, capture them, save them all to the (fake) Wayback Machine, capture them again."""
    track(sessions, urls)
    run_pass(config, sessions, everything=True)
    wq.drain(config, sessions)
    run_pass(config, sessions, everything=True)


def age_copies(sessions, config, urls) -> None:
    """Make the Wayback copies of `urls` older than resubmit_after_days."""
    old = dates.wayback_timestamp(utcnow() - timedelta(days=config.wayback.resubmit_after_days + 1))
    with sessions.begin() as session:
        session.execute(update(WaybackJob).where(WaybackJob.url.in_(urls)).values(wayback_timestamp=old))
        session.execute(update(Capture).where(Capture.requested_url.in_(urls)).values(wayback_timestamp=old))


@pytest.mark.slow
def test_only_new_and_altered_pages_are_submitted(site, wired, fake):
    config, sessions = wired
    urls = [site.set(f"/news/{i}.html", article(i)) for i in range(100)]
    track(sessions, urls)
    run_pass(config, sessions, everything=True)
    assert open_jobs(sessions) == {url: "new" for url in urls}
    assert wq.drain(config, sessions).done == 100

    changed = urls[5:100:10]
    for i, url in enumerate(urls):
        if url in changed:
            site.set(f"/news/{i}.html", article(i, lead=f"Updated: paragraph {i} was rewritten by the publisher."))
    added = site.set("/news/new.html", article(1000))
    track(sessions, [added])
    second = run_pass(config, sessions, everything=True)
    assert second.counts["altered"] == 10 and second.counts["unchanged"] == 90
    assert open_jobs(sessions) == {url: "altered" for url in changed} | {added: "new"}

    assert wq.drain(config, sessions).done == 11
    for url in urls:
        assert fake.captures[url] == (2 if url in changed else 1), url
    with sessions() as session:
        live = list(session.scalars(select(Capture).where(Capture.verdict.in_(("new", "altered")))))
        assert len(live) == 111
        unchanged = session.scalars(select(Capture).where(Capture.verdict == "unchanged")).all()
        copies = wayback_copies(Reader.of_session(session), [c.id for c in [*live, *unchanged]])
        assert all(copies[c.id][0].endswith(c.requested_url) for c in live)
        assert not any(c.id in copies for c in unchanged)


def test_unchanged_pages_go_again_once_their_copy_is_old(site, wired, fake):
    config, sessions = wired
    urls = [site.set(f"/s/{i}.html", article(i)) for i in range(4)]
    captured_and_saved(sessions, config, urls)
    assert open_jobs(sessions) == {}

    age_copies(sessions, config, urls[:1])
    run_pass(config, sessions, everything=True)
    assert open_jobs(sessions) == {urls[0]: "stale"}
    run_pass(config, sessions, everything=True)
    assert open_jobs(sessions) == {urls[0]: "stale"}, "a job already waiting is not queued twice"


def test_a_batch_asks_its_submission_questions_in_a_few_queries(site, wired, fake):
    """Whether each unchanged capture of a stored batch is due again (its newest copy, a recent
    refusal) is asked for the whole batch at once, with the same answers as one by one."""
    config, sessions = wired
    urls = [site.set(f"/b/{i}.html", article(i)) for i in range(30)]
    captured_and_saved(sessions, config, urls)
    age_copies(sessions, config, urls[:10])
    with sessions.begin() as session:
        session.execute(update(WaybackJob).where(WaybackJob.url.in_(urls[:3])).values(status="failed", updated_at=utcnow()))

    with sessions() as session:
        stored = [(source, session.get(Capture, source.last_capture_id))
                  for source in session.scalars(select(Source).order_by(Source.id))]
        assert {capture.verdict for _, capture in stored} == {"unchanged"}
        statements = []
        engine = session.get_bind()
        listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            reasons = submissions.submission_reasons(session, stored, config.wayback)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        one_by_one = [submissions.submission_reason(session, source, capture, config.wayback) for source, capture in stored]
    expected = {url: "stale" for url in urls[3:10]}
    assert {source.url: reason for (source, _), reason in zip(stored, reasons) if reason} == expected
    assert reasons == one_by_one
    assert len(statements) == 3


def test_a_waiting_job_follows_the_newest_capture(site, wired, fake):
    config, sessions = wired
    url = site.set("/w.html", article(1))
    track(sessions, [url])
    run_pass(config, sessions, everything=True)
    site.set("/w.html", article(1, lead="A new opening paragraph replaced the old one entirely."))
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        [job] = session.scalars(select(WaybackJob)).all()
        newest = session.scalar(select(Capture.id).order_by(Capture.id.desc()).limit(1))
        assert (job.reason, job.capture_id) == ("altered", newest)


def test_a_wayback_outage_never_blocks_local_captures(site, wired, fake):
    config, sessions = wired
    fake.stop()
    urls = [site.set(f"/o/{i}.html", article(i)) for i in range(3)]
    track(sessions, urls)
    summary = run_pass(config, sessions, everything=True)
    assert summary.counts["new"] == 3
    drained = wq.drain(config, sessions, max_wait=0)
    assert drained.deferred >= 1 and drained.done == 0
    with sessions() as session:
        jobs = session.scalars(select(WaybackJob)).all()
        assert len(jobs) == 3 and all(j.status == "pending" for j in jobs)
        assert any("cannot reach Save Page Now" in (j.last_error or "") for j in jobs)


def _drain_process(tmp_path, config) -> subprocess.Popen:
    wayback = config.wayback
    keys = f'access_key = "{wayback.access_key}"\nsecret_key = "{wayback.secret_key}"\n' if wayback.access_key else ""
    path = tmp_path / "drain.toml"
    path.write_text(
        f'[database]\nurl = "{config.database.url}"\n[wayback]\nenabled = true\n'
        f'save_url = "{wayback.save_url}"\nstatus_url = "{wayback.status_url}"\ncdx_url = "{wayback.cdx_url}"\n'
        f'availability_url = "{wayback.availability_url}"\nreplay_url = "{wayback.replay_url}"\n{keys}'
        f"max_per_minute = 6000.0\npoll_interval = 0.05\ntimeout = 10.0\n",
        encoding="utf-8",
    )
    return subprocess.Popen([sys.executable, "-m", "archiver", "--config", str(path), "wayback", "drain", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("keys", [False, True], ids=["anonymous", "spn2"])
def test_a_drain_killed_mid_queue_resumes_and_submits_each_page_once(tmp_path, site, wired, fake, keys):
    config, sessions = wired
    fake.configure(config.wayback, keys=keys)
    if keys:
        fake.job_seconds = 0.4
    else:
        fake.slow("save", 0.15, count=100)
    urls = [site.set(f"/k/{i}.html", article(i)) for i in range(10)]
    track(sessions, urls)
    run_pass(config, sessions, everything=True)

    process = _drain_process(tmp_path, config)
    deadline = time.monotonic() + 30
    while fake.save_requests.total() < 4 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    before = fake.save_requests.total()
    assert 4 <= before < 10
    with sessions() as session:
        statuses = set(session.scalars(select(WaybackJob.status)))
    assert {"pending", "running"} <= statuses, "killed with jobs still queued and one in flight"
    time.sleep(0.6)

    summary = wq.drain(config, sessions)
    assert summary.done + summary.claimed >= 10 - before
    with sessions() as session:
        jobs = session.scalars(select(WaybackJob)).all()
        assert len(jobs) == 10 and all(j.status == "done" for j in jobs), [(j.url, j.status, j.last_error) for j in jobs]
    assert all(fake.save_requests[url] == 1 for url in urls), fake.save_requests
    assert all(fake.captures[url] == 1 for url in urls)


# --- recovery -------------------------------------------------------------------------------


def cite(sessions, url: str, quote: str, accessed: str | None) -> None:
    """A claim citing `url` with a quote, written with plain SQL as any tool could."""
    now = utcnow().replace(tzinfo=None)
    with sessions.begin() as session:
        source_id = session.scalar(select(Source.id).where(Source.url == url))
        claim_id = f"claim-{source_id}-{accessed or 'undated'}"
        session.execute(text("INSERT INTO claims (id, text, tags, created_at, updated_at) "
                             "VALUES (:id, 'A cited claim', '[]', :now, :now)"), {"id": claim_id, "now": now})
        session.execute(text("INSERT INTO citations (claim_id, source_id, quote, accessed, created_at) "
                             "VALUES (:claim, :source, :quote, :accessed, :now)"),
                        {"claim": claim_id, "source": source_id, "quote": quote, "accessed": accessed, "now": now})


def delete_page(site, path: str) -> None:
    site.set(path, "<html><body><h1>404 Not Found</h1></body></html>", status=404)


def quote_checks(sessions, capture_id: int) -> list[str]:
    with sessions() as session:
        return list(session.scalars(text("SELECT status FROM quote_checks WHERE capture_id = :id"), {"id": capture_id}))


def test_a_deleted_cited_page_is_recovered_from_the_archive(site, wired, fake):
    config, sessions = wired
    url = site.set("/gov/notice.html", article(7))
    original = article(7).encode("utf-8")
    track(sessions, [url])
    run_pass(config, sessions, everything=True)
    wq.drain(config, sessions)
    [copy] = fake.snapshots_of(url)
    cite(sessions, url, QUOTE, date.today().isoformat())
    delete_page(site, "/gov/notice.html")
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        source = session.scalar(select(Source).where(Source.url == url))
        assert source.state == "deleted"
        source_id, captures_before = source.id, source.capture_count

    [result] = rc.recover_source(config, sessions, source_id)
    assert result.result == "recovered", result.message
    assert result.timestamp == copy.timestamp
    assert "closest to" in result.wanted
    with sessions() as session:
        source = session.get(Source, source_id)
        capture = session.get(Capture, result.capture_id)
        assert source.state == "deleted" and source.capture_count == captures_before
        assert capture.origin == "wayback" and capture.status_code == 200
        assert capture.wayback_timestamp == copy.timestamp
        assert capture.wayback_url == f"{fake.base_url}/web/{copy.timestamp}/{url}"
        assert capture.requested_url == f"{fake.base_url}/web/{copy.timestamp}id_/{url}"
        assert get_blob(session, capture.body_sha256) == original
        recovered_text = get_text(session, capture.text_sha256)
        assert capture.record_hash and capture.prev_hash
    assert "Wayback Machine toolbar" not in recovered_text
    assert check_quote(QUOTE, recovered_text).status == "present"
    if plugins.manager().hook.after_captures.get_hookimpls():
        assert quote_checks(sessions, result.capture_id) == ["present"]

    [again] = rc.recover_source(config, sessions, source_id)
    assert again.result == "already" and again.capture_id == result.capture_id


def test_recovery_takes_the_copy_closest_to_the_accessed_date(site, wired, fake):
    config, sessions = wired
    url = site.set("/gov/policy.html", article(8))
    track(sessions, [url])
    run_pass(config, sessions, everything=True)
    delete_page(site, "/gov/policy.html")
    run_pass(config, sessions, everything=True)
    fake.add_snapshot(url, article(8), "20190110080000")
    fake.add_snapshot(url, article(8, lead="The later version dropped the police paragraph."), "20200601080000")
    fake.add_snapshot(url, "<html><body>redirecting</body></html>", "20190201000000", status=302)
    cite(sessions, url, QUOTE, "2019-02-01")
    with sessions() as session:
        source_id = session.scalar(select(Source.id).where(Source.url == url))

    [result] = rc.recover_source(config, sessions, source_id)
    assert (result.result, result.timestamp) == ("recovered", "20190110080000")
    assert result.wanted == "closest to 2019-02-01 (accessed)"
    [chosen] = rc.recover_source(config, sessions, source_id, on_date=date(2020, 5, 1))
    assert (chosen.result, chosen.timestamp) == ("recovered", "20200601080000")


def test_recovery_without_a_date_takes_the_newest_copy_before_the_deletion(site, wired, fake):
    config, sessions = wired
    url = site.set("/gov/plan.html", "<html><body><p>placeholder</p></body></html>")
    track(sessions, [url])
    delete_page(site, "/gov/plan.html")
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        source = session.scalar(select(Source).where(Source.url == url))
        assert source.state == "deleted" and source.last_good_capture_id is None
        after_deletion = dates.wayback_timestamp(source.state_since + timedelta(days=1))
    fake.add_snapshot(url, article(9), "20180301000000")
    fake.add_snapshot(url, article(9, lead="Second edition of the plan."), "20190301000000")
    fake.add_snapshot(url, "<html><body>Page not found</body></html>", after_deletion)

    with sessions() as session:
        assert [s.url for s in rc.recovery_candidates(session)] == [url]
    [result] = rc.recover_source(config, sessions, source.id)
    assert (result.result, result.timestamp) == ("recovered", "20190301000000")
    assert result.wanted.startswith("newest before ")


def test_recovery_reports_a_page_the_archive_never_saw(site, wired, fake):
    config, sessions = wired
    url = site.set("/gov/never.html", "<p>x</p>")
    track(sessions, [url])
    with sessions() as session:
        source_id = session.scalar(select(Source.id))
    [result] = rc.recover_source(config, sessions, source_id)
    assert result.result == "none"
    assert result.message == "the Wayback Machine holds no copy that answered 200 of this page"
    fake.add_snapshot(url, "<p>x</p>", "20200101000000")
    fake.fail("replay", 503)
    [failed] = rc.recover_source(config, sessions, source_id)
    assert failed.result == "error" and "HTTP 503" in failed.message
    fake.fail("cdx", 503)
    [down] = rc.recover_source(config, sessions, source_id)
    assert down.result == "error" and "CDX server answered HTTP 503" in down.message


def test_recovered_chinese_page_keeps_its_encoding(site, wired, fake):
    config, sessions = wired
    quote = "云从科技将为津巴布韦的机场、火车站和汽车站提供人脸识别技术"
    html = ("<html><head><meta charset=\"gbk\"><title>云从科技签约</title></head><body><div class=\"article\">"
            "<h1>云从科技签约</h1><p>新华社广州电 云从科技与津巴布韦政府在广州签署战略合作框架协议。</p>"
            f"<p>根据协议，{quote}，并建立国家人脸数据库。</p></div></body></html>")
    url = site.set("/zh/1.html", "<p>placeholder</p>")
    track(sessions, [url])
    delete_page(site, "/zh/1.html")
    run_pass(config, sessions, everything=True)
    fake.add_snapshot(url, html.encode("gbk"), "20180415000000", content_type="text/html")
    with sessions() as session:
        source_id = session.scalar(select(Source.id))
    [result] = rc.recover_source(config, sessions, source_id)
    assert result.result == "recovered"
    with sessions() as session:
        capture = session.get(Capture, result.capture_id)
        assert capture.charset and capture.charset.lower() in ("gbk", "gb2312", "gb18030")
        assert check_quote(quote, get_text(session, capture.text_sha256)).status == "present"


def test_a_claim_on_a_page_already_dead_is_supported_through_the_archive(site, wired, fake):
    """The page was gone before we ever captured it; the Wayback Machine's copy carries the claim."""
    from archiver.readdb import Reader
    from evidence.report import claim_report

    config, sessions = wired
    url = site.set("/gov/dead.html", "<p>placeholder</p>")
    delete_page(site, "/gov/dead.html")
    track(sessions, [url])
    run_pass(config, sessions, everything=True)
    fake.add_snapshot(url, article(11), "20190420093000")
    cite(sessions, url, QUOTE, "2019-04-22")
    with sessions() as session:
        source_id = session.scalar(select(Source.id))
        claim_id = session.scalar(text("SELECT claim_id FROM citations"))
        assert claim_report(Reader.of_session(session), claim_id).citations[0].support != "archive"

    [result] = rc.recover_source(config, sessions, source_id)
    assert result.result == "recovered"
    with sessions() as session:
        [citation] = claim_report(Reader.of_session(session), claim_id).citations
    assert citation.support == "archive" and citation.state == "deleted"
    assert citation.best_capture.origin == "wayback" and citation.best_capture.id == result.capture_id
    assert citation.best_capture.wayback_url == f"{fake.base_url}/web/20190420093000/{url}"
