"""The Wayback submission queue: paced, leased, backed-off, and resumable after a restart.

`archiver.submissions` queues a job in `wayback_jobs` when a capture is new, altered, or its
last public copy is old. `drain` works the queue at `wayback.max_per_minute`, claims each job
with a lease (two drainers never submit the same job), backs off exponentially on 429, 5xx
and timeouts (honouring Retry-After, with jitter; a rate limit pauses the whole queue, in the
database), and writes the Wayback URL and timestamp on the job and, as a sealed "wayback" event
in the hash chain, about its capture (then anchors the chain head, archiver.anchors). A job whose
drain process died is taken over once its lease runs out (at once when the process is gone
from this machine): a submitted SPN2 job is polled again rather than submitted twice, and a
job cut off in the middle of its request is first looked up, so a copy that was made is not
made again. A Wayback outage never blocks or fails local captures.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from archiver import dates
from archiver.anchors import anchor_quietly
from archiver.chain import append_event
from archiver.config import Config, WaybackConfig
from archiver.models import Source, WaybackJob, utcnow
from archiver.queue import dead_local_owners, worker_name
from archiver.wayback import TAKEOVER_TOLERANCE, SaveAnswer, Snapshot, WaybackClient, WaybackError, parse_duration

log = logging.getLogger(__name__)


@dataclass
class DrainEvent:
    """One thing the drain did with one job, for the CLI and logs."""

    job_id: int
    url: str
    result: str
    detail: str = ""
    wayback_url: str | None = None

    def as_json(self) -> dict:
        return {"job": self.job_id, "url": self.url, "result": self.result, "detail": self.detail,
                "wayback_url": self.wayback_url}


@dataclass
class DrainSummary:
    """What one drain did."""

    claimed: int = 0
    submitted: int = 0
    done: int = 0
    deferred: int = 0
    failed: int = 0
    rate_limited: int = 0
    waited: float = 0.0
    stopped: str | None = None
    events: list[DrainEvent] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "claimed": self.claimed, "submitted": self.submitted, "done": self.done, "deferred": self.deferred,
            "failed": self.failed, "rate_limited": self.rate_limited, "waited_seconds": round(self.waited, 3),
            "stopped": self.stopped, "events": [e.as_json() for e in self.events],
        }


@dataclass
class _Claim:
    id: int
    url: str
    capture_id: int | None
    spn_job_id: str | None
    attempts: int
    takeover: bool
    previous_claim: datetime | None


@dataclass
class _Watch:
    claim: _Claim
    spn_job_id: str | None
    submitted_at: datetime
    next_poll: datetime


class _Pace:
    """The global pace: one submission per 60/max_per_minute seconds, and pauses after rate limits."""

    def __init__(self, config: WaybackConfig, rng: random.Random) -> None:
        self.config = config
        self.spacing = timedelta(seconds=60.0 / config.max_per_minute)
        self.rng = rng
        self.next_slot: datetime | None = None
        self.pause_until: datetime | None = None
        self.strikes = 0

    def ready_at(self) -> datetime | None:
        times = [t for t in (self.next_slot, self.pause_until) if t is not None]
        return max(times) if times else None

    def used(self, now: datetime) -> None:
        self.next_slot = now + self.spacing

    def backoff(self, n: int) -> float:
        """Seconds to wait after the n-th failure in a row: exponential, capped, with jitter."""
        base = min(self.config.backoff_max, self.config.backoff_base * 2 ** max(0, n - 1))
        return base * self.rng.uniform(1.0, 1.25)

    def slow_down(self, now: datetime, retry_after: float | None = None) -> datetime:
        """Pause every submission: at least Retry-After, else exponential in the strikes so far."""
        self.strikes += 1
        seconds = max(retry_after or 0.0, self.backoff(self.strikes))
        self.pause_until = max(self.pause_until or now, now + timedelta(seconds=seconds))
        return self.pause_until

    def recovered(self) -> None:
        self.strikes = 0


_PACES: dict[str, _Pace] = {}
_PACES_LOCK = threading.Lock()


def _pace_for(session_factory: sessionmaker, config: WaybackConfig, rng: random.Random) -> _Pace:
    """The pace of this process for one database, kept from one drain to the next (the scheduler
    drains every few seconds, and a pause or a run of rate limits must outlive a single drain)."""
    key = str(session_factory.kw["bind"].url)
    with _PACES_LOCK:
        pace = _PACES.get(key)
        if pace is None or pace.config is not config:
            previous = pace
            pace = _PACES[key] = _Pace(config, rng)
            if previous is not None:
                pace.next_slot, pace.pause_until, pace.strikes = previous.next_slot, previous.pause_until, previous.strikes
        return pace


def _hold_queue(session_factory: sessionmaker, until: datetime) -> None:
    """Make every waiting submission wait for the end of a pause, so other drains (and the next
    one in this process) respect it too."""
    with session_factory.begin() as session:
        session.execute(
            update(WaybackJob)
            .where(WaybackJob.status == "pending", WaybackJob.spn_job_id.is_(None), WaybackJob.next_attempt_at < until)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )


def _lease_seconds(config: WaybackConfig) -> float:
    return 2 * config.timeout + config.poll_timeout + 60.0


def _claimable(now: datetime, dead_owners: list[str]):
    stale_lease = WaybackJob.lease_expires_at < now
    if dead_owners:
        stale_lease = or_(stale_lease, WaybackJob.lease_owner.in_(dead_owners))
    return and_(
        or_(and_(WaybackJob.status == "pending", WaybackJob.next_attempt_at <= now),
            and_(WaybackJob.status == "running", stale_lease)),
        _not_withheld(),
    )


def _not_withheld():
    """Jobs of sources marked no-wayback are never sent (archiver.submissions withdraws them;
    this also holds for one queued by an older version or a concurrent writer)."""
    return ~exists().where(Source.id == WaybackJob.source_id, Source.no_wayback.is_(True))


def _dead_owners(session: Session) -> list[str]:
    owners = set(session.scalars(
        select(WaybackJob.lease_owner).where(WaybackJob.status == "running", WaybackJob.lease_owner.is_not(None)).distinct()
    ))
    return dead_local_owners(owners)


def _claim(session_factory: sessionmaker, worker: str, now: datetime, lease: float, *, resumable_only: bool) -> _Claim | None:
    with session_factory() as session:
        condition = _claimable(now, _dead_owners(session))
        if resumable_only:
            condition = and_(condition, WaybackJob.spn_job_id.is_not(None))
        candidates = list(session.scalars(
            select(WaybackJob).where(condition).order_by(WaybackJob.next_attempt_at, WaybackJob.id).limit(8)
        ))
        for job in candidates:
            owner_unchanged = (WaybackJob.lease_owner.is_(None) if job.lease_owner is None
                               else WaybackJob.lease_owner == job.lease_owner)
            taken = cast(CursorResult, session.execute(
                update(WaybackJob)
                .where(WaybackJob.id == job.id, WaybackJob.status == job.status, owner_unchanged)
                .values(status="running", lease_owner=worker, lease_expires_at=now + timedelta(seconds=lease), updated_at=now)
                .execution_options(synchronize_session=False)
            )).rowcount
            if taken == 1:
                session.commit()
                return _Claim(job.id, job.url, job.capture_id, job.spn_job_id, job.attempts,
                              takeover=job.status == "running", previous_claim=job.updated_at)
        session.commit()
    return None


def _next_due(session_factory: sessionmaker, now: datetime) -> datetime | None:
    """When the next job can be claimed: now if one is claimable, else the earliest pending attempt."""
    with session_factory() as session:
        if session.scalar(select(WaybackJob.id).where(_claimable(now, _dead_owners(session))).limit(1)) is not None:
            return now
        return session.scalar(select(func.min(WaybackJob.next_attempt_at))
                              .where(WaybackJob.status == "pending", _not_withheld()))


def _update_job(session_factory: sessionmaker, job_id: int, **values) -> None:
    with session_factory.begin() as session:
        session.execute(update(WaybackJob).where(WaybackJob.id == job_id).values(**values)
                        .execution_options(synchronize_session=False))


def _finish(session_factory: sessionmaker, claim: _Claim, timestamp: str, original: str, wayback_url: str,
            now: datetime, attempts: int, note: str | None = None) -> None:
    """Mark the job done and seal the copy's URL and timestamp into the chain as a "wayback" event
    about the capture it was queued for (the capture itself, sealed already, is not edited)."""
    with session_factory.begin() as session:
        job = session.get(WaybackJob, claim.id)
        job.status = "done"
        job.wayback_url = wayback_url
        job.wayback_timestamp = timestamp
        job.attempts = attempts
        job.last_error = note
        job.lease_owner = None
        job.lease_expires_at = None
        job.updated_at = now
        append_event(session, "wayback", source_id=job.source_id, capture_id=job.capture_id, payload={
            "wayback_url": wayback_url, "wayback_timestamp": timestamp, "original": original, "job_id": job.id,
            "reason": job.reason, "note": note})


def drain(
    config: Config,
    session_factory: sessionmaker,
    *,
    max_items: int | None = None,
    stop: threading.Event | None = None,
    max_wait: float | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] | None = None,
    client: WaybackClient | None = None,
    on_event: Callable[[DrainEvent], None] | None = None,
    rng: random.Random | None = None,
) -> DrainSummary:
    """Submit queued jobs to Save Page Now until none is due; return what happened.

    Waits out the pace, pauses and back-offs of jobs still queued, so a drain ends when every
    job is done or failed. max_items: take at most this many jobs from the queue. stop: a
    threading.Event that ends the drain between two requests. max_wait: return instead of
    sleeping longer than this many seconds (the jobs stay queued for the next drain). `now`
    and `sleep` are injectable so tests can run a whole night of back-off in a moment. Never
    raises for a Wayback failure: every failure is recorded on its job.
    """
    wb = config.wayback
    summary = DrainSummary()
    if not wb.enabled:
        summary.stopped = "Wayback submissions are off ([wayback] enabled = false)"
        return summary
    pause: Callable[[float], object] = sleep or (stop.wait if stop is not None else time.sleep)
    rng = rng or random.Random()
    own_client = client is None
    client = client or WaybackClient(wb)
    worker = worker_name()
    lease = _lease_seconds(wb)
    pace = _pace_for(session_factory, wb, rng)
    watching: dict[int, _Watch] = {}

    def event(claim: _Claim, result: str, detail: str = "", wayback_url: str | None = None) -> None:
        item = DrainEvent(claim.id, claim.url, result, detail, wayback_url)
        summary.events.append(item)
        log.info("wayback %s %s %s", result, claim.url, detail)
        if on_event:
            on_event(item)

    def done(claim: _Claim, timestamp: str, original: str | None, attempts: int, note: str | None = None) -> None:
        wayback_url = client.replay(timestamp, original or claim.url)
        _finish(session_factory, claim, timestamp, original or claim.url, wayback_url, now(), attempts, note)
        summary.done += 1
        event(claim, "done", note or "", wayback_url)

    def defer(claim: _Claim, until: datetime, message: str, attempts: int, keep_job_id: bool = True) -> None:
        values = dict(status="pending", next_attempt_at=until, last_error=message, attempts=attempts,
                      lease_owner=None, lease_expires_at=None, updated_at=now())
        if not keep_job_id:
            values["spn_job_id"] = None
        _update_job(session_factory, claim.id, **values)
        summary.deferred += 1
        event(claim, "deferred", f"{message}; next attempt {dates.when(until, seconds=True, utc=True)}")

    def give_up(claim: _Claim, message: str, attempts: int) -> None:
        _update_job(session_factory, claim.id, status="failed", last_error=message, attempts=attempts,
                    spn_job_id=None, lease_owner=None, lease_expires_at=None, updated_at=now())
        summary.failed += 1
        event(claim, "failed", message)

    def settle(claim: _Claim, answer: SaveAnswer, *, submitted_at: datetime | None = None) -> bool:
        """Act on an answer; False when the drain must stop (our keys or endpoints are wrong)."""
        t = now()
        watch = watching.pop(claim.id, None)
        attempts = claim.attempts
        if answer.outcome == "saved":
            pace.recovered()
            assert answer.timestamp is not None  # a saved copy always has its timestamp
            done(claim, answer.timestamp, answer.original, attempts, answer.message or None)
        elif answer.outcome == "accepted":
            pace.recovered()
            claim.spn_job_id = answer.job_id
            _update_job(session_factory, claim.id, spn_job_id=answer.job_id,
                        lease_expires_at=t + timedelta(seconds=lease))
            watching[claim.id] = _Watch(claim, answer.job_id, t, t + timedelta(seconds=wb.poll_interval))
            event(claim, "submitted", f"job {answer.job_id}")
        elif answer.outcome == "pending" and not claim.spn_job_id:
            attempts += 1
            defer(claim, t + timedelta(seconds=pace.backoff(attempts)),
                  "Save Page Now said the capture is pending but gave no job to follow", attempts)
        elif answer.outcome == "pending":
            started = watch.submitted_at if watch else (submitted_at or t)
            if (t - started).total_seconds() > wb.poll_timeout:
                defer(claim, t + timedelta(seconds=pace.backoff(1)),
                      f"the capture did not finish within {wb.poll_timeout:g} s; its job will be asked again", attempts)
            else:
                wait = max(wb.poll_interval, answer.retry_after or 0.0)
                _update_job(session_factory, claim.id, lease_expires_at=t + timedelta(seconds=lease))
                watching[claim.id] = _Watch(claim, claim.spn_job_id, started, t + timedelta(seconds=wait))
        elif answer.outcome == "rate_limited":
            summary.rate_limited += 1
            until = pace.slow_down(t, answer.retry_after)
            _hold_queue(session_factory, until)
            defer(claim, until, answer.message, attempts, keep_job_id=False)
        elif answer.outcome == "daily_cap":
            copy = _safe_newest(client, claim.url)
            if copy is not None and t - copy.archived_at < timedelta(days=1):
                done(claim, copy.timestamp, copy.original, attempts,
                     "already archived today (the daily limit per URL was reached)")
            else:
                defer(claim, t + timedelta(days=1), answer.message, attempts, keep_job_id=False)
        elif answer.outcome == "retry":
            attempts += 1
            until = t + timedelta(seconds=pace.backoff(attempts))
            if answer.outage:
                until = max(until, pace.slow_down(t))
                _hold_queue(session_factory, until)
            if attempts >= wb.max_attempts:
                give_up(claim, f"gave up after {attempts} attempts: {answer.message}", attempts)
            else:
                defer(claim, until, answer.message, attempts, keep_job_id=False)
        elif answer.outcome == "failed":
            give_up(claim, answer.message, attempts + 1)
        else:
            _update_job(session_factory, claim.id, status="pending", last_error=answer.message,
                        lease_owner=None, lease_expires_at=None, updated_at=t)
            summary.stopped = answer.message
            event(claim, "stopped", answer.message)
            return False
        return True

    def take(claim: _Claim) -> bool:
        summary.claimed += 1
        t = now()
        if claim.spn_job_id:
            watching[claim.id] = _Watch(claim, claim.spn_job_id, t, t)
            return True
        if claim.takeover:
            copy = _safe_newest(client, claim.url)
            since = (claim.previous_claim or t) - TAKEOVER_TOLERANCE
            if copy is not None and copy.archived_at >= since:
                done(claim, copy.timestamp, copy.original, claim.attempts,
                     "found the copy made before the previous drain was interrupted")
                return True
        window = parse_duration(wb.if_not_archived_within) if not client.authenticated else None
        if window is not None:
            copy = _safe_newest(client, claim.url)
            if copy is not None and copy.archived_at >= t - window:
                done(claim, copy.timestamp, copy.original, claim.attempts,
                     f"archived within {wb.if_not_archived_within} already (if_not_archived_within)")
                return True
        pace.used(t)
        summary.submitted += 1
        return settle(claim, client.save(claim.url), submitted_at=t)

    try:
        while True:
            if stop is not None and stop.is_set():
                summary.stopped = "stopped"
                break
            t = now()
            for watch in sorted(watching.values(), key=lambda w: w.next_poll):
                if watch.next_poll <= t:
                    if not settle(watch.claim, client.status(watch.spn_job_id or "")):
                        return summary
            room = len(watching) < max(1, wb.max_in_flight) and (max_items is None or summary.claimed < max_items)
            ready = pace.ready_at()
            if room:
                paced_out = ready is not None and ready > t
                claim = _claim(session_factory, worker, t, lease, resumable_only=paced_out)
                if claim is not None:
                    if not take(claim):
                        return summary
                    continue
            wake = [w.next_poll for w in watching.values()]
            if room:
                due = _next_due(session_factory, t)
                if due is not None:
                    wake.append(max(due, ready or due))
            if not wake:
                break
            delay = (min(wake) - now()).total_seconds()
            if max_wait is not None and delay > max_wait:
                summary.stopped = f"the next submission is due in {delay:.0f} s, more than the {max_wait:g} s allowed to wait"
                break
            if delay > 0:
                pause(delay)
                summary.waited += delay
    finally:
        for watch in watching.values():
            _update_job(session_factory, watch.claim.id, status="pending", next_attempt_at=now(),
                        lease_owner=None, lease_expires_at=None)
        if own_client:
            client.close()
        if summary.done:
            anchor_quietly(session_factory, config, "wayback drain")
    return summary


def _safe_newest(client: WaybackClient, url: str) -> Snapshot | None:
    try:
        return client.newest(url)
    except WaybackError as exc:
        log.info("availability look-up for %s failed: %s", url, exc)
        return None


def retry_failed(session: Session, source_ids: list[int] | None = None) -> int:
    """Put failed jobs back in the queue with a fresh attempt count; returns how many."""
    query = update(WaybackJob).where(WaybackJob.status == "failed", _not_withheld())
    if source_ids is not None:
        query = query.where(WaybackJob.source_id.in_(source_ids))
    return cast(CursorResult, session.execute(
        query.values(status="pending", attempts=0, next_attempt_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )).rowcount


def queue_status(session: Session, *, failures: int = 50) -> dict:
    """Counts of queued, running, done and failed jobs, the failures and the next attempt due."""
    counts = {status: 0 for status in ("pending", "running", "done", "failed")}
    counts.update(dict(session.execute(select(WaybackJob.status, func.count()).group_by(WaybackJob.status)).all()))
    failed = session.execute(
        select(WaybackJob.id, WaybackJob.url, WaybackJob.attempts, WaybackJob.last_error, WaybackJob.updated_at)
        .where(WaybackJob.status == "failed").order_by(WaybackJob.updated_at.desc()).limit(failures)
    ).all()
    retrying = session.execute(
        select(WaybackJob.id, WaybackJob.url, WaybackJob.attempts, WaybackJob.last_error, WaybackJob.next_attempt_at)
        .where(WaybackJob.status == "pending", WaybackJob.last_error.is_not(None))
        .order_by(WaybackJob.next_attempt_at).limit(failures)
    ).all()
    next_due = session.scalar(select(func.min(WaybackJob.next_attempt_at)).where(WaybackJob.status == "pending"))
    last_done = session.scalar(select(func.max(WaybackJob.updated_at)).where(WaybackJob.status == "done"))

    def iso(value):
        return value.isoformat() if value else None

    return {
        "counts": counts,
        "next_attempt_at": iso(next_due),
        "last_done_at": iso(last_done),
        "failures": [{"job": r.id, "url": r.url, "attempts": r.attempts, "error": r.last_error,
                      "failed_at": iso(r.updated_at)} for r in failed],
        "retrying": [{"job": r.id, "url": r.url, "attempts": r.attempts, "error": r.last_error,
                      "next_attempt_at": iso(r.next_attempt_at)} for r in retrying],
    }
