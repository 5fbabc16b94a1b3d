"""Whether a source is still tracked: `archiver untrack` stops capturing it, `archiver retrack`
starts again. Untracking deletes nothing: the source keeps every capture, its state and its
citations, and shows in `status` and reports as untracked, with when and why.

A capture pass never takes an untracked source (archiver.queue leaves it out, and `run --all`
does not make it due); retracking makes it due at the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from archiver.models import Source, utcnow


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
