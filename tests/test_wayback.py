"""The Wayback Machine client and its queue, against a fake Wayback Machine on loopback.

The real client code runs unchanged: waybackpy for anonymous saves and the availability API,
httpx for Save Page Now 2 and the CDX server, the real queue in a real SQLite file. A fake
clock lets the back-off tests sit out hours of pauses in a moment.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from archiver import dates
from archiver import recover as rc
from archiver import wayback as wb
from archiver import wayback_queue as wq
from archiver.chain import add_captures
from archiver.db import open_database
from archiver.events import wayback_copies
from archiver.integrity import verify_store
from archiver.models import Capture, ChainEvent, WaybackJob, utcnow
from archiver.readdb import Reader
from archiver.sources import add_source

PAGE = "<html><head><title>Notice {n}</title></head><body><article><p>Notice number {n} of the bureau.</p></article></body></html>"


@pytest.fixture
def setup(config, fake, sessions):
    """Config pointing at the fake (anonymous, fast pace, short back-off) and an open database."""
    fake.configure(config.wayback)
    config.wayback.max_per_minute = 60000.0
    config.wayback.backoff_base = 0.05
    config.wayback.backoff_max = 1.0
    config.wayback.poll_interval = 0.02
    config.wayback.poll_timeout = 5.0
    config.wayback.timeout = 3.0
    return config, sessions


class FakeClock:
    """Time that passes only when the drain sleeps."""

    def __init__(self) -> None:
        self.t = utcnow()
        self.sleeps: list[float] = []

    def now(self):
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)


def queue(sessions, urls: list[str], *, with_capture: bool = False) -> list[int]:
    """Track each URL and queue a Wayback job for it (optionally tied to a stored capture)."""
    ids = []
    with sessions.begin() as session:
        for url in urls:
            source, _ = add_source(session, url)
            capture_id = None
            if with_capture:
                capture = Capture(source_id=source.id, origin="live", requested_url=source.url, status_code=200,
                                  verdict="new", started_at=utcnow())
                add_captures(session, [capture])
                capture_id = capture.id
            job = WaybackJob(source_id=source.id, capture_id=capture_id, url=source.url, reason="new", status="pending",
                             attempts=0, next_attempt_at=utcnow() - timedelta(seconds=1),
                             created_at=utcnow(), updated_at=utcnow())
            session.add(job)
            session.flush()
            ids.append(job.id)
    return ids


def jobs(sessions) -> list[WaybackJob]:
    with sessions() as session:
        return list(session.scalars(select(WaybackJob).order_by(WaybackJob.id)))


def pages(site, n: int) -> list[str]:
    return [site.set(f"/notice/{i}.html", PAGE.format(n=i)) for i in range(n)]


# --- the client ---------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["headers", "redirect", "job"])
def test_anonymous_save_finds_the_copy_in_each_answer_style(site, setup, fake, style):
    config, _ = setup
    fake.anonymous_style = style
    url = site.set("/a.html", PAGE.format(n=1))
    with wb.WaybackClient(config.wayback) as client:
        answer = client.save(url)
        if style == "job":
            assert answer.outcome == "accepted" and answer.job_id.startswith("spn2-")
            answer = client.status(answer.job_id)
    assert answer.outcome == "saved"
    assert answer.original == url and len(answer.timestamp) == 14
    assert fake.captures[url] == 1
    saves = [r for r in fake.requests if r["endpoint"] == "save"]
    assert saves[0]["method"] == "GET" and saves[0]["path"] == f"/save/{url}"
    assert saves[0]["headers"]["User-Agent"] == wb.USER_AGENT


def test_spn2_posts_with_keys_and_options_then_polls_the_job(site, setup, fake):
    config, _ = setup
    fake.configure(config.wayback, keys=True)
    fake.job_seconds = 0.3
    config.wayback.if_not_archived_within = "3d"
    url = site.set("/b.html", PAGE.format(n=2))
    with wb.WaybackClient(config.wayback) as client:
        accepted = client.save(url)
        assert accepted.outcome == "accepted"
        assert client.status(accepted.job_id).outcome == "pending"
        time.sleep(0.35)
        saved = client.status(accepted.job_id)
    assert saved.outcome == "saved" and saved.original == url
    post = next(r for r in fake.requests if r["endpoint"] == "save")
    assert post["method"] == "POST"
    assert post["headers"]["Authorization"] == f"LOW {fake.access_key}:{fake.secret_key}"
    assert post["headers"]["Accept"] == "application/json"
    assert fake.save_options[0]["url"] == url
    assert fake.save_options[0]["if_not_archived_within"] == "3d"


def test_http_failures_are_classified(site, setup, fake):
    config, _ = setup
    url = site.set("/c.html", PAGE.format(n=3))
    with wb.WaybackClient(config.wayback) as client:
        fake.fail("save", 429, retry_after=42)
        limited = client.save(url)
        fake.fail("save", 503)
        outage = client.save(url)
        fake.configure(config.wayback, keys=True)
        fake.fail("save", 429, retry_after=7)
        limited_spn2 = client.save(url)
        fake.fail("save", 502)
        outage_spn2 = client.save(url)
    assert (limited.outcome, limited.retry_after) == ("rate_limited", 42.0)
    assert (limited_spn2.outcome, limited_spn2.retry_after) == ("rate_limited", 7.0)
    assert outage.outcome == outage_spn2.outcome == "retry"
    assert outage.outage and "HTTP 503" in outage.message and "HTTP 502" in outage_spn2.message
    assert fake.captures[url] == 0


def test_waybackpy_does_not_retry_behind_our_back_on_http(site, setup, fake):
    """waybackpy mounts its retries for https only; over http (and with ours off) one attempt is one request."""
    config, _ = setup
    url = site.set("/d.html", PAGE.format(n=4))
    fake.fail("save", 500, count=3)
    with wb.WaybackClient(config.wayback) as client:
        assert client.save(url).outcome == "retry"
    assert fake.save_requests[url] == 1


def test_a_slow_answer_times_out_instead_of_hanging(site, setup, fake):
    config, _ = setup
    config.wayback.timeout = 0.3
    url = site.set("/e.html", PAGE.format(n=5))
    fake.slow("save", 1.5, count=2)
    with wb.WaybackClient(config.wayback) as client:
        started = time.monotonic()
        anonymous = client.save(url)
        fake.configure(config.wayback, keys=True)
        spn2 = client.save(url)
        elapsed = time.monotonic() - started
    assert anonymous.outcome == spn2.outcome == "retry"
    assert "did not answer within 0.3 s" in anonymous.message and "did not answer within 0.3 s" in spn2.message
    assert elapsed < 1.4


def test_spn2_errors_say_what_went_wrong(site, setup, fake):
    config, _ = setup
    fake.configure(config.wayback, keys=True)
    url = site.set("/f.html", PAGE.format(n=6))
    fake.spn_error(url, "error:no-access", "Target URL answered HTTP 403 (blocked outside China).")
    fake.spn_error(url, "error:too-many-daily-captures", "This URL has been already captured 10 times today.",
                   at_submit=True)
    fake.spn_error(url, "error:soft-time-limit-exceeded", "Capture duration exceeded 45s time limit.")
    with wb.WaybackClient(config.wayback) as client:
        capped = client.save(url)
        blocked = client.status(client.save(url).job_id)
        slow = client.status(client.save(url).job_id)
        unknown = client.status("spn2-no-such-job")
    assert capped.outcome == "daily_cap" and "10 times today" in capped.message
    assert blocked.outcome == "failed" and "error:no-access" in blocked.message and "blocked outside China" in blocked.message
    assert slow.outcome == "retry" and "error:soft-time-limit-exceeded" in slow.message
    assert unknown.outcome == "retry" and "no longer knows job" in unknown.message


def test_cdx_lookup_and_availability(setup, fake):
    config, _ = setup
    url = "http://www.gov.example.cn/art/2019/5/3/art_1.html"
    fake.add_snapshot(url, "<p>first</p>", "20190503101010")
    fake.add_snapshot(url.replace("http://", "https://"), "<p>second</p>", "20200101000000")
    fake.add_snapshot(url, "<p>gone</p>", "20210101000000", status=404)
    with wb.WaybackClient(config.wayback) as client:
        every = client.snapshots(url)
        ok = client.snapshots(url, ok_only=True)
        near = client.snapshots(url, closest="20191201", limit=1, ok_only=True)
        newest_ok = client.snapshots(url, until="2020", limit=-1, ok_only=True)
        none = client.snapshots("http://never.example/")
        newest = client.newest(url)
    assert [s.timestamp for s in every] == ["20190503101010", "20200101000000", "20210101000000"]
    assert [s.status for s in every] == [200, 200, 404]
    assert [s.timestamp for s in ok] == ["20190503101010", "20200101000000"]
    assert near[0].timestamp == "20200101000000"
    assert newest_ok[0].timestamp == "20200101000000"
    assert none == []
    assert newest.timestamp == "20200101000000"
    first = every[0]
    assert first.raw_url == f"{fake.base_url}/web/20190503101010id_/{url}"
    assert first.replay_url == f"{fake.base_url}/web/20190503101010/{url}"
    assert len(first.digest) == 32 and first.length == len("<p>first</p>")


def test_cdx_failure_is_an_error_not_an_empty_answer(setup, fake):
    config, _ = setup
    fake.add_snapshot("http://a.example/", "<p>x</p>", "20200101000000")
    fake.fail("cdx", 503)
    fake.fail("cdx", 429, retry_after=30)
    with wb.WaybackClient(config.wayback) as client:
        with pytest.raises(wb.WaybackError, match="HTTP 503"):
            client.snapshots("http://a.example/")
        with pytest.raises(wb.WaybackError, match="slow down.*30 s"):
            client.snapshots("http://a.example/")


def test_parse_accessed_dates():
    expected = {
        "2019-05-03": "2019-05-03", "2019/5/3": "2019-05-03", "20190503": "2019-05-03",
        "2019年5月3日": "2019-05-03", "3 May 2019": "2019-05-03", "May 3, 2019": "2019-05-03",
        "2019-05": "2019-05-01", "May 2019": "2019-05-01", "2019": "2019-01-01", "2019-05-03T08:00:00Z": "2019-05-03",
    }
    for raw, iso in expected.items():
        assert rc.parse_accessed(raw).isoformat() == iso, raw
    assert rc.parse_accessed("") is None
    assert rc.parse_accessed("last spring") is None
    assert rc.parse_accessed("2019-13-40") is None


# --- the queue ----------------------------------------------------------------------------


def test_drain_saves_every_job_and_seals_the_copy_as_an_event_about_its_capture(site, setup, fake):
    config, sessions = setup
    urls = pages(site, 5)
    queue(sessions, urls, with_capture=True)
    summary = wq.drain(config, sessions)
    assert (summary.claimed, summary.submitted, summary.done, summary.failed) == (5, 5, 5, 0)
    with sessions() as session:
        copies = wayback_copies(Reader.of_session(session), [job.capture_id for job in session.scalars(select(WaybackJob))])
        for job in session.scalars(select(WaybackJob)):
            capture = session.get(Capture, job.capture_id)
            assert job.status == "done" and job.lease_owner is None
            assert job.wayback_url == f"{fake.base_url}/web/{job.wayback_timestamp}/{job.url}"
            assert (capture.wayback_url, capture.wayback_timestamp) == (None, None), "the sealed capture is not edited"
            assert copies[capture.id] == (job.wayback_url, job.wayback_timestamp)
            event = session.scalar(select(ChainEvent).where(ChainEvent.capture_id == capture.id))
            assert (event.kind, event.source_id, event.payload["job_id"]) == ("wayback", job.source_id, job.id)
        assert verify_store(session).ok
    assert all(fake.captures[url] == 1 for url in urls)


def test_drain_keeps_the_configured_pace(site, setup, fake):
    config, sessions = setup
    config.wayback.max_per_minute = 300.0
    queue(sessions, pages(site, 5))
    wq.drain(config, sessions)
    times = fake.times_of("save")
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 5
    assert times[-1] - times[0] >= 0.78, gaps
    assert min(gaps) >= 0.12, gaps


def test_drain_paces_at_six_a_minute_by_the_clock(site, setup, fake):
    config, sessions = setup
    config.wayback.max_per_minute = 6.0
    queue(sessions, pages(site, 5))
    clock = FakeClock()
    summary = wq.drain(config, sessions, now=clock.now, sleep=clock.sleep)
    assert summary.done == 5
    assert sum(clock.sleeps) == pytest.approx(40.0, abs=0.5)
    assert all(s == pytest.approx(10.0, abs=0.1) for s in clock.sleeps if s > 1)


def test_a_burst_of_429s_delays_submissions_and_loses_none(site, setup, fake):
    config, sessions = setup
    config.wayback.backoff_base = 10.0
    config.wayback.backoff_max = 3600.0
    urls = pages(site, 4)
    queue(sessions, urls)
    fake.fail("save", 429, count=6, retry_after=120)
    clock = FakeClock()
    summary = wq.drain(config, sessions, now=clock.now, sleep=clock.sleep)
    assert summary.rate_limited == 6
    assert summary.done == 4 and summary.failed == 0
    assert all(job.status == "done" and job.attempts == 0 for job in jobs(sessions))
    assert all(fake.captures[url] == 1 for url in urls)
    assert sum(1 for s in clock.sleeps if s >= 120) >= 6
    assert sum(clock.sleeps) >= 6 * 120


def test_rate_limits_without_retry_after_back_off_exponentially(site, setup, fake):
    config, sessions = setup
    config.wayback.backoff_base = 60.0
    config.wayback.backoff_max = 6 * 3600.0
    queue(sessions, pages(site, 1))
    fake.fail("save", 429, count=4)
    clock = FakeClock()
    wq.drain(config, sessions, now=clock.now, sleep=clock.sleep)
    pauses = [s for s in clock.sleeps if s > 1]
    assert len(pauses) == 4
    for n, pause in enumerate(pauses, start=1):
        assert 60.0 * 2 ** (n - 1) <= pause <= 60.0 * 2 ** (n - 1) * 1.25 + 0.01
    assert jobs(sessions)[0].status == "done"


def test_an_outage_fails_jobs_only_after_max_attempts(site, setup, fake):
    config, sessions = setup
    config.wayback.max_attempts = 3
    config.wayback.backoff_base = 60.0
    config.wayback.backoff_max = 3600.0
    urls = pages(site, 2)
    queue(sessions, urls)
    fake.fail("save", 503, count=100)
    clock = FakeClock()
    summary = wq.drain(config, sessions, now=clock.now, sleep=clock.sleep)
    assert summary.failed == 2
    for job in jobs(sessions):
        assert job.status == "failed" and job.attempts == 3
        assert job.last_error == "gave up after 3 attempts: Save Page Now is failing (HTTP 503)"
    assert sum(fake.save_requests[url] for url in urls) == 6
    assert sum(clock.sleeps) > 60


def test_max_wait_leaves_long_pauses_for_the_next_drain(site, setup, fake):
    config, sessions = setup
    config.wayback.backoff_base = 10.0
    queue(sessions, pages(site, 2))
    fake.fail("save", 429, retry_after=600)
    summary = wq.drain(config, sessions, max_wait=60, sleep=lambda s: pytest.fail("must not sleep"))
    assert summary.rate_limited == 1 and summary.done == 0
    assert "more than the 60 s allowed" in summary.stopped
    assert [j.status for j in jobs(sessions)] == ["pending", "pending"]
    assert all(j.lease_owner is None for j in jobs(sessions))
    assert all(j.next_attempt_at >= utcnow() + timedelta(seconds=590) for j in jobs(sessions)), "the pause holds every job"
    again = wq.drain(config, sessions, max_wait=60, sleep=lambda s: pytest.fail("must not sleep"))
    assert again.claimed == 0 and fake.save_requests.total() == 1


def test_max_items_takes_only_that_many_jobs(site, setup, fake):
    config, sessions = setup
    queue(sessions, pages(site, 5))
    summary = wq.drain(config, sessions, max_items=2)
    assert summary.claimed == 2
    assert sorted(j.status for j in jobs(sessions)) == ["done", "done", "pending", "pending", "pending"]


def test_spn2_jobs_are_followed_until_they_finish(site, setup, fake):
    config, sessions = setup
    fake.configure(config.wayback, keys=True)
    fake.job_seconds = 0.2
    urls = pages(site, 6)
    queue(sessions, urls, with_capture=True)
    summary = wq.drain(config, sessions)
    assert summary.done == 6
    for job in jobs(sessions):
        assert job.status == "done" and job.spn_job_id.startswith("spn2-")
        assert job.wayback_timestamp == fake.snapshots_of(job.url)[0].timestamp
    assert all(fake.captures[url] == 1 for url in urls)
    statuses = [r for r in fake.requests if r["endpoint"] == "status"]
    assert len(statuses) > 6


def test_wrong_keys_stop_the_drain_and_keep_the_jobs(site, setup, fake):
    config, sessions = setup
    fake.configure(config.wayback, keys=True)
    config.wayback.secret_key = "wrong"
    queue(sessions, pages(site, 3))
    summary = wq.drain(config, sessions)
    assert "refused the S3 keys (HTTP 401)" in summary.stopped
    assert summary.claimed == 1
    assert all(j.status == "pending" and j.attempts == 0 and j.lease_owner is None for j in jobs(sessions))


def test_a_page_the_wayback_machine_cannot_reach_fails_at_once(site, setup, fake):
    config, sessions = setup
    fake.configure(config.wayback, keys=True)
    url = site.set("/gone.html", "<p>x</p>")
    queue(sessions, [url])
    fake.spn_error(url, "error:no-access", "Target URL answered HTTP 403.")
    summary = wq.drain(config, sessions)
    job = jobs(sessions)[0]
    assert summary.failed == 1 and job.status == "failed" and job.attempts == 1
    assert job.last_error == ("the Wayback Machine could not archive the page: "
                              "error:no-access: Target URL answered HTTP 403.")


def test_the_daily_cap_counts_todays_copy_as_done(site, setup, fake):
    config, sessions = setup
    fake.configure(config.wayback, keys=True)
    url = site.set("/busy.html", PAGE.format(n=9))
    fake.add_snapshot(url, PAGE.format(n=9), dates.wayback_timestamp(utcnow() - timedelta(hours=2)))
    fake.daily_cap = 0
    queue(sessions, [url])
    summary = wq.drain(config, sessions)
    job = jobs(sessions)[0]
    assert summary.done == 1 and job.status == "done"
    assert "daily limit" in job.last_error
    assert fake.captures[url] == 0


def test_anonymous_if_not_archived_within_skips_recent_copies(site, setup, fake):
    config, sessions = setup
    config.wayback.if_not_archived_within = "2d"
    fresh, old = site.set("/fresh.html", "<p>f</p>"), site.set("/old.html", "<p>o</p>")
    fake.add_snapshot(fresh, "<p>f</p>", dates.wayback_timestamp(utcnow() - timedelta(days=1)))
    fake.add_snapshot(old, "<p>o</p>", dates.wayback_timestamp(utcnow() - timedelta(days=5)))
    queue(sessions, [fresh, old])
    summary = wq.drain(config, sessions)
    assert summary.done == 2 and summary.submitted == 1
    assert fake.save_requests[fresh] == 0 and fake.captures[old] == 1


def test_a_job_left_running_by_a_dead_drain_is_not_saved_twice(site, setup, fake):
    """Killed after Save Page Now made the copy but before the answer was stored: look it up, don't resubmit."""
    config, sessions = setup
    url = site.set("/x.html", PAGE.format(n=7))
    [job_id] = queue(sessions, [url])
    claimed_at = utcnow() - timedelta(seconds=5)
    with sessions.begin() as session:
        job = session.get(WaybackJob, job_id)
        job.status, job.lease_owner = "running", "gone-host:999999:abcdef"
        job.lease_expires_at, job.updated_at = claimed_at - timedelta(seconds=1), claimed_at
    fake.add_snapshot(url, PAGE.format(n=7), dates.wayback_timestamp(claimed_at + timedelta(seconds=2)))
    summary = wq.drain(config, sessions)
    assert summary.done == 1 and summary.submitted == 0
    assert fake.save_requests[url] == 0
    assert "interrupted" in jobs(sessions)[0].last_error


