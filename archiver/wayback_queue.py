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
    if not config.wayback.enabled:
        return DrainSummary(stopped="Wayback submissions are off ([wayback] enabled = false)")
    return Drain(config, session_factory, max_items=max_items, stop=stop, max_wait=max_wait, now=now, sleep=sleep,
                 client=client, on_event=on_event, rng=rng).run()


class Drain:
    """One drain of the Wayback queue (see `drain`), its stages each a method.

    `run` loops over three stages until nothing is left to do: `poll` (ask Save Page Now about
    the jobs it accepted, whose next poll is due), `claim` (lease the next due job and `take` it:
    look for a copy made already, else submit it) and `wait` (sleep until the next poll or the
    next due job, within the pace). Every answer goes through `settle`, which hands it to the
    method named for its outcome (`saved`, `accepted`, `pending`, ...); those end a job with
    `done`, `defer` or `give_up`. `release` gives back the jobs still watched when the drain ends.
    """

    def __init__(
        self,
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
    ) -> None:
        self.config = config
        self.wb = config.wayback
        self.sessions = session_factory
        self.max_items = max_items
        self.stop = stop
        self.max_wait = max_wait
        self.now = now
        self.sleep: Callable[[float], object] = sleep or (stop.wait if stop is not None else time.sleep)
        self.own_client = client is None
        self.client = client or WaybackClient(self.wb)
        self.on_event = on_event
        self.worker = worker_name()
        self.lease = _lease_seconds(self.wb)
        self.pace = _pace_for(session_factory, self.wb, rng or random.Random())
        self.summary = DrainSummary()
        self.watching: dict[int, _Watch] = {}

    def run(self) -> DrainSummary:
        """Drain until no job is due, the stop is set, or a refusal; returns what was done."""
        try:
            while True:
                if self.stop is not None and self.stop.is_set():
                    self.summary.stopped = "stopped"
                    break
                t = self.now()
                if not self.poll(t):
                    break
                claimed = self.claim(t)
                if claimed is None:
                    continue
                if not claimed or not self.wait(t):
                    break
        finally:
            self.release()
        return self.summary

    @property
    def room(self) -> bool:
        """Whether another job may be taken: fewer than max_in_flight watched, max_items not reached."""
        return len(self.watching) < max(1, self.wb.max_in_flight) and (
            self.max_items is None or self.summary.claimed < self.max_items)

    def poll(self, t: datetime) -> bool:
        """Ask for the status of each watched job whose poll is due; False when the drain must stop."""
        for watch in sorted(self.watching.values(), key=lambda w: w.next_poll):
            if watch.next_poll <= t and not self.settle(watch.claim, self.client.status(watch.spn_job_id or "")):
                return False
        return True

    def claim(self, t: datetime) -> bool | None:
        """Lease the next due job and take it (None: one was taken, go round again); when the pace
        says wait, only a job already submitted (to poll) is taken. False when the drain must stop."""
        if not self.room:
            return True
        ready = self.pace.ready_at()
        paced_out = ready is not None and ready > t
        claim = _claim(self.sessions, self.worker, t, self.lease, resumable_only=paced_out)
        if claim is None:
            return True
        return None if self.take(claim) else False

    def wait(self, t: datetime) -> bool:
        """Sleep until the next poll or due job; False when there is none, or it is further than max_wait."""
        wake = [w.next_poll for w in self.watching.values()]
        if self.room:
            due = _next_due(self.sessions, t)
            if due is not None:
                wake.append(max(due, self.pace.ready_at() or due))
        if not wake:
            return False
        delay = (min(wake) - self.now()).total_seconds()
        if self.max_wait is not None and delay > self.max_wait:
            self.summary.stopped = (f"the next submission is due in {delay:.0f} s, "
                                    f"more than the {self.max_wait:g} s allowed to wait")
            return False
        if delay > 0:
            self.sleep(delay)
            self.summary.waited += delay
        return True

    def release(self) -> None:
        """Give back the jobs still watched (the next drain polls them), close our client, anchor."""
        for watch in self.watching.values():
            _update_job(self.sessions, watch.claim.id, status="pending", next_attempt_at=self.now(),
                        lease_owner=None, lease_expires_at=None)
        if self.own_client:
            self.client.close()
        if self.summary.done:
            anchor_quietly(self.sessions, self.config, "wayback drain")

    def take(self, claim: _Claim) -> bool:
        """Work on a claimed job: watch it when submitted already, close it when a recent copy
        exists (made before an interrupted drain, or within if_not_archived_within), else submit it."""
        self.summary.claimed += 1
        t = self.now()
        if claim.spn_job_id:
            self.watching[claim.id] = _Watch(claim, claim.spn_job_id, t, t)
            return True
        if claim.takeover:
            copy = _safe_newest(self.client, claim.url)
            since = (claim.previous_claim or t) - TAKEOVER_TOLERANCE
            if copy is not None and copy.archived_at >= since:
                self.done(claim, copy.timestamp, copy.original, claim.attempts,
                          "found the copy made before the previous drain was interrupted")
                return True
        window = parse_duration(self.wb.if_not_archived_within) if not self.client.authenticated else None
        if window is not None:
            copy = _safe_newest(self.client, claim.url)
            if copy is not None and copy.archived_at >= t - window:
                self.done(claim, copy.timestamp, copy.original, claim.attempts,
                          f"archived within {self.wb.if_not_archived_within} already (if_not_archived_within)")
                return True
        self.pace.used(t)
        self.summary.submitted += 1
        return self.settle(claim, self.client.save(claim.url), submitted_at=t)

    def settle(self, claim: _Claim, answer: SaveAnswer, *, submitted_at: datetime | None = None) -> bool:
        """Act on an answer; False when the drain must stop (our keys or endpoints are wrong)."""
        t = self.now()
        watch = self.watching.pop(claim.id, None)
        act = _OUTCOMES.get(answer.outcome, Drain.refused)
        return act(self, claim, answer, t, watch.submitted_at if watch else (submitted_at or t)) is not False

    def saved(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        self.pace.recovered()
        assert answer.timestamp is not None  # a saved copy always has its timestamp
        self.done(claim, answer.timestamp, answer.original, claim.attempts, answer.message or None)

    def accepted(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        self.pace.recovered()
        claim.spn_job_id = answer.job_id
        _update_job(self.sessions, claim.id, spn_job_id=answer.job_id, lease_expires_at=t + timedelta(seconds=self.lease))
        self.watching[claim.id] = _Watch(claim, answer.job_id, t, t + timedelta(seconds=self.wb.poll_interval))
        self.event(claim, "submitted", f"job {answer.job_id}")

    def pending(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        if not claim.spn_job_id:
            attempts = claim.attempts + 1
            self.defer(claim, t + timedelta(seconds=self.pace.backoff(attempts)),
                       "Save Page Now said the capture is pending but gave no job to follow", attempts)
        elif (t - started).total_seconds() > self.wb.poll_timeout:
            self.defer(claim, t + timedelta(seconds=self.pace.backoff(1)),
                       f"the capture did not finish within {self.wb.poll_timeout:g} s; its job will be asked again",
                       claim.attempts)
        else:
            wait = max(self.wb.poll_interval, answer.retry_after or 0.0)
            _update_job(self.sessions, claim.id, lease_expires_at=t + timedelta(seconds=self.lease))
            self.watching[claim.id] = _Watch(claim, claim.spn_job_id, started, t + timedelta(seconds=wait))

    def rate_limited(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        self.summary.rate_limited += 1
        until = self.pace.slow_down(t, answer.retry_after)
        _hold_queue(self.sessions, until)
        self.defer(claim, until, answer.message, claim.attempts, keep_job_id=False)

    def daily_cap(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        copy = _safe_newest(self.client, claim.url)
        if copy is not None and t - copy.archived_at < timedelta(days=1):
            self.done(claim, copy.timestamp, copy.original, claim.attempts,
                      "already archived today (the daily limit per URL was reached)")
        else:
            self.defer(claim, t + timedelta(days=1), answer.message, claim.attempts, keep_job_id=False)

    def retry(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        attempts = claim.attempts + 1
        until = t + timedelta(seconds=self.pace.backoff(attempts))
        if answer.outage:
            until = max(until, self.pace.slow_down(t))
            _hold_queue(self.sessions, until)
        if attempts >= self.wb.max_attempts:
            self.give_up(claim, f"gave up after {attempts} attempts: {answer.message}", attempts)
        else:
            self.defer(claim, until, answer.message, attempts, keep_job_id=False)

    def failed(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> None:
        self.give_up(claim, answer.message, claim.attempts + 1)

    def refused(self, claim: _Claim, answer: SaveAnswer, t: datetime, started: datetime) -> bool:
        """Our keys or endpoints are wrong: put the job back as it was and stop the drain."""
        _update_job(self.sessions, claim.id, status="pending", last_error=answer.message,
                    lease_owner=None, lease_expires_at=None, updated_at=t)
        self.summary.stopped = answer.message
        self.event(claim, "stopped", answer.message)
        return False

    def event(self, claim: _Claim, result: str, detail: str = "", wayback_url: str | None = None) -> None:
        """Record what was done with a job (the summary, the log, on_event)."""
        item = DrainEvent(claim.id, claim.url, result, detail, wayback_url)
        self.summary.events.append(item)
        log.info("wayback %s %s %s", result, claim.url, detail)
        if self.on_event:
            self.on_event(item)

    def done(self, claim: _Claim, timestamp: str, original: str | None, attempts: int, note: str | None = None) -> None:
        """The job has its copy: record it and seal it into the chain."""
        wayback_url = self.client.replay(timestamp, original or claim.url)
        _finish(self.sessions, claim, timestamp, original or claim.url, wayback_url, self.now(), attempts, note)
        self.summary.done += 1
        self.event(claim, "done", note or "", wayback_url)

    def defer(self, claim: _Claim, until: datetime, message: str, attempts: int, keep_job_id: bool = True) -> None:
        """Put the job back in the queue until `until`."""
        values = dict(status="pending", next_attempt_at=until, last_error=message, attempts=attempts,
                      lease_owner=None, lease_expires_at=None, updated_at=self.now())
        if not keep_job_id:
            values["spn_job_id"] = None
        _update_job(self.sessions, claim.id, **values)
        self.summary.deferred += 1
        self.event(claim, "deferred", f"{message}; next attempt {dates.when(until, seconds=True, utc=True)}")

    def give_up(self, claim: _Claim, message: str, attempts: int) -> None:
        """The job fails for good (until `archiver wayback retry`)."""
        _update_job(self.sessions, claim.id, status="failed", last_error=message, attempts=attempts,
                    spn_job_id=None, lease_owner=None, lease_expires_at=None, updated_at=self.now())
        self.summary.failed += 1
        self.event(claim, "failed", message)


# What settle does with each outcome of SaveAnswer; any other outcome ("refused") stops the drain.
_OUTCOMES: dict[str, Callable[..., bool | None]] = {
    "saved": Drain.saved, "accepted": Drain.accepted, "pending": Drain.pending, "rate_limited": Drain.rate_limited,
    "daily_cap": Drain.daily_cap, "retry": Drain.retry, "failed": Drain.failed,
}


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
