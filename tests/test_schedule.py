"""The unattended scheduler: cron and due-check passes over real loopback pages, the digest after a
pass, and a clean stop on SIGTERM in a real `archiver schedule` process."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from click.testing import CliRunner
from sqlalchemy import func, select, update

from archiver.capture import run_pass
from archiver.cli import main
from archiver.cli.app import console
from archiver.config import ScheduleConfig
from archiver.db import open_database
from archiver.models import Capture, Run, Source, utcnow
from archiver.schedule import (
    ScheduleError,
    Scheduler,
    cron_trigger,
    crontab_weekdays,
    pull_forward,
)
from archiver.sources import add_source
from evidence.models import Citation, Claim
from tests.processes import captures, spawn_processes, wait_for, write_config
from tests.receivers import Webhook

# Their pages are served on loopback: in these tests, those count as public for the Wayback Machine.
pytestmark = pytest.mark.usefixtures("loopback_is_public")

spawn = pytest.fixture(spawn_processes)

ARTICLE = """<html><head><title>Notice {i}</title></head><body><nav>Home | News</nav>
<article><h1>Notice {i}</h1><p>{lead} The bureau announced the award of contract number {i} for the city cameras.</p>
<p>The platform links cameras, checkpoints and the police database in one command centre.</p></article>
</body></html>"""


def page(i: int, lead: str = "") -> str:
    return ARTICLE.format(i=i, lead=lead)


def track(sessions, urls, **kwargs) -> list[int]:
    with sessions.begin() as session:
        sources = [add_source(session, url, **kwargs)[0] for url in urls]
        session.flush()
        return [s.id for s in sources]


def run_until(scheduler: Scheduler, condition, timeout: float = 10.0) -> None:
    """Run the scheduler in this thread's event loop until `condition()` holds, then stop it as SIGTERM would."""

    async def main():
        async def watch():
            deadline = time.monotonic() + timeout
            while not condition() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            scheduler.request_stop()

        watcher = asyncio.ensure_future(watch())
        await scheduler.run()
        await watcher

    asyncio.run(main())


@pytest.mark.parametrize("field, days", [
    ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"), ("*/2", "sun,tue,thu,sat"),
    ("sat,sun", "sun,sat"), ("5-7", "sun,fri,sat"), ("mon-wed", "mon,tue,wed"), ("*", "*"),
])
def test_crontab_weekdays_keep_their_cron_meaning(field, days):
    assert crontab_weekdays(field) == days


def test_cron_setting_becomes_a_trigger_in_its_time_zone():
    trigger = cron_trigger(ScheduleConfig(cron="30 3 * * 0", timezone="Asia/Shanghai"))
    start = datetime(2024, 5, 1, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, start)
    assert (fire.strftime("%A %H:%M"), fire.utcoffset()) == ("Sunday 03:30", timedelta(hours=8))
    assert fire.date().isoformat() == "2024-05-05"


@pytest.mark.parametrize("cron, tz, message", [
    ("0 2 * *", "UTC", "has 4 fields, cron needs 5"),
    ("61 2 * * *", "UTC", "not a valid cron expression"),
    ("0 2 * * 9", "UTC", "unknown weekday"),
    ("0 2 * * *", "Mars/Olympus", "not a known time zone"),
])
def test_bad_schedule_settings_are_clear_errors(cron, tz, message):
    with pytest.raises(ScheduleError, match=message):
        cron_trigger(ScheduleConfig(cron=cron, timezone=tz))


def test_bad_cron_stops_the_command_with_a_clear_message(tmp_path, sqlite_url, spawn):
    config = write_config(tmp_path / "config.toml", sqlite_url, schedule={"cron": "every night"})
    proc = spawn(config, "schedule")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "[schedule] cron 'every night' is not a valid cron expression" in err


