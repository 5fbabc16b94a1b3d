"""The capture hash chain: each capture's record hash covers its own fields and the previous hash.

Sealing happens inside the transaction that inserts the capture, while holding the
`chain_heads` row (id 1) locked, so captures are chained in id order even with several
workers writing to one database. Changing any sealed field, or deleting a capture,
breaks the chain at that point; `verify` finds it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import update
from sqlalchemy.orm import Session

from archiver.models import Capture, ChainHead

SEALED_FIELDS = (
    "id", "source_id", "origin", "requested_url", "final_url", "started_at", "ended_at",
    "status_code", "redirects", "request_headers", "response_headers", "server_ip",
    "http_version", "content_type", "charset", "body_sha256", "body_size", "text_sha256",
    "not_modified", "error_kind", "error", "verdict", "verdict_reason", "tool", "tool_version", "config",
)


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat() + "+00:00"
    return value


def sealed_record(capture: Capture, prev_hash: str | None) -> dict:
    """The data a record hash covers: the sealed fields as plain JSON values, and the previous hash."""
    record = {name: _plain(getattr(capture, name)) for name in SEALED_FIELDS}
    record["prev_hash"] = prev_hash
    return record


def canonical_json(record: dict) -> bytes:
    """The exact bytes hashed: sorted keys, no spaces, UTF-8. Anyone can recompute a record hash
    from an exported sealed record with sha256(canonical_json(record))."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def record_hash(capture: Capture, prev_hash: str | None) -> str:
    """SHA-256 over the capture's sealed fields (canonical JSON) and the previous record hash."""
    return hashlib.sha256(canonical_json(sealed_record(capture, prev_hash))).hexdigest()


def lock_chain(session: Session) -> ChainHead:
    """Take the chain lock for this transaction (a row lock on PostgreSQL, the write lock on SQLite)."""
    session.execute(update(ChainHead).where(ChainHead.id == 1).values(id=1))
    head = session.get(ChainHead, 1, populate_existing=True)
    if head is None:
        raise RuntimeError("chain_heads row 1 is missing: the database was not created by the migrations")
    return head


def seal(session: Session, head: ChainHead, capture: Capture) -> None:
    """Give `capture` (already flushed, so it has an id) its place at the end of the chain."""
    capture.prev_hash = head.record_hash
    capture.record_hash = record_hash(capture, head.record_hash)
    head.capture_id = capture.id
    head.record_hash = capture.record_hash


def add_captures(session: Session, captures: list[Capture]) -> None:
    """Insert and seal captures, in order, within the caller's transaction.

    The only way captures enter the store: the pipeline, Wayback recovery and WARC
    import all go through here.
    """
    if not captures:
        return
    head = lock_chain(session)
    for capture in captures:
        session.add(capture)
        session.flush()
        seal(session, head, capture)
    session.flush()
