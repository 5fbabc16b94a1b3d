"""The unattended job behind `archiver schedule`: capture passes on a timetable, digests after them.

One foreground process runs an APScheduler (3.x) scheduler on an asyncio loop with three jobs:
- "cron": a capture pass at `schedule.cron` in `schedule.timezone` (nightly by default). It
  takes every source that falls due before the next such pass, so daily sources stay on the
  night instead of drifting later by a few minutes each day;
- "due": every `schedule.due_check_seconds`, a pass over the sources due now: hourly sources,
  sources added since the last pass, sources an interrupted pass left behind. When nothing is
  due it costs one query and records no run;
- "wayback": `archiver.wayback_queue.drain` every `schedule.wayback_interval_seconds`; the drainer
  keeps to `wayback.max_per_minute` itself.
Passes are the same `capture_pass` that `archiver run` uses. In one process they never
overlap (one lock, one instance per job, missed runs coalesced); between processes and
machines, the leases in `archiver.queue` keep two workers from capturing the same source.
After each pass the digest of changed cited sources is sent (`archiver.notify`).

SIGTERM or SIGINT stops the process cleanly: no new pass starts, the pass in flight stops
claiming sources, finishes and writes the captures already under way (each batch in one
transaction), gives back the leases it did not use, and records itself as interrupted; then the
process exits 0 (130 when the first signal was SIGINT, as Ctrl-C in a terminal). Captures still
under way after `schedule.stop_grace_seconds`, or when the signal comes a second time, are dropped
instead: nothing of them is written and their sources stay due. The next start continues with whatever is still due.

The extraction processes (archiver.pool) are shared by the passes of one process: started by
the first page that needs extracting, kept between passes, and stopped after
POOL_IDLE_SECONDS without work, so the frequent due checks do not pay for starting them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from archiver import notify, wayback_queue
from archiver.capture import RunSummary, capture_pass, extraction_pool
from archiver.config import Config, ScheduleConfig
from archiver.models import Source, utcnow
from archiver.queue import release_dead_leases, worker_name
from archiver.stopping import Stop

log = logging.getLogger(__name__)

CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
CHUNK = 500
POOL_IDLE_SECONDS = 900.0
# After the stop is abandoned, the passes drop their captures in flight by themselves; a task
# still running this long after is cancelled.
CANCEL_AFTER_ABANDON_SECONDS = 5.0


class ScheduleError(Exception):
    """The schedule settings cannot be used (a bad cron expression or time zone)."""


def _day_number(text: str, field: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text[:3] in CRON_DAYS:
        return CRON_DAYS.index(text[:3])
    raise ValueError(f"unknown weekday {text!r} in {field!r}")


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field (0 or 7 = Sunday, names, ranges, steps) as APScheduler day names.

    APScheduler 3 counts 0 as Monday, unlike cron; spelling the days out keeps "0 3 * * 0"
    meaning Sunday, as every cron user expects.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            low, high = _day_number(first, field), _day_number(last, field)
        else:
            low = _day_number(span, field)
            high = 6 if step else low
        if low > high or (step and not step.isdigit()) or step == "0":
            raise ValueError(f"invalid weekday range {part!r}")
        days.update(day % 7 for day in range(low, high + 1, int(step) if step else 1))
    return ",".join(CRON_DAYS[day] for day in sorted(days))


def schedule_timezone(config: ScheduleConfig) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"[schedule] timezone {config.timezone!r} is not a known time zone (use a name such as UTC or Asia/Shanghai)"
        ) from None


def cron_trigger(config: ScheduleConfig) -> CronTrigger:
    """The trigger for `schedule.cron` (minute hour day month weekday, as in crontab) in `schedule.timezone`."""
    tz = schedule_timezone(config)
    fields = config.cron.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"it has {len(fields)} fields, cron needs 5")
        minute, hour, day, month, weekday = fields
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=crontab_weekdays(weekday), timezone=tz)
    except ValueError as exc:
        raise ScheduleError(
            f"[schedule] cron {config.cron!r} is not a valid cron expression "
            f"(minute hour day month weekday, e.g. \"0 2 * * *\" for 02:00 every night): {exc}"
        ) from None


def _lease_free(now: datetime):
    return or_(Source.lease_owner.is_(None), Source.lease_expires_at < now)


def pull_forward(session: Session, until: datetime, default_interval_hours: float) -> int:
    """Make due now the unleased sources that fall due before `until`, so this pass takes them.

    A source is never brought forward by more than half its interval: a daily source
    captured in the afternoon waits for the next night's pass, not tonight's. Commits;
    returns how many sources were brought forward.
    """
    now = utcnow()
    rows = session.execute(
        select(Source.id, Source.next_due_at, Source.interval_hours)
        .where(Source.next_due_at > now, Source.next_due_at < until, _lease_free(now), Source.untracked_at.is_(None))
    ).all()
    ids = [
        source_id for source_id, due, hours in rows
        if due - now <= timedelta(hours=(hours or default_interval_hours) / 2)
    ]
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(Source)
            .where(Source.id.in_(ids[start : start + CHUNK]), Source.next_due_at > now)
            .values(next_due_at=now)
            .execution_options(synchronize_session=False)
        )
    session.commit()
    return len(ids)


def claimable(session: Session) -> int:
    """How many sources are due now and not leased by a worker."""
    now = utcnow()
    return session.scalar(select(func.count()).select_from(Source).where(
        Source.next_due_at <= now, _lease_free(now), Source.untracked_at.is_(None))) or 0


def describe_summary(summary: RunSummary, trigger: str) -> str:
    """One log line for a finished pass."""
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items())) or "nothing was due"
    line = f"run {summary.run_id} ({trigger}): {summary.total} captured in {summary.elapsed:.1f} s ({counts})"
    if summary.failures:
        line += f"; {len(summary.failures)} with errors"
    return line + ("; interrupted" if summary.interrupted else "")


def _in_daemon_thread(function: Callable, *args, **kwargs) -> asyncio.Future:
    """Run a blocking function in a daemon thread, so it can never hold up the process's exit."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(result=None, error=None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def target() -> None:
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=target, name="archiver-wayback", daemon=True).start()
    return future