def test_pull_forward_brings_in_what_falls_due_before_the_next_pass(config):
    sessions = open_database(config.database.url)
    now = utcnow()
    plan = {
        "late": (now - timedelta(hours=1), None, None),
        "daily-soon": (now + timedelta(hours=6), None, None),
        "daily-far": (now + timedelta(hours=13), None, None),
        "weekly-soon": (now + timedelta(hours=20), 168.0, None),
        "after-next-pass": (now + timedelta(hours=30), 168.0, None),
        "leased": (now + timedelta(hours=1), None, "other-host:99:abc"),
    }
    with sessions.begin() as session:
        for name, (due, hours, owner) in plan.items():
            source = add_source(session, f"http://example.org/{name}", interval_hours=hours)[0]
            source.next_due_at, source.lease_owner = due, owner
            source.lease_expires_at = now + timedelta(minutes=10) if owner else None
    with sessions() as session:
        assert pull_forward(session, now + timedelta(hours=24), 24.0) == 2
        due = {s.url.rsplit("/", 1)[1]: s.next_due_at for s in session.scalars(select(Source))}
    moved = {name for name, when in due.items() if when != plan[name][0]}
    assert moved == {"daily-soon", "weekly-soon"}
    assert all(due[name] <= utcnow() for name in moved)


def test_cron_trigger_a_few_seconds_out_runs_a_pass_and_sends_the_digest(site, config):
    hook = Webhook().start()
    try:
        config.notify.webhook_url = hook.url
        config.schedule.due_check_seconds = 0
        sessions = open_database(config.database.url)
        urls = [site.set(f"/notice/{i}.html", page(i)) for i in range(20)]
        ids = track(sessions, urls)
        with sessions.begin() as session:
            session.add(Claim(id="city-cameras-award", text="The bureau awarded the camera contract.", tags=[]))
            session.flush()
            session.add(Citation(claim_id="city-cameras-award", source_id=ids[3]))
        run_pass(config, sessions)
        site.set("/notice/3.html", page(3, "Correction: the award was cancelled."))
        with sessions.begin() as session:
            session.execute(update(Source).values(next_due_at=utcnow() + timedelta(hours=12)))
        fire_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        trigger = CronTrigger(hour=fire_at.hour, minute=fire_at.minute, second=fire_at.second, timezone=UTC)
        scheduler = Scheduler(config, sessions, trigger=trigger)
        run_until(scheduler, lambda: bool(scheduler.deliveries), timeout=30)
    finally:
        hook.stop()
    (summary,) = scheduler.summaries
    assert summary.total == 20 and summary.counts == {"unchanged": 19, "altered": 1}
    with sessions() as session:
        run = session.get(Run, summary.run_id)
    assert run.trigger == "cron" and run.status == "finished"
    assert run.started_at >= fire_at - timedelta(milliseconds=50), "the pass waited for its cron time"
    assert run.started_at < fire_at + timedelta(seconds=5)
    assert [d.ok for d in scheduler.deliveries[summary.run_id]] == [True]
    assert hook.posts[0]["sources"][0]["url"] == urls[3]
    assert "city-cameras-award" in hook.posts[0]["text"]


def test_due_check_takes_new_and_hourly_sources_between_nightly_passes(site, config):
    config.schedule.due_check_seconds = 0.5
    sessions = open_database(config.database.url)
    (hourly,) = track(sessions, [site.set("/hourly.html", page(1))], interval_hours=1.0)
    scheduler = Scheduler(config, sessions)
    steps = []

    def progress() -> bool:
        with sessions() as session:
            counts = dict(session.execute(select(Capture.source_id, func.count()).group_by(Capture.source_id)).all())
        if not steps and counts.get(hourly) == 1:
            steps.append("added")
            track(sessions, [site.set("/new.html", page(2))])
        elif steps == ["added"] and len(counts) == 2:
            steps.append("an hour later")
            with sessions.begin() as session:
                session.execute(update(Source).where(Source.id == hourly).values(next_due_at=utcnow() + timedelta(seconds=1)))
        return counts.get(hourly) == 2

    run_until(scheduler, progress, timeout=15)
    assert steps == ["added", "an hour later"]
    with sessions() as session:
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        per_source = dict(session.execute(select(Capture.source_id, func.count()).group_by(Capture.source_id)).all())
    assert per_source == {hourly: 2, hourly + 1: 1}
    assert len(runs) == 3, "checks that found nothing due recorded no run"
    assert {r.trigger for r in runs} == {"due-check"}
    assert all(a.ended_at <= b.started_at for a, b in zip(runs, runs[1:])), "passes never overlap"