def test_a_submitted_spn2_job_is_polled_again_after_a_restart(site, setup, fake):
    config, sessions = setup
    fake.configure(config.wayback, keys=True)
    url = site.set("/y.html", PAGE.format(n=8))
    with wb.WaybackClient(config.wayback) as client:
        accepted = client.save(url)
    [job_id] = queue(sessions, [url])
    with sessions.begin() as session:
        job = session.get(WaybackJob, job_id)
        job.status, job.spn_job_id, job.lease_owner = "running", accepted.job_id, "gone-host:999999:abcdef"
        job.lease_expires_at = utcnow() - timedelta(seconds=1)
    summary = wq.drain(config, sessions)
    assert summary.done == 1 and summary.submitted == 0
    assert fake.save_requests[url] == 1
    assert jobs(sessions)[0].wayback_timestamp == fake.snapshots_of(url)[0].timestamp


def test_a_live_lease_is_respected(site, setup, fake):
    config, sessions = setup
    [job_id] = queue(sessions, pages(site, 1))
    with sessions.begin() as session:
        job = session.get(WaybackJob, job_id)
        job.status, job.lease_owner = "running", "other-host:1:abcdef"
        job.lease_expires_at = utcnow() + timedelta(minutes=5)
    summary = wq.drain(config, sessions)
    assert summary.claimed == 0 and fake.save_requests.total() == 0


