"""The hash chain: every capture and every chained event is sealed, in order, by a record hash
that covers its fields and the record hash of the element before it.

Two kinds of element share one chain:
- captures (`add_captures`), the only way captures enter the store;
- events (`append_event`): facts learned after a capture was sealed, such as a Wayback Machine
  copy of it, or custody events such as the removal of a source's captures on purpose. A fact
  learned later is a new sealed record, never an edit of a sealed one.

Order: captures in id order; an event sits after the capture that was last in the chain when it
was appended (`after_capture_id`), and events after one capture in id order. Both are appended
while holding the chain lock (the `chain_heads` row, id 1: a row lock on PostgreSQL, the write
lock on SQLite), so ids and chain order agree even with several workers writing to one database.

Record formats are versioned, so that old seals keep verifying when the format grows:
- captures, format 1 (`seal_version` NULL): the fields of SEALED_FIELDS_V1;
- captures, format 2: every column of the captures table but the seal itself (SEALED_FIELDS_V2),
  with "record": "capture" and "version": 2 in the record;
- captures, format 3: format 2 and the provenance record, rendered DOM and screenshot (SEALED_FIELDS_V3);
- events, format 1: EVENT_FIELDS_V1, with "record": "event" and "version": 1.
A record hash is sha256(canonical_json(sealed record)); see docs/integrity.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, text, update
from sqlalchemy.orm import Session

from archiver.models import Capture, ChainEvent, ChainHead, utcnow

CAPTURE_RECORD_VERSION = 3
EVENT_RECORD_VERSION = 1

SEALED_FIELDS_V1 = (
    "id", "source_id", "origin", "requested_url", "final_url", "started_at", "ended_at",
    "status_code", "redirects", "request_headers", "response_headers", "server_ip",
    "http_version", "content_type", "charset", "body_sha256", "body_size", "text_sha256",
    "not_modified", "error_kind", "error", "verdict", "verdict_reason", "tool", "tool_version", "config",
)
# Format 2 adds what a report, `show` or an export shows beyond format 1. Frozen: a column added
# to the captures table later needs format 3 (tests/test_chain.py checks that every column is here
# or in UNSEALED_CAPTURE_COLUMNS).
SEALED_FIELDS_V2 = SEALED_FIELDS_V1 + (
    "run_id", "text_length", "page_title", "published", "similarity", "compared_to_id",
    "wayback_url", "wayback_timestamp", "elapsed_ms",
)
# Format 3 adds the provenance record, the rendered DOM and the screenshot. Frozen as format 2 is.
SEALED_FIELDS_V3 = SEALED_FIELDS_V2 + ("provenance", "rendered_sha256", "screenshot_sha256")
SEALED_FIELDS = SEALED_FIELDS_V3
UNSEALED_CAPTURE_COLUMNS = ("seal_version", "prev_hash", "record_hash")
CAPTURE_FIELDS = {1: SEALED_FIELDS_V1, 2: SEALED_FIELDS_V2, 3: SEALED_FIELDS_V3}

EVENT_FIELDS_V1 = ("id", "kind", "source_id", "capture_id", "after_capture_id", "created_at", "payload")
EVENT_FIELDS = {1: EVENT_FIELDS_V1}
EVENT_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class UnknownRecordVersion(ValueError):
    """A row says it was sealed under a record format this version of the archiver does not know."""


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat() + "+00:00"
    return value


def capture_version(capture) -> int:
    """The record format a capture is (or will be) sealed under: 1 when its row names none."""
    return getattr(capture, "seal_version", None) or 1


def sealed_record(capture, prev_hash: str | None) -> dict:
    """The data a capture's record hash covers, under the record format it was sealed with."""
    version = capture_version(capture)
    fields = CAPTURE_FIELDS.get(version)
    if fields is None:
        raise UnknownRecordVersion(f"capture record format {version} is not known to this version of the archiver")
    record = {name: _plain(getattr(capture, name)) for name in fields}
    if version >= 2:
        record["record"] = "capture"
        record["version"] = version
    record["prev_hash"] = prev_hash
    return record


def event_record(event, prev_hash: str | None) -> dict:
    """The data an event's record hash covers."""
    version = getattr(event, "seal_version", None) or 1
    fields = EVENT_FIELDS.get(version)
    if fields is None:
        raise UnknownRecordVersion(f"event record format {version} is not known to this version of the archiver")
    record = {name: _plain(getattr(event, name)) for name in fields}
    record["record"] = "event"
    record["version"] = version
    record["prev_hash"] = prev_hash
    return record


