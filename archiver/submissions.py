"""When a capture should be sent to the Wayback Machine, and queuing it.

Not every page every night: Save Page Now allows a handful of captures a minute, so a job is
queued only when the source is new, its main text was altered, or its newest Wayback copy is
older than `wayback.resubmit_after_days`. The queue is drained by `archiver.wayback_queue.drain`
at its own pace, so a Wayback outage never slows or fails local captures: this module only
writes a row, inside the transaction that stores the capture.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from archiver.config import WaybackConfig
from archiver.dates import wayback_timestamp
from archiver.fetch import classify_address
from archiver.models import Capture, Source, WaybackJob, utcnow
from archiver.readdb import chunks

SUBMIT_VERDICTS = ("new", "altered")
# Why an IP address must not be named to the Wayback Machine, or None: every address that is not
# public (private, loopback, link-local ...). Tests that submit pages served on loopback to a fake
# Wayback Machine replace it; nothing else does.
address_policy: Callable[[str], str | None] = classify_address


def private_reason(urls: Iterable[str | None], addresses: Iterable[str | None] = ()) -> str | None:
    """Why these URLs must never reach the Wayback Machine, or None: a host that is a private,
    loopback or link-local address (or `localhost`), or a server that answered from one.

    `addresses` are the server addresses a fetch of them connected to, each hop of a redirect
    chain included: an intranet name that resolved to 10.0.0.5 is as private as 10.0.0.5.
    """
    for address in addresses:
        if address:
            problem = address_policy(address)
            if problem:
                return f"it was served from {address}, {problem}"
    for url in urls:
        host = (urlsplit(url).hostname or "").rstrip(".") if url else ""
        if not host:
            continue
        if host == "localhost" or host.endswith(".localhost"):
            return f"its host {host} names this machine"
        try:
            ipaddress.ip_address(host)
        except ValueError:
            continue
        problem = address_policy(host)
        if problem:
            return f"its host {host} is {problem}"
    return None


def wayback_refusal(source: Source) -> str | None:
    """Why `source` must never be submitted to, nor looked up at, the Wayback Machine, or None:
    it is marked no-wayback, or its URL names a private address."""
    if source.no_wayback:
        return "it is marked --no-wayback"
    return private_reason([source.url])


def capture_refusal(source: Source, capture: Capture, addresses: Iterable[str | None] = ()) -> str | None:
    """wayback_refusal, also counting where the capture went: its redirects, its final URL and
    the addresses its server(s) answered from."""
    refused = wayback_refusal(source)
    if refused:
        return refused
    urls = [capture.requested_url, capture.final_url, *(hop[1] for hop in capture.redirects or [] if len(hop) > 1)]
    return private_reason(urls, [capture.server_ip, *addresses])


def withdraw_jobs(session: Session, source_id: int) -> int:
    """Drop a source's submissions still waiting in the queue (it was just marked no-wayback);
    returns how many. One already sent to Save Page Now cannot be called back."""
    return cast(CursorResult, session.execute(
        delete(WaybackJob).where(WaybackJob.source_id == source_id, WaybackJob.status == "pending",
                                 WaybackJob.spn_job_id.is_(None))
        .execution_options(synchronize_session=False)
    )).rowcount or 0


def newest_copies(session: Session, source_ids: list[int]) -> dict[int, str]:
    """The timestamp (YYYYMMDDhhmmss) of the newest Wayback copy we know of, by source (from
    finished jobs and from copies recovered into captures); sources with none are left out."""
    newest: dict[int, str] = {}
    for chunk in chunks(sorted(set(source_ids))):
        for column, condition in (
            (WaybackJob, (WaybackJob.source_id.in_(chunk), WaybackJob.status == "done")),
            (Capture, (Capture.source_id.in_(chunk), Capture.wayback_timestamp.is_not(None))),
        ):
            query = (select(column.source_id, func.max(column.wayback_timestamp))
                     .where(*condition).group_by(column.source_id))
            for source_id, stamp in session.execute(query):
                if stamp and stamp > newest.get(source_id, ""):
                    newest[source_id] = stamp
    return newest


def _refused_since(session: Session, source_ids: list[int], cutoff) -> set[int]:
    refused: set[int] = set()
    for chunk in chunks(sorted(set(source_ids))):
        refused.update(session.scalars(
            select(WaybackJob.source_id).distinct()
            .where(WaybackJob.source_id.in_(chunk), WaybackJob.status == "failed", WaybackJob.updated_at >= cutoff)
        ))
    return refused


def submission_reasons(session: Session, stored: list[tuple[Source, Capture]], config: WaybackConfig,
                       addresses: list[list[str]] | None = None) -> list[str | None]:
    """Why each capture should be submitted ("new", "altered", "stale"), or None; in order.

    Never for a source that `capture_refusal` refuses (no-wayback, or private: `addresses`
    lists, per capture, the addresses its fetch connected to). "stale": the text is unchanged
    but the newest Wayback copy is older than resubmit_after_days (or there is none), and the
    Wayback Machine did not refuse the page within that time either. The whole batch costs two
    or three queries, not three per capture.
    """
    if not config.enabled:
        return [None] * len(stored)
    reasons: list[str | None] = []
    unchanged: list[int] = []  # indexes of the live captures judged unchanged
    for index, (source, capture) in enumerate(stored):
        if capture_refusal(source, capture, addresses[index] if addresses else ()):
            reasons.append(None)
            continue
        live = capture.verdict is not None and capture.origin == "live"
        reasons.append(capture.verdict if live and capture.verdict in SUBMIT_VERDICTS else None)
        if live and capture.verdict == "unchanged":
            unchanged.append(index)
    if unchanged:
        cutoff = utcnow() - timedelta(days=config.resubmit_after_days)
        ids = [stored[index][0].id for index in unchanged]
        recent = {source_id for source_id, stamp in newest_copies(session, ids).items() if stamp >= wayback_timestamp(cutoff)}
        refused = _refused_since(session, [i for i in ids if i not in recent], cutoff)
        for index, source_id in zip(unchanged, ids):
            if source_id not in recent and source_id not in refused:
                reasons[index] = "stale"
    return reasons


def submission_reason(session: Session, source: Source, capture: Capture, config: WaybackConfig) -> str | None:
    """Why this capture should be submitted ("new", "altered", "stale"), or None (see submission_reasons)."""
    return submission_reasons(session, [(source, capture)], config)[0]


def after_captures(session: Session, stored: list[tuple[Source, Capture]], config: WaybackConfig,
                   addresses: list[list[str]] | None = None) -> list[WaybackJob | None]:
    """Queue a Wayback submission for each capture when one is due; returns the job queued or
    updated for each, in order (None where none is due).

    A job still waiting in the queue is pointed at the newer capture instead of queuing a
    second one (Save Page Now archives the page as it is when the job runs). A job already
    running is left alone, and a new one queued only if the capture's text is new or altered.
    The batch's questions are asked in a few queries for all its sources.
    """
    reasons = submission_reasons(session, stored, config, addresses)
    due = sorted({source.id for (source, _capture), reason in zip(stored, reasons) if reason})
    open_jobs: dict[int, list[WaybackJob]] = {}
    for chunk in chunks(due):
        query = (select(WaybackJob)
                 .where(WaybackJob.source_id.in_(chunk), WaybackJob.status.in_(("pending", "running")))
                 .order_by(WaybackJob.id))
        for job in session.scalars(query):
            open_jobs.setdefault(job.source_id, []).append(job)
    jobs: list[WaybackJob | None] = []
    for (source, capture), reason in zip(stored, reasons):
        jobs.append(_queue(session, source, capture, reason, open_jobs.setdefault(source.id, [])) if reason else None)
    return jobs


def after_capture(session: Session, source: Source, capture: Capture, config: WaybackConfig) -> WaybackJob | None:
    """Queue a Wayback submission for `capture` when one is due (see after_captures)."""
    return after_captures(session, [(source, capture)], config)[0]


def _queue(session: Session, source: Source, capture: Capture, reason: str, open_jobs: list[WaybackJob]) -> WaybackJob | None:
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
    open_jobs.append(job)
    return job