def test_two_drains_at_once_submit_each_job_once(site, setup, fake):
    config, sessions = setup
    config.wayback.max_per_minute = 3000.0
    urls = pages(site, 20)
    queue(sessions, urls)
    fake.slow("save", 0.01, count=40)
    summaries = []

    def run():
        summaries.append(wq.drain(config, open_database(config.database.url)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(s.done for s in summaries) == 20
    assert all(fake.save_requests[url] == 1 for url in urls)
    assert all(job.status == "done" for job in jobs(sessions))


def test_stop_event_ends_the_drain_between_requests(site, setup, fake):
    config, sessions = setup
    config.wayback.max_per_minute = 60.0
    queue(sessions, pages(site, 3))
    stop = threading.Event()

    def first_done(event: wq.DrainEvent) -> None:
        if event.result == "done":
            threading.Timer(0.05, stop.set).start()  # set from another thread, while the drain waits out the pace

    started = time.monotonic()
    summary = wq.drain(config, sessions, stop=stop, on_event=first_done)
    assert time.monotonic() - started < 30, "the pace (one a second) is not waited out for the other two jobs"
    assert summary.waited < 2
    assert summary.stopped == "stopped" and summary.done == 1
    assert sorted(j.status for j in jobs(sessions)) == ["done", "pending", "pending"]


def test_retry_failed_and_queue_status(site, setup, fake):
    config, sessions = setup
    config.wayback.max_attempts = 1
    urls = pages(site, 3)
    queue(sessions, urls)
    fake.fail("save", 500, count=2)
    wq.drain(config, sessions)
    with sessions() as session:
        status = wq.queue_status(session)
    assert status["counts"] == {"pending": 0, "running": 0, "done": 1, "failed": 2}
    assert {f["url"] for f in status["failures"]} == set(urls[:2])
    assert all("HTTP 500" in f["error"] for f in status["failures"])
    with sessions.begin() as session:
        assert wq.retry_failed(session) == 2
    wq.drain(config, sessions)
    with sessions() as session:
        assert wq.queue_status(session)["counts"]["done"] == 3


def test_disabled_wayback_drains_nothing(site, setup, fake):
    config, sessions = setup
    config.wayback.enabled = False
    queue(sessions, pages(site, 1))
    summary = wq.drain(config, sessions)
    assert summary.claimed == 0 and "enabled = false" in summary.stopped


# --- the drain's stages, one at a time ----------------------------------------------------


def claimed(config, sessions, drainer: wq.Drain) -> wq._Claim:
    claim = wq._claim(sessions, drainer.worker, drainer.now(), drainer.lease, resumable_only=False)
    assert claim is not None
    return claim


def test_settle_hands_each_answer_to_its_outcome(site, setup, fake):
    config, sessions = setup
    queue(sessions, pages(site, 3))
    clock = FakeClock()
    drainer = wq.Drain(config, sessions, now=clock.now, sleep=clock.sleep)
    try:
        limited, accepted, refused = (claimed(config, sessions, drainer) for _ in range(3))
        assert drainer.settle(limited, wb.SaveAnswer("rate_limited", "slow down", retry_after=120.0))
        assert drainer.settle(accepted, wb.SaveAnswer("accepted", job_id="spn2-abc"))
        assert not drainer.settle(refused, wb.SaveAnswer("refused", "the keys were refused"))
    finally:
        drainer.release()
    assert drainer.summary.rate_limited == 1 and drainer.summary.deferred == 1
    assert drainer.summary.stopped == "the keys were refused"
    assert [e.result for e in drainer.summary.events] == ["deferred", "submitted", "stopped"]
    by_id = {j.id: j for j in jobs(sessions)}
    assert by_id[limited.id].status == "pending" and by_id[limited.id].spn_job_id is None
    assert by_id[limited.id].next_attempt_at >= clock.t + timedelta(seconds=119)
    assert by_id[accepted.id].spn_job_id == "spn2-abc", "released for the next drain to poll"
    assert by_id[refused.id].last_error == "the keys were refused" and by_id[refused.id].lease_owner is None
    assert fake.save_requests.total() == 0, "settle acts on answers; it never calls Save Page Now"


def test_take_watches_a_job_submitted_already_instead_of_saving_it_again(site, setup, fake):
    config, sessions = setup
    [job_id] = queue(sessions, pages(site, 1))
    with sessions.begin() as session:
        session.get(WaybackJob, job_id).spn_job_id = "spn2-earlier"
    drainer = wq.Drain(config, sessions)
    try:
        assert drainer.take(claimed(config, sessions, drainer))
        assert list(drainer.watching) == [job_id] and drainer.watching[job_id].spn_job_id == "spn2-earlier"
    finally:
        drainer.release()
    assert drainer.summary.claimed == 1 and drainer.summary.submitted == 0
    assert fake.save_requests.total() == 0
    assert jobs(sessions)[0].status == "pending", "release gives a watched job back"


def test_wait_sleeps_until_the_next_due_job_or_leaves_it_to_the_next_drain(site, setup, fake):
    config, sessions = setup
    [job_id] = queue(sessions, pages(site, 1))
    clock = FakeClock()
    with sessions.begin() as session:
        session.get(WaybackJob, job_id).next_attempt_at = clock.t + timedelta(seconds=30)
    patient = wq.Drain(config, sessions, now=clock.now, sleep=clock.sleep)
    assert patient.wait(clock.t) and 29 < sum(clock.sleeps) <= 30
    hurried = wq.Drain(config, sessions, now=clock.now, sleep=clock.sleep, max_wait=10)
    with sessions.begin() as session:
        session.get(WaybackJob, job_id).next_attempt_at = clock.t + timedelta(hours=2)
    assert not hurried.wait(clock.t)
    assert "more than the 10 s allowed" in hurried.summary.stopped
    for drainer in (patient, hurried):
        drainer.release()
    with sessions.begin() as session:
        session.get(WaybackJob, job_id).status = "done"
    assert not wq.Drain(config, sessions, now=clock.now, sleep=clock.sleep).wait(clock.t), "nothing left to wait for"
