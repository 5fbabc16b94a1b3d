"""Several workers on one database, as real processes: each source is captured exactly once per pass,
and the sources of a worker killed with SIGKILL are taken over by another once its leases run out.

Runs on SQLite and, with ARCHIVER_TEST_DATABASE_URL set, on PostgreSQL. The tests with real
worker processes are marked slow: each captures a few hundred pages (`pytest -m "not slow"` leaves
them out)."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from archiver.db import open_database
from archiver.models import Capture, Run, Source, utcnow
from archiver.queue import claim_sources
from archiver.sources import add_source
from tests.processes import captures, kill_hard, spawn_processes, wait_for, write_config

spawn = pytest.fixture(spawn_processes)

SOURCES = 300
KILL_SOURCES = 150
LEASE = 3.0
PAGE = """<html><head><title>Procurement notice {i}</title></head><body><nav>Home | Notices</nav>
<article><h1>Procurement notice {i}</h1>
<p>The public security bureau awarded tender {i} for video surveillance equipment and a cloud platform.</p>
<p>采购项目编号 {i}：视频监控设备及云平台建设，中标金额见附件。</p></article></body></html>"""


def serve_and_track(site, db_url: str, count: int, delay: float):
    sessions = open_database(db_url)
    with sessions.begin() as session:
        for i in range(count):
            add_source(session, site.set(f"/notice/{i}.html", PAGE.format(i=i), delay=delay))
    return sessions


def leased(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Source).where(Source.lease_owner.is_not(None)))


def pass_over(sessions, total: int) -> bool:
    """All `total` captures are stored and no source is leased: nothing is due, so nothing more can be captured."""
    return captures(sessions) >= total and leased(sessions) == 0


def worker_config(tmp_path, db_url: str, batch_size: int = 50, lease: float = LEASE):
    return write_config(
        tmp_path / "config.toml", db_url,
        fetch={"per_host_concurrency": 2},
        capture={"extract_workers": 2, "batch_size": batch_size},
        schedule={"lease_seconds": lease, "due_check_seconds": 0.3, "stop_grace_seconds": 5.0},
    )


def per_source(sessions) -> dict[int, int]:
    with sessions() as session:
        return dict(session.execute(select(Capture.source_id, func.count()).group_by(Capture.source_id)).all())


def by_worker(sessions) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(
            select(Run.worker, func.count(Capture.id)).join(Capture, Capture.run_id == Run.id).group_by(Run.worker)
        ).all())


def stop(*procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err


@pytest.mark.slow
def test_workers_capture_every_source_exactly_once_per_pass(site, tmp_path, db_url, spawn):
    sessions = serve_and_track(site, db_url, SOURCES, delay=0.02)
    config = worker_config(tmp_path, db_url)
    started = time.monotonic()
    workers = [spawn(config, "schedule"), spawn(config, "schedule"), spawn(config, "run", "--no-progress")]
    try:
        assert wait_for(lambda: pass_over(sessions, SOURCES), timeout=90)
        first_pass = time.monotonic() - started
        assert workers[2].wait(timeout=30) == 0, workers[2].stderr.read()
        assert per_source(sessions) == {i: 1 for i in range(1, SOURCES + 1)}
        first = by_worker(sessions)

        with sessions.begin() as session:
            session.execute(update(Source).values(next_due_at=utcnow()))
        started = time.monotonic()
        assert wait_for(lambda: pass_over(sessions, 2 * SOURCES), timeout=90)
        second_pass = time.monotonic() - started
        time.sleep(0.5)
    finally:
        stop(*workers)
    assert per_source(sessions) == {i: 2 for i in range(1, SOURCES + 1)}
    second = {w: n - first.get(w, 0) for w, n in by_worker(sessions).items() if n - first.get(w, 0)}
    print(f"\n{db_url.split(':')[0]}: pass 1 (new pages) {first_pass:.1f} s, captures per worker {sorted(first.values())}; "
          f"pass 2 (unchanged) {second_pass:.1f} s, {sorted(second.values())}")
    assert len(first) >= 2, f"the workers shared the first pass: {first}"
    assert len(second) == 2, f"both schedulers took a share of the second pass: {second}"


def worker_is(proc, name: str | None):
    return Run.worker == name if name else Run.worker.contains(f":{proc.pid}:")


def leases_of(sessions, proc, name: str | None) -> dict:
    owner = Source.lease_owner == name if name else Source.lease_owner.contains(f":{proc.pid}:")
    with sessions() as session:
        return dict(session.execute(select(Source.id, Source.lease_expires_at).where(owner)).all())


def _killed_worker_is_taken_over(
    spawn, site, tmp_path, db_url, name: str | None, lease: float = LEASE,
) -> tuple[float, float, float]:
    sessions = serve_and_track(site, db_url, KILL_SOURCES, delay=0.1)
    config = worker_config(tmp_path, db_url, batch_size=10, lease=lease)
    doomed = spawn(config, "schedule", *(["--worker", name] if name else []))
    try:
        # The doomed worker claims its first batch before the survivor starts, so a slow start of
        # either process on a loaded machine cannot leave the doomed one without work to orphan.
        assert wait_for(lambda: leases_of(sessions, doomed, name), timeout=30)
        survivor = spawn(config, "schedule")
        assert wait_for(lambda: captures(sessions) >= 30 and leases_of(sessions, doomed, name), timeout=30)
        before = leases_of(sessions, doomed, name)
        kill_hard(doomed)
        killed_at = utcnow()
        after = leases_of(sessions, doomed, name)
        with sessions() as session:
            by_doomed = set(session.scalars(
                select(Capture.source_id).join(Run, Capture.run_id == Run.id).where(worker_is(doomed, name))
            ))
        orphaned = {i: after.get(i, expiry) for i, expiry in before.items() if i not in by_doomed} | after
        assert orphaned, "the killed worker held leases on sources it had not captured"
        assert wait_for(lambda: pass_over(sessions, KILL_SOURCES), timeout=90)
        done_at = utcnow()
        assert per_source(sessions) == {i: 1 for i in range(1, KILL_SOURCES + 1)}
    finally:
        if "survivor" in locals():
            stop(survivor)
        if doomed.poll() is None:
            kill_hard(doomed)
    with sessions() as session:
        taken_over = dict(session.execute(
            select(Capture.source_id, Capture.started_at).where(Capture.source_id.in_(orphaned))
        ).all())
    assert set(taken_over) == set(orphaned)
    earliest = min(taken_over[i] - orphaned[i] for i in orphaned)
    first = min(taken_over.values()) - killed_at
    return earliest.total_seconds(), first.total_seconds(), (done_at - killed_at).total_seconds()


@pytest.mark.slow
def test_a_worker_on_another_machine_killed_mid_pass_is_taken_over_when_its_leases_run_out(site, tmp_path, db_url, spawn):
    early, first, finished = _killed_worker_is_taken_over(spawn, site, tmp_path, db_url, name="far-away-host:4242:a1b2c3")
    print(f"\n{db_url.split(':')[0]}, remote worker killed: its sources taken over {first:.1f} s after the kill, "
          f"at the earliest {early:+.1f} s after their lease expiry; pass over {finished:.1f} s after the kill")
    assert early >= -0.2, "no source was taken while its lease still ran"
    assert first < LEASE + 6, "taken over once the lease ran out (plus a due check, on a loaded machine)"


@pytest.mark.slow
def test_a_local_worker_killed_mid_pass_is_taken_over_at_once(site, tmp_path, sqlite_url, spawn):
    # A longer lease than the other tests: the point is that the survivor does not wait for it.
    early, first, finished = _killed_worker_is_taken_over(spawn, site, tmp_path, sqlite_url, name=None, lease=2 * LEASE)
    print(f"\nlocal worker killed: its sources taken over {first:.1f} s after the kill ({-early:.1f} s before "
          f"their leases would have run out); pass over {finished:.1f} s after the kill")
    assert early < 0, "a dead local process's leases are freed before they expire"
    assert first < 4 * LEASE, "taken over soon, without waiting for the leases to run out (early < 0 above)"


def test_a_source_captured_between_a_claims_select_and_its_update_is_not_claimed(sqlite_url):
    """The race behind a duplicate seen with three workers on SQLite: worker B picks its candidates,
    worker A stores its capture of one of them, then B's UPDATE runs. (On PostgreSQL the candidate
    rows are locked from the SELECT on, so A waits instead.)"""
    sessions = open_database(sqlite_url)
    with sessions.begin() as session:
        source_id = add_source(session, "http://example.org/notice.html")[0].id
    engine = sessions.kw["bind"]
    captured_meanwhile = []

    def other_worker_stores_its_capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE SOURCES") and not captured_meanwhile:
            captured_meanwhile.append(True)
            with sessions.begin() as other:
                other.execute(update(Source).where(Source.id == source_id)
                              .values(next_due_at=utcnow() + timedelta(hours=24), lease_owner=None))

    event.listen(engine, "before_cursor_execute", other_worker_stores_its_capture)
    try:
        with sessions() as session:
            claimed = claim_sources(session, "worker-b:1:abc", 10, LEASE)
    finally:
        event.remove(engine, "before_cursor_execute", other_worker_stores_its_capture)
    assert captured_meanwhile and claimed == []
    with sessions() as session:
        assert session.get(Source, source_id).lease_owner is None