def canonical_json(record: dict) -> bytes:
    """The exact bytes hashed: sorted keys, no spaces, UTF-8. Anyone can recompute a record hash
    from an exported sealed record with sha256(canonical_json(record))."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def record_hash(capture, prev_hash: str | None) -> str:
    """SHA-256 over the capture's sealed fields (canonical JSON) and the previous record hash."""
    return hashlib.sha256(canonical_json(sealed_record(capture, prev_hash))).hexdigest()


def event_hash(event, prev_hash: str | None) -> str:
    """SHA-256 over the event's sealed fields (canonical JSON) and the previous record hash."""
    return hashlib.sha256(canonical_json(event_record(event, prev_hash))).hexdigest()


def lock_chain(session: Session) -> ChainHead:
    """Take the chain lock for this transaction (a row lock on PostgreSQL, the write lock on SQLite)."""
    session.execute(update(ChainHead).where(ChainHead.id == 1).values(id=1))
    head = session.get(ChainHead, 1, populate_existing=True)
    if head is None:
        raise RuntimeError("chain_heads row 1 is missing: the database was not created by the migrations")
    return head


def seal(session: Session, head: ChainHead, capture: Capture) -> None:
    """Give `capture` (which has its id) its place at the end of the chain."""
    capture.prev_hash = head.record_hash
    capture.record_hash = record_hash(capture, head.record_hash)
    head.capture_id = capture.id
    head.event_id = None
    head.record_hash = capture.record_hash


def seal_event(session: Session, head: ChainHead, event: ChainEvent) -> None:
    """Give `event` (which has its id) its place at the end of the chain."""
    event.after_capture_id = head.capture_id
    event.prev_hash = head.record_hash
    event.record_hash = event_hash(event, head.record_hash)
    head.event_id = event.id
    head.record_hash = event.record_hash


def reserve_ids(session: Session, table: str, count: int, above: int | None = None) -> list[int]:
    """`count` new ids of `table` (captures or chain_events), ascending; call with the chain lock held.

    SQLite: the ids after the largest in use (what SQLite itself would give the next rows),
    or after the largest ever given when the table is AUTOINCREMENT or is known (`above`: the
    chain head's capture id, which a purge leaves in place), so a deleted row's id is not
    given again. The write lock keeps anyone else from inserting until commit.
    PostgreSQL: `count` values of the table's id sequence in one statement. Another worker
    can only draw from the sequence after this transaction ends (all inserts into the chain
    take the chain lock first), so its ids are larger than all of these.
    """
    if table not in ("captures", "chain_events"):
        raise ValueError(f"ids of {table} are not reserved under the chain lock")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        ids = session.scalars(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        ).all()
        return sorted(ids)
    if dialect == "sqlite":
        last = max(session.scalar(text(f"SELECT max(id) FROM {table}")) or 0, above or 0)
        if session.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")):
            given = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table})
            last = max(last, given or 0)
        return list(range(last + 1, last + 1 + count))
    raise NotImplementedError(f"ids cannot be reserved on {dialect}")


def reserve_capture_ids(session: Session, count: int, above: int | None = None) -> list[int]:
    """`count` new capture ids, ascending; call with the chain lock held (see reserve_ids)."""
    return reserve_ids(session, "captures", count, above)


def _column_defaults() -> list[tuple[str, Any]]:
    """(attribute, Python-side default) of the captures columns other than the id that have one."""
    mapper = inspect(Capture)
    found = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column.primary_key or column.default is None:
            continue
        if not (column.default.is_scalar or column.default.is_callable):
            raise RuntimeError(f"captures.{column.key}: a SQL default cannot be sealed before the INSERT")
        found.append((prop.key, column.default))
    return found


_DEFAULTS = _column_defaults()


def _fill_defaults(capture: Capture) -> None:
    """Set the Python-side column defaults now, as the INSERT would: sealing must see them."""
    for key, default in _DEFAULTS:
        if capture.__dict__.get(key) is None:
            setattr(capture, key, default.arg(None) if default.is_callable else default.arg)


