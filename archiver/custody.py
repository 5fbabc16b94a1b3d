"""Custody events: captures removed from the store on purpose, on the record.

A capture is never overwritten or deleted by a run. When a researcher must remove captures
(a page published by mistake, a legal request, a source that should never have been tracked),
the removal itself becomes a sealed "purge" event in the hash chain: which records were removed
(each with its record hash and the hash it linked to), which blobs went with them, when, why and
by whom. `archiver verify` then passes, bridging the gap in the chain with the purge event's list
instead of reporting deleted records, and counts what was purged; any removal without such an
event is still reported as a deletion.

`purge_captures` removes chosen captures, `purge_source` every capture of one source. Both work
in the caller's transaction; the caller anchors the new head afterwards (archiver.anchors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from archiver import plugins
from archiver.chain import append_event, lock_chain
from archiver.events import PURGE
from archiver.models import Blob, Capture, ChainEvent, Source, WaybackJob
from archiver.readdb import chunks
from archiver.textindex import forget_texts, rebuild_spans


class PurgeError(ValueError):
    """A purge that cannot be done as asked (no reason given, nothing to remove)."""


@dataclass
class Purged:
    """What a purge removed, and the sealed event that says so."""

    event_id: int
    record_hash: str | None
    captures: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"event_id": self.event_id, "record_hash": self.record_hash, "captures": self.captures,
                "events": self.events, "blobs": self.blobs}


def _only_theirs(session: Session, keys: set[str], captures: set[int]) -> list[str]:
    """Those of `keys` (blob hashes) that no capture outside `captures` names as its body or text."""
    shared: set[str] = set()
    for chunk in chunks(sorted(keys)):
        for column in (Capture.body_sha256, Capture.text_sha256):
            for capture_id, key in session.execute(select(Capture.id, column).where(column.in_(chunk))):
                if key is not None and capture_id not in captures:
                    shared.add(key)
    return sorted(keys - shared)


def purge_captures(session: Session, capture_ids: list[int], reason: str | None, *, actor: str | None = None,
                   source_id: int | None = None, source_url: str | None = None) -> Purged:
    """Remove the captures `capture_ids`, the chained events about them, their quote checks and
    Wayback jobs, and the blobs no other capture uses; seal a "purge" event that lists them.

    `reason` (required) and `actor` are written in the event. With `source_id`, the events about
    that source with no capture named are removed too, and the source's capture counters reset
    (purge_source). Raises PurgeError when no reason is given or there is nothing to remove.
    """
    reason = (reason or "").strip()
    if not reason:
        raise PurgeError("a purge needs a reason: it is written in the chain for whoever checks the archive later")
    lock_chain(session)
    ids = sorted(set(capture_ids))
    captures: list = []
    for chunk in chunks(ids):
        captures += session.execute(
            select(Capture.id, Capture.source_id, Capture.record_hash, Capture.prev_hash, Capture.started_at,
                   Capture.requested_url, Capture.body_sha256, Capture.text_sha256)
            .where(Capture.id.in_(chunk))).all()
    captures.sort(key=lambda c: c.id)
    about: list[ColumnElement[bool]] = [ChainEvent.capture_id.in_(chunk) for chunk in chunks(ids)]
    if source_id is not None:
        about.append(ChainEvent.source_id == source_id)
    events = list(session.execute(
        select(ChainEvent.id, ChainEvent.kind, ChainEvent.capture_id, ChainEvent.record_hash, ChainEvent.prev_hash)
        .where(or_(*about), ChainEvent.kind != PURGE).order_by(ChainEvent.id))) if about else []
    if not captures and not events:
        raise PurgeError("nothing to purge: none of these captures is in the archive")
    found = {c.id for c in captures}
    removed = [{"element": "capture", "id": c.id, "record_hash": c.record_hash, "prev_hash": c.prev_hash,
                "source_id": c.source_id, "started_at": c.started_at.isoformat() if c.started_at else None,
                "url": c.requested_url} for c in captures]
    removed += [{"element": "event", "id": e.id, "kind": e.kind, "capture_id": e.capture_id,
                 "record_hash": e.record_hash, "prev_hash": e.prev_hash} for e in events]
    blobs = _only_theirs(session, {k for c in captures for k in (c.body_sha256, c.text_sha256) if k}, found)

    # The event first: its id is then above those of the events it removes, and the chain head
    # keeps naming the largest capture id ever chained, so that no id is given again.
    event = append_event(session, PURGE, source_id=source_id, payload={
        "reason": reason, "actor": actor, "source_url": source_url, "captures": len(captures),
        "events": len(events), "blobs": blobs, "removed": removed,
    })
    plugins.before_purge(session, sorted(found))
    for chunk in chunks(sorted(found)):
        session.execute(delete(WaybackJob).where(WaybackJob.capture_id.in_(chunk))
                        .execution_options(synchronize_session=False))
    for chunk in chunks([e.id for e in events]):
        session.execute(delete(ChainEvent).where(ChainEvent.id.in_(chunk)).execution_options(synchronize_session=False))
    for chunk in chunks(sorted(found)):
        session.execute(delete(Capture).where(Capture.id.in_(chunk)).execution_options(synchronize_session=False))
    rebuild_spans(session, {c.source_id for c in captures})
    forget_texts(session, blobs)
    for chunk in chunks(blobs):
        session.execute(delete(Blob).where(Blob.sha256.in_(chunk)).execution_options(synchronize_session=False))
    for column in (Source.last_capture_id, Source.last_good_capture_id):
        for chunk in chunks(sorted(found)):
            session.execute(update(Source).where(column.in_(chunk)).values({column.key: None})
                            .execution_options(synchronize_session=False))
    if source_id is not None:
        session.execute(delete(WaybackJob).where(WaybackJob.source_id == source_id)
                        .execution_options(synchronize_session=False))
    for source in {c.source_id for c in captures}:
        remaining = session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source)) or 0
        session.execute(update(Source).where(Source.id == source).values(capture_count=remaining)
                        .execution_options(synchronize_session=False))
    purged = Purged(event.id, event.record_hash, [c.id for c in captures], [e.id for e in events], blobs)
    session.expire_all()
    return purged


def purge_source(session: Session, source_id: int, reason: str | None, *, actor: str | None = None) -> Purged:
    """Remove every capture of one source (see purge_captures); the source itself stays tracked,
    back to `pending` with no captures, unless the caller deletes it too."""
    source = session.get(Source, source_id)
    if source is None:
        raise PurgeError(f"no source with id {source_id}")
    ids = list(session.scalars(select(Capture.id).where(Capture.source_id == source_id)))
    url = source.url
    purged = purge_captures(session, ids, reason, actor=actor, source_id=source_id, source_url=url)
    session.execute(update(Source).where(Source.id == source_id).values(
        state="pending", state_since=None, state_reason=f"captures purged: {reason}", final_url=None,
        last_capture_id=None, last_good_capture_id=None, capture_count=0, unreachable_since=None)
        .execution_options(synchronize_session=False))
    return purged
