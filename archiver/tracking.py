"""Whether a source is still tracked: `archiver untrack` stops capturing it, `archiver retrack`
starts again. Untracking deletes nothing: the source keeps every capture, its state and its
citations, and shows in `status` and reports as untracked, with when and why.

A capture pass never takes an untracked source (archiver.queue leaves it out, and `run --all`
does not make it due); retracking makes it due at the next pass.

Removing a source's captures is a separate, deliberate act: `untrack_and_purge` untracks it and
purges every capture through archiver.custody, which seals a "purge" custody event in the chain
(what was removed, when, why, by whom), so `archiver verify` still passes and lists it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from archiver.models import Capture, Source, utcnow


@dataclass
class TrackingChange:
    """What untrack or retrack did to one source."""

    url: str
    changed: bool
    untracked_at: datetime | None
    reason: str | None

    def as_json(self) -> dict:
        return {"url": self.url, "changed": self.changed, "tracked": self.untracked_at is None,
                "untracked_at": self.untracked_at.isoformat() if self.untracked_at else None,
                "untracked_reason": self.reason}


def untrack(session: Session, source: Source, reason: str | None = None) -> TrackingChange:
    """Stop capturing `source`; its captures, state and citations stay. A second call keeps the
    first date and reason unless a new reason is given."""
    if source.untracked_at is not None:
        if reason and reason != source.untracked_reason:
            source.untracked_reason = reason
            return TrackingChange(source.url, True, source.untracked_at, reason)
        return TrackingChange(source.url, False, source.untracked_at, source.untracked_reason)
    source.untracked_at = utcnow()
    source.untracked_reason = reason or "untracked"
    source.lease_owner = None
    source.lease_expires_at = None
    return TrackingChange(source.url, True, source.untracked_at, source.untracked_reason)


def retrack(session: Session, source: Source) -> TrackingChange:
    """Track an untracked source again; it is due at the next pass."""
    if source.untracked_at is None:
        return TrackingChange(source.url, False, None, None)
    source.untracked_at = None
    source.untracked_reason = None
    source.next_due_at = utcnow()
    return TrackingChange(source.url, True, None, None)


@dataclass
class PurgePlan:
    """What purging a source would remove: its captures, and when they were made."""

    url: str
    captures: int
    first: datetime | None
    last: datetime | None

    def as_json(self) -> dict:
        return {"url": self.url, "captures": self.captures,
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None}


def purge_plan(session: Session, source: Source) -> PurgePlan:
    """How many captures a purge of `source` would remove, and their dates (nothing is changed)."""
    from sqlalchemy import func, select

    mine = select(Capture.started_at).where(Capture.source_id == source.id)
    count = session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source.id))
    first = session.scalar(mine.order_by(Capture.started_at).limit(1))
    last = session.scalar(mine.order_by(Capture.started_at.desc()).limit(1))
    return PurgePlan(source.url, count or 0, first, last)


def untrack_and_purge(session: Session, source: Source, reason: str | None, *, actor: str | None = None):
    """Untrack `source` and remove every capture of it on the record (archiver.custody.purge_source:
    a sealed purge event lists each removed record). Returns (TrackingChange, custody.Purged);
    raises custody.PurgeError without a reason or without captures. The caller commits, then
    anchors the new chain head (archiver.anchors)."""
    from archiver.custody import purge_source

    source_id = source.id
    purged = purge_source(session, source_id, reason, actor=actor)
    source = session.get(Source, source_id) or source
    change = untrack(session, source, f"captures purged: {reason}")
    return change, purged