def add_captures(session: Session, captures: list[Capture]) -> None:
    """Insert and seal new captures, in order, within the caller's transaction.

    The only way captures enter the store: the pipeline, Wayback recovery and WARC
    import all go through here. Each is sealed under the current record format
    (CAPTURE_RECORD_VERSION), which covers every column but the seal itself.

    Under the chain lock (lock_chain), the batch's ids are reserved first (reserve_capture_ids),
    ascending; each capture gets its id, its unset column defaults, and is sealed in that
    order, linked to the one before (the record hash covers the id and those fields, so they
    must be known before sealing). Then one flush writes the batch with its final prev_hash
    and record_hash as one INSERT (an executemany), and the chain head as one UPDATE: no
    round trip per capture and no UPDATE of captures. (The ORM batches captures that set the
    same columns; the pipeline's always do. A batch mixing captures that leave different JSON
    columns unset is written with a few INSERTs, chained all the same.)

    Ids and chain order agree across workers. On PostgreSQL the ids come from the captures id
    sequence, and a second worker blocks on the chain_heads row lock until the first one's
    transaction ends; only then does it reserve its ids, which are therefore all larger than
    the first one's, so two workers' batches cannot interleave in id order, and each batch
    links to the head the previous one left. On SQLite the write lock serialises writers in
    the same way, and the ids are the next ones after the largest in use. Ids reserved by a
    batch that rolls back are never used on PostgreSQL (a gap in ids, as with any rolled-back
    insert; not in the chain, which links stored captures only).

    Afterwards each capture is a persistent object of `session`, as after a flush: it has its
    id, its columns are loaded, and `capture.source` loads as usual.
    """
    if not captures:
        return
    for capture in captures:
        state = inspect(capture)
        if state.pending and capture in session:
            session.expunge(capture)
        elif not state.transient:
            raise ValueError(f"capture {capture.id} is already stored (or belongs to another session): "
                             "only new captures can be added")
    head = lock_chain(session)
    ids = reserve_capture_ids(session, len(captures), head.capture_id)
    for capture, capture_id in zip(captures, ids):
        if capture.source_id is None and capture.__dict__.get("source") is not None:
            capture.source_id = capture.source.id
        _fill_defaults(capture)
        capture.id = capture_id
        capture.seal_version = CAPTURE_RECORD_VERSION
        seal(session, head, capture)
    session.add_all(captures)
    session.flush()


def normalise_payload(payload: dict | None) -> dict | None:
    """The payload as it reads back from a JSON column (string keys, lists for tuples, times as
    ISO strings): what is sealed must be what is stored."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise ValueError("an event payload is a JSON object (a dict)")
    return json.loads(json.dumps(payload, ensure_ascii=False, default=str))


def append_events(session: Session, events: list[ChainEvent]) -> list[ChainEvent]:
    """Seal new events at the end of the chain, in order, within the caller's transaction.

    Each event's kind must be a short lower-case word (a-z, 0-9, _; at most 32 characters); its
    payload any JSON object, stored as JSON reads it back. Ids are reserved under the chain lock
    as for captures, then the events are sealed and written with one INSERT.
    """
    if not events:
        return events
    for event in events:
        if not inspect(event).transient:
            raise ValueError(f"event {event.id} is already stored: only new events can be appended")
        if not isinstance(event.kind, str) or not EVENT_KIND.match(event.kind):
            raise ValueError(f"event kind {event.kind!r} must be a short lower-case word (a-z, 0-9, _)")
    head = lock_chain(session)
    ids = reserve_ids(session, "chain_events", len(events))
    now = utcnow()
    for event, event_id in zip(events, ids):
        event.id = event_id
        event.payload = normalise_payload(event.payload)
        event.created_at = event.created_at or now
        event.seal_version = EVENT_RECORD_VERSION
        seal_event(session, head, event)
    session.add_all(events)
    session.flush()
    return events


def append_event(session: Session, kind: str, *, source_id: int | None = None, capture_id: int | None = None,
                 payload: dict | None = None) -> ChainEvent:
    """Seal one event at the end of the chain, in the caller's transaction, and return it.

    The public way to record a fact about a capture or a source once it is sealed: what is
    learned later (a Wayback copy: kind "wayback") and what is done to the store on purpose
    (custody events: kind "purge", see archiver.custody) become their own records in the chain
    instead of edits of sealed rows, so that `archiver verify` checks them and shows them.
    `capture_id` and `source_id` say what the event concerns (either or both may be None);
    `payload` is any JSON object.
    """
    return append_events(session, [ChainEvent(kind=kind, source_id=source_id, capture_id=capture_id,
                                              payload=payload)])[0]