class Scheduler:
    """The long-lived `archiver schedule` process: its jobs, its passes, its clean stop.

    `trigger` replaces the cron trigger from the configuration (tests use one with seconds).
    """

    def __init__(
        self,
        config: Config,
        session_factory: sessionmaker,
        *,
        trigger: BaseTrigger | None = None,
        worker: str | None = None,
        wayback_drain: Callable | None = None,
    ) -> None:
        self.config = config
        self.sessions = session_factory
        self.timezone = schedule_timezone(config.schedule)
        self.trigger = trigger or cron_trigger(config.schedule)
        self.worker = worker or worker_name()
        self.wayback_drain = wayback_drain
        self.summaries: list[RunSummary] = []
        self.deliveries: dict[int, list[notify.Delivery]] = {}
        self.stop: Stop | None = None
        self.signal: int | None = None
        self.pool = extraction_pool(config)
        self._wayback_stop = threading.Event()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._side_tasks: set[asyncio.Task] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._abandoning = False
        self._abandon_timer: asyncio.TimerHandle | None = None

    def request_stop(self, signum: int | None = None) -> None:
        """Stop after the captures in flight (what SIGTERM and SIGINT do); asked twice, stop at once."""
        if self.stop is None:
            return
        if self.stop.is_set():
            self._abandon()
            return
        self.signal = signum
        grace = self.config.schedule.stop_grace_seconds
        log.warning("stopping: finishing the captures in flight (at most %g s; signal again to stop at once)", grace)
        self.stop.set()
        self._wayback_stop.set()
        self._abandon_timer = asyncio.get_running_loop().call_later(grace, self._abandon)

    @property
    def running_stop(self) -> Stop:
        """The Stop of the run under way (made by run())."""
        if self.stop is None:
            raise RuntimeError("the scheduler is not running")
        return self.stop

    def _abandon(self) -> None:
        running = [task for task in self._tasks if not task.done()]
        if running and not self._abandoning:
            log.warning("stopping now: the captures still in flight are dropped, their sources stay due for the next start")
        self._abandoning = True
        self.running_stop.abandon()
        if running:
            asyncio.get_running_loop().call_later(CANCEL_AFTER_ABANDON_SECONDS, self._cancel_running)

    def _cancel_running(self) -> None:
        for task in self._tasks:
            if not task.done():
                task.cancel()

    @property
    def exit_code(self) -> int:
        """0 after SIGTERM (what systemd expects of a clean stop), 130 after SIGINT (Ctrl-C)."""
        return 130 if self.signal == signal.SIGINT else 0

    def _next_cron_fire(self) -> datetime:
        now = datetime.now(self.timezone)
        return self.trigger.get_next_fire_time(None, now) or now

    async def _capture(self, trigger: str, until: datetime | None) -> RunSummary | None:
        if self.running_stop.is_set():
            return None
        async with self._lock:
            if self.running_stop.is_set():
                return None
            loop = asyncio.get_running_loop()

            def prepare() -> int:
                with self.sessions() as session:
                    if release_dead_leases(session):
                        log.info("freed the leases of workers on this machine that are no longer running")
                    session.commit()
                    if until is not None:
                        pulled = pull_forward(session, until, self.config.capture.default_interval_hours)
                        if pulled:
                            log.info("%d sources falling due before %s brought into this pass",
                                     pulled, until.isoformat(timespec="minutes"))
                    return claimable(session)

            due = await loop.run_in_executor(None, prepare)
            if trigger == "due-check" and not due:
                return None
            summary = await capture_pass(self.config, self.sessions, worker=self.worker, trigger=trigger,
                                         stop=self.stop, pool=self.pool)
            self.summaries.append(summary)
            log.info("%s", describe_summary(summary, trigger))
            if summary.total:
                self.deliveries[summary.run_id] = await loop.run_in_executor(
                    None, notify.after_pass, self.config.notify, self.sessions, summary.run_id
                )
            return summary

    async def _guarded(self, name: str, job, track: bool = True) -> None:
        task = asyncio.current_task()
        assert task is not None  # _guarded runs as a task
        if track:
            self._tasks.add(task)
        else:
            self._side_tasks.add(task)
        try:
            await job
        except asyncio.CancelledError:
            if not self.running_stop.is_set():
                raise
        except Exception:
            log.exception("%s failed; the schedule goes on and tries again at the next run", name)
        finally:
            self._tasks.discard(task)
            self._side_tasks.discard(task)

    async def cron_pass(self) -> None:
        """The scheduled pass: every source that falls due before the next scheduled pass."""
        await self._guarded("the scheduled capture pass", self._capture("cron", self._next_cron_fire()))

    async def due_pass(self) -> None:
        """The frequent check: a pass over the sources due now, if there are any."""
        until = utcnow() + timedelta(seconds=self.config.schedule.due_check_seconds / 2)
        await self._guarded("the due-source check", self._capture("due-check", until))
        if self.pool.started and self.pool.idle_for() > POOL_IDLE_SECONDS:
            self.pool.shutdown(wait=False)

    async def drain_wayback(self) -> None:
        """One round of the Wayback submission queue."""
        if self.wayback_drain is None or self.running_stop.is_set():
            return
        await self._guarded("the Wayback queue", self._drain(), track=False)

    async def _drain(self) -> None:
        drain = self.wayback_drain
        if drain is None:
            return
        params = inspect.signature(drain).parameters
        kwargs: dict[str, object] = {}
        if "max_wait" in params:
            kwargs["max_wait"] = self.config.schedule.wayback_interval_seconds
        if inspect.iscoroutinefunction(drain):
            if "stop" in params:
                kwargs["stop"] = self.stop
            result = await drain(self.config, self.sessions, **kwargs)
        else:
            if "stop" in params:
                kwargs["stop"] = self._wayback_stop
            result = await _in_daemon_thread(drain, self.config, self.sessions, **kwargs)
        if getattr(result, "claimed", 0):
            log.info("Wayback queue: %d submitted, %d done, %d deferred, %d failed", result.submitted,
                     result.done, result.deferred, result.failed)

    def _install_signals(self) -> list[int]:
        loop = asyncio.get_running_loop()
        installed: list[int] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.request_stop, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return installed

    def _build(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=self.timezone, job_defaults={"max_instances": 1, "coalesce": True})
        scheduler.add_job(self.cron_pass, self.trigger, id="cron", name="capture pass", misfire_grace_time=3600)
        now = datetime.now(self.timezone)
        if self.config.schedule.due_check_seconds > 0:
            every = IntervalTrigger(seconds=self.config.schedule.due_check_seconds, timezone=self.timezone)
            scheduler.add_job(self.due_pass, every,
                              id="due", name="due-source check", next_run_time=now, misfire_grace_time=None)
        if self.config.wayback.enabled and self.wayback_drain is not None:
            every = IntervalTrigger(seconds=self.config.schedule.wayback_interval_seconds, timezone=self.timezone)
            scheduler.add_job(self.drain_wayback, every,
                              id="wayback", name="Wayback queue", next_run_time=now, misfire_grace_time=None)
        return scheduler

    async def run(self, once: bool = False) -> list[RunSummary]:
        """Run until SIGTERM/SIGINT or `request_stop()`; with `once`, run one scheduled pass and return."""
        self.stop = Stop()
        self._lock = asyncio.Lock()
        loop = asyncio.get_running_loop()
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        installed = self._install_signals()
        try:
            if once:
                await asyncio.ensure_future(self.cron_pass())
                return self.summaries
            self._scheduler = self._build()
            self._scheduler.start()
            for job in self._scheduler.get_jobs():
                next_run = job.next_run_time.isoformat(timespec="seconds") if job.next_run_time else "-"
                log.info("%s: next at %s", job.name, next_run)
            log.info("worker %s started; capture pass on %r (%s)", self.worker, self.config.schedule.cron, self.timezone.key)
            await self.stop.wait()
            self._scheduler.pause()
            pending = [task for task in self._tasks if not task.done()]
            if pending:
                await asyncio.wait(pending)
            side = [task for task in self._side_tasks if not task.done()]
            if side:
                await asyncio.wait(side, timeout=5)
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
            log.warning("stopped")
            return self.summaries
        finally:
            if self._abandon_timer is not None:
                self._abandon_timer.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
            self.pool.shutdown(wait=False)


def run_scheduler(config: Config, session_factory: sessionmaker, *, once: bool = False, worker: str | None = None) -> int:
    """Synchronous entry point for `archiver schedule`; returns the exit code (Scheduler.exit_code)."""
    drain = wayback_queue.drain if config.wayback.enabled else None
    scheduler = Scheduler(config, session_factory, worker=worker, wayback_drain=drain)
    asyncio.run(scheduler.run(once=once))
    return scheduler.exit_code