def test_sigterm_mid_pass_exits_cleanly_and_the_next_start_continues(site, tmp_path, sqlite_url, spawn):
    # Long enough a pass (about 12 s) that a loaded machine cannot finish it before the signal.
    urls = [site.set(f"/slow/{i}.html", page(i), delay=0.2) for i in range(120)]
    sessions = open_database(sqlite_url)
    ids = track(sessions, urls)
    config = write_config(tmp_path / "config.toml", sqlite_url, fetch={"per_host_concurrency": 2},
                          capture={"extract_workers": 1}, verdict={"probe_not_found": False},
                          schedule={"stop_grace_seconds": 1.0})
    proc = spawn(config, "schedule")
    assert wait_for(lambda: captures(sessions) >= 6, timeout=20), proc.stderr.read() if proc.poll() is not None else ""
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert time.monotonic() - signalled < 6, "captures in flight get stop_grace_seconds, then are dropped"
    assert "stopping: finishing the captures in flight" in err

    with sessions() as session:
        first = session.scalars(select(Run)).one()
        done = session.scalar(select(func.count()).select_from(Capture))
        sources = list(session.scalars(select(Source)))
        assert first.status == "interrupted" and first.ended_at is not None
        assert first.counts["total"] == done
        assert 6 <= done < 120
        assert all(s.lease_owner is None for s in sources), "no lease is left behind"
        assert sum(s.capture_count for s in sources) == done, "every stored capture updated its source"
        assert all((s.last_capture_id is None) == (s.capture_count == 0) for s in sources)

    runs = spawn(config, "runs", "--json")
    listing = json.loads(runs.communicate(timeout=30)[0])
    assert listing[0]["status"] == "interrupted" and listing[0]["trigger"] == "due-check"
    assert listing[0]["counts"]["new"] == done and listing[0]["ended_at"] > listing[0]["started_at"]

    again = spawn(config, "schedule", "--once")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    with sessions() as session:
        per_source = dict(session.execute(select(Capture.source_id, func.count()).group_by(Capture.source_id)).all())
        second = session.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
    assert per_source == {i: 1 for i in ids}, "every source captured exactly once over the two runs"
    assert second.status == "finished" and second.trigger == "cron" and second.counts["total"] == 120 - done


def test_a_second_signal_drops_slow_captures_without_writing_them(site, tmp_path, sqlite_url, spawn):
    fast = [site.set(f"/fast/{i}.html", page(i)) for i in range(4)]
    slow = [site.set(f"/stuck/{i}.html", page(100 + i), delay=8) for i in range(3)]
    sessions = open_database(sqlite_url)
    track(sessions, fast + slow)
    config = write_config(tmp_path / "config.toml", sqlite_url, fetch={"per_host_concurrency": 8},
                          capture={"extract_workers": 1}, verdict={"probe_not_found": False},
                          schedule={"stop_grace_seconds": 30.0})
    proc = spawn(config, "schedule")
    assert wait_for(lambda: captures(sessions) == 4 and site.hits("/stuck/2.html") == 1, timeout=20)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert proc.poll() is None, "the first signal waits for the captures in flight"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "the captures still in flight are dropped" in err
    with sessions() as session:
        run = session.scalars(select(Run)).one()
        stuck = list(session.scalars(select(Source).where(Source.url.contains("/stuck/"))))
        assert run.status == "interrupted" and run.counts["total"] == 4
        assert captures(sessions) == 4
        assert all(s.capture_count == 0 and s.lease_owner is None and s.next_due_at <= utcnow() for s in stuck)


