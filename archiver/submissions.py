"""When a capture should be sent to the Wayback Machine, and queuing it.

Not every page every night: Save Page Now allows a handful of captures a minute, so a job is
queued only when the source is new, its main text was altered, or its newest Wayback copy is
older than `wayback.resubmit_after_days`. The queue is drained by `archiver.wayback_queue.drain`
at its own pace, so a Wayback outage never slows or fails local captures: this module only
writes a row, inside the transaction that stores the capture.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archiver.config import WaybackConfig
from archiver.models import Capture, Source, WaybackJob, utcnow

SUBMIT_VERDICTS = ("new", "altered")


def _stamp(moment) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def newest_copy(session: Session, source_id: int) -> str | None:
    """The timestamp (YYYYMMDDhhmmss) of the newest Wayback copy we know of for a source."""
    from_jobs = session.scalar(
        select(func.max(WaybackJob.wayback_timestamp)).where(WaybackJob.source_id == source_id, WaybackJob.status == "done")
    )
    from_captures = session.scalar(
        select(func.max(Capture.wayback_timestamp)).where(Capture.source_id == source_id)
    )
    known = [t for t in (from_jobs, from_captures) if t]
    return max(known) if known else None


def submission_reason(session: Session, source: Source, capture: Capture, config: WaybackConfig) -> str | None:
    """Why this capture should be submitted ("new", "altered", "stale"), or None.

    "stale": the text is unchanged but the newest Wayback copy is older than
    resubmit_after_days (or there is none), and the Wayback Machine did not refuse the page
    within that time either.
    """
    if not config.enabled or capture.verdict is None or capture.origin != "live":
        return None
    if capture.verdict in SUBMIT_VERDICTS:
        return capture.verdict
    if capture.verdict != "unchanged":
        return None
    cutoff = utcnow() - timedelta(days=config.resubmit_after_days)
    copy = newest_copy(session, source.id)
    if copy is not None and copy >= _stamp(cutoff):
        return None
    refused = session.scalar(
        select(WaybackJob.id)
        .where(WaybackJob.source_id == source.id, WaybackJob.status == "failed", WaybackJob.updated_at >= cutoff)
        .limit(1)
    )
    return None if refused is not None else "stale"


def after_capture(session: Session, source: Source, capture: Capture, config: WaybackConfig) -> WaybackJob | None:
    """Queue a Wayback submission for `capture` when one is due; returns the job queued or updated.

    A job still waiting in the queue is pointed at this newer capture instead of queuing a
    second one (Save Page Now archives the page as it is when the job runs). A job already
    running is left alone, and a new one queued only if this capture's text is new or altered.
    """
    reason = submission_reason(session, source, capture, config)
    if reason is None:
        return None
    open_jobs = list(session.scalars(
        select(WaybackJob).where(WaybackJob.source_id == source.id, WaybackJob.status.in_(("pending", "running")))
    ))
    waiting = next((job for job in open_jobs if job.status == "pending" and not job.spn_job_id), None)
    if waiting is not None:
        waiting.capture_id = capture.id
        if reason in SUBMIT_VERDICTS:
            waiting.reason = reason
        waiting.updated_at = utcnow()
        return waiting
    if open_jobs and reason == "stale":
        return None
    now = utcnow()
    job = WaybackJob(
        source_id=source.id,
        capture_id=capture.id,
        url=source.url,
        reason=reason,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    return job
