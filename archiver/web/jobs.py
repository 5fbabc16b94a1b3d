"""Captures asked for from the web interface ("capture now"): queued, run one pass at a time in
a thread of the server, their progress and outcome kept for the job's page.

Each job is an ordinary capture pass (archiver.capture.CapturePass) over the sources asked
for, recorded as a run with trigger "web": extraction happens in its worker processes as in
`archiver run`, leases keep it from capturing a source another pass holds, and one broken
source fails alone. Jobs live in the server's memory; the runs and captures they make are in
the archive.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from archiver.config import Config
from archiver.models import utcnow

if TYPE_CHECKING:
    from archiver.stopping import Stop

log = logging.getLogger(__name__)
KEPT = 200


@dataclass
class CaptureJob:
    """One "capture now": which sources, how far it got, and what each capture found."""

    id: int
    label: str
    source_ids: list[int]
    state: str = "queued"  # queued, running, done, failed
    total: int = 0
    outcomes: list[tuple[str, str, str | None]] = field(default_factory=list)  # (url, state, reason)
    run_id: int | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


class CaptureJobs:
    """The queue of capture jobs and the thread that runs them, one at a time."""

    def __init__(self, config: Config, sessions) -> None:
        self.config = config
        self.sessions = sessions
        self.jobs: dict[int, CaptureJob] = {}
        self.queue: queue.Queue[CaptureJob | None] = queue.Queue()
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.thread: threading.Thread | None = None
        self.running: tuple[asyncio.AbstractEventLoop, Stop] | None = None

    def submit(self, source_ids: list[int], label: str) -> CaptureJob:
        """Queue a capture of these sources now; the job to follow."""
        with self.lock:
            job = CaptureJob(next(self.ids), label, sorted(set(source_ids)), total=len(set(source_ids)))
            self.jobs[job.id] = job
            for old in sorted(self.jobs)[:-KEPT]:
                if self.jobs[old].finished:
                    del self.jobs[old]
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, name="archiver-web-captures", daemon=True)
                self.thread.start()
        self.queue.put(job)
        return job

    def get(self, job_id: int) -> CaptureJob | None:
        return self.jobs.get(job_id)

    def latest_for(self, source_id: int) -> CaptureJob | None:
        """The newest job that captures this source."""
        found = [job for job in list(self.jobs.values()) if source_id in job.source_ids]
        return max(found, key=lambda job: job.id) if found else None

    def close(self) -> None:
        """Stop: the job under way drops its captures in flight (its sources stay due), the queue ends."""
        running = self.running
        if running is not None:
            loop, stop = running
            loop.call_soon_threadsafe(stop.abandon)
        self.queue.put(None)
        if self.thread is not None:
            self.thread.join(30)

    def _work(self) -> None:
        while (job := self.queue.get()) is not None:
            job.state = "running"
            try:
                summary = asyncio.run(self._capture(job))
                job.run_id = summary.run_id
                job.state = "failed" if summary.interrupted else "done"
                job.error = "stopped before the end" if summary.interrupted else None
            except Exception as exc:  # a job that fails is shown failed; the server goes on
                log.exception("capture job %s failed", job.id)
                job.state, job.error = "failed", str(exc) or type(exc).__name__
            job.finished_at = utcnow()

    async def _capture(self, job: CaptureJob):
        from archiver.capture import capture_pass
        from archiver.stopping import Stop

        stop = Stop(self.config.schedule.stop_grace_seconds)
        self.running = (asyncio.get_running_loop(), stop)

        def advanced(outcome) -> None:
            verdict = outcome.verdict
            reason = outcome.error or outcome.fetch.error or (verdict.reason if verdict else None)
            job.outcomes.append((outcome.job.url, verdict.state if verdict else "failed", reason))

        try:
            return await capture_pass(self.config, self.sessions, everything=True, source_ids=job.source_ids,
                                      trigger="web", on_outcome=advanced, stop=stop)
        finally:
            self.running = None