def test_stop_grace_runs_out_and_the_pass_is_abandoned(site, tmp_path, sqlite_url, spawn):
    site.set("/stuck.html", page(1), delay=8)
    sessions = open_database(sqlite_url)
    track(sessions, [site.url("/stuck.html")])
    config = write_config(tmp_path / "config.toml", sqlite_url, capture={"extract_workers": 1},
                          verdict={"probe_not_found": False}, schedule={"stop_grace_seconds": 0.5})
    proc = spawn(config, "schedule")
    assert wait_for(lambda: site.hits("/stuck.html") == 1, timeout=20)
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert time.monotonic() - signalled < 6, "the grace (0.5 s) runs out and the stuck capture (8 s) is dropped"
    with sessions() as session:
        assert session.scalars(select(Run)).one().status == "interrupted"
        assert session.scalars(select(Source)).one().lease_owner is None
    assert captures(sessions) == 0


def test_runs_lists_each_pass_with_its_counts_and_errors(site, config, tmp_path, monkeypatch):
    sessions = open_database(config.database.url)
    track(sessions, [site.set("/ok.html", page(1)), site.set("/down.html", "maintenance", status=503)])
    run_pass(config, sessions)
    path = write_config(tmp_path / "config.toml", config.database.url)
    with sessions.begin() as session:
        session.add(Run(started_at=utcnow(), ended_at=utcnow(), worker="elsewhere:1:abc", trigger="cron",
                        status="interrupted", counts={"total": 0}, error="the process running this pass stopped"))
    runner = CliRunner()
    listing = json.loads(runner.invoke(main, ["--config", str(path), "runs", "--json"]).output)
    assert [r["status"] for r in listing] == ["interrupted", "finished"]
    assert listing[1]["counts"] == {"new": 1, "unreachable": 1, "total": 2, "new_bodies": 2}
    assert listing[1]["errors"] == 1
    monkeypatch.setattr(console, "width", 200)
    table = runner.invoke(main, ["--config", str(path), "runs"]).output
    assert "interrupted" in table and "1 new, 1 unreachable" in table
    assert "the process running this pass stopped" in table


def test_the_wayback_queue_is_drained_on_its_interval_and_stops_with_the_scheduler(config):
    config.wayback.enabled = True
    config.schedule.due_check_seconds = 0
    config.schedule.wayback_interval_seconds = 0.2
    calls = []

    def drain(cfg, sessions, *, stop=None, max_wait=None):
        calls.append(max_wait)
        if len(calls) == 3:
            stop.wait(30)

    scheduler = Scheduler(config, open_database(config.database.url), wayback_drain=drain)
    started = time.monotonic()
    run_until(scheduler, lambda: len(calls) >= 3 and time.monotonic() - started > 1.0, timeout=10)
    assert time.monotonic() - started < 3, "a drain waiting for the next submission stops with the scheduler"
    assert calls == [0.2, 0.2, 0.2], "never two drains at once"


def test_a_run_from_cron_takes_sources_falling_due_within_the_hour(site, config, tmp_path):
    sessions = open_database(config.database.url)
    soon, later = track(sessions, [site.set("/soon.html", page(1)), site.set("/later.html", page(2))])
    with sessions.begin() as session:
        session.execute(update(Source).where(Source.id == soon).values(next_due_at=utcnow() + timedelta(minutes=10)))
        session.execute(update(Source).where(Source.id == later).values(next_due_at=utcnow() + timedelta(hours=2)))
    path = write_config(tmp_path / "config.toml", config.database.url)
    runner = CliRunner()
    done = json.loads(runner.invoke(main, ["--config", str(path), "run", "--json"]).output)
    assert done["total"] == 1 and per_source_ids(sessions) == {soon}
    strict = json.loads(runner.invoke(main, ["--config", str(path), "run", "--json", "--ahead", "0"]).output)
    assert strict["total"] == 0


def per_source_ids(sessions) -> set[int]:
    with sessions() as session:
        return set(session.scalars(select(Capture.source_id)))
