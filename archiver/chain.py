"""The capture hash chain: each capture's record hash covers its own fields and the previous hash.

Captures enter the store in batches, inside the caller's transaction, while holding the chain
lock (the `chain_heads` row, id 1: a row lock on PostgreSQL, the write lock on SQLite). Under
the lock the batch's ids are reserved (the next ids after the largest one on SQLite, `nextval`
of the id sequence on PostgreSQL), each capture is sealed in id order (the hash covers the id),
and the batch is written, seals included, with one INSERT (an executemany) and no UPDATE.
So captures are chained in id order even with several workers writing to one database.
Changing any sealed field, or deleting a capture, breaks the chain at that point; `verify`
finds it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import func, inspect, select, text, update
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
    """Give `capture` (which has its id) its place at the end of the chain."""
    capture.prev_hash = head.record_hash
    capture.record_hash = record_hash(capture, head.record_hash)
    head.capture_id = capture.id
    head.record_hash = capture.record_hash


def reserve_capture_ids(session: Session, count: int) -> list[int]:
    """`count` new capture ids, ascending; call with the chain lock held.

    SQLite: the ids after the largest in use (what SQLite itself would give the next rows),
    or after the largest ever given when the table is AUTOINCREMENT, so a deleted capture's
    id is not given again. The write lock keeps anyone else from inserting until commit.
    PostgreSQL: `count` values of the captures id sequence in one statement. Another worker
    can only draw from the sequence after this transaction ends (all capture inserts take the
    chain lock first), so its ids are larger than all of these.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        ids = session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('captures', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        ).all()
        return sorted(ids)
    if dialect == "sqlite":
        last = session.scalar(select(func.max(Capture.id))) or 0
        if session.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")):
            given = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'captures'"))
            last = max(last, given or 0)
        return list(range(last + 1, last + 1 + count))
    raise NotImplementedError(f"capture ids cannot be reserved on {dialect}")


def _column_defaults() -> list[tuple[str, object]]:
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
    import all go through here.

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
    ids = reserve_capture_ids(session, len(captures))
    for capture, capture_id in zip(captures, ids):
        if capture.source_id is None and capture.__dict__.get("source") is not None:
            capture.source_id = capture.source.id
        _fill_defaults(capture)
        capture.id = capture_id
        seal(session, head, capture)
    session.add_all(captures)
    session.flush()
