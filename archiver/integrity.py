"""Checking that nothing in the store changed since it was written: `archiver verify`.

Three independent checks, each streaming so that a store of a million captures is
verified in bounded memory:
- every blob is re-hashed (decompressed, SHA-256 compared with its key, size compared);
- every body and text a capture refers to exists;
- every capture's record hash is recomputed in id order, each `prev_hash` must be the
  previous capture's record hash, and the chain head must name the last capture.
Trusted timestamps of the chain head (RFC 3161), when any were taken, are checked too.

Every problem names the capture id or blob SHA-256 it concerns, in words a researcher
can put in a methods note.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import zstandard
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from archiver.chain import record_hash
from archiver.models import Blob, Capture, ChainHead

CAPTURE_PAGE = 1000
BLOB_PAGE = 1000
BLOB_BATCH_BYTES = 32 * 1024 * 1024
READ_CHUNK = 1024 * 1024


@dataclass
class Problem:
    """One thing found wrong: what kind, which capture or blob, and a sentence saying it."""

    kind: str
    message: str
    capture_id: int | None = None
    blob_sha256: str | None = None


@dataclass
class VerifyReport:
    """The outcome of `verify_store`: what was checked and every problem found."""

    blobs_checked: int = 0
    captures_checked: int = 0
    timestamps_checked: int = 0
    head_capture_id: int | None = None
    head_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, message: str, *, capture_id: int | None = None, blob_sha256: str | None = None) -> None:
        self.problems.append(Problem(kind, message, capture_id, blob_sha256))

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "blobs_checked": self.blobs_checked,
            "captures_checked": self.captures_checked,
            "timestamps_checked": self.timestamps_checked,
            "chain_head": {"capture_id": self.head_capture_id, "record_hash": self.head_hash},
            "problems": [asdict(p) for p in self.problems],
        }


def _hash_blob(codec: str, data: bytes) -> tuple[str, int]:
    """SHA-256 and length of a blob's uncompressed bytes, decompressing in chunks."""
    digest = hashlib.sha256()
    size = 0
    if codec == "zstd":
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True) as reader:
            while chunk := reader.read(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    else:
        digest.update(data)
        size = len(data)
    return digest.hexdigest(), size


def _blob_batches(session: Session) -> Iterator[list[str]]:
    """Blob keys in order, grouped so that one group's compressed bytes stay under BLOB_BATCH_BYTES."""
    after = ""
    while True:
        rows = session.execute(
            select(Blob.sha256, func.length(Blob.data))
            .where(Blob.sha256 > after)
            .order_by(Blob.sha256)
            .limit(BLOB_PAGE)
        ).all()
        if not rows:
            return
        batch, weight = [], 0
        for key, length in rows:
            if batch and weight + (length or 0) > BLOB_BATCH_BYTES:
                yield batch
                batch, weight = [], 0
            batch.append(key)
            weight += length or 0
        yield batch
        after = rows[-1][0]


def check_blobs(session: Session, report: VerifyReport, progress: Callable[[str, int], None] | None = None) -> None:
    """Re-hash every stored blob and compare with its key and recorded size."""
    for keys in _blob_batches(session):
        rows = session.execute(
            select(Blob.sha256, Blob.size, Blob.codec, Blob.data).where(Blob.sha256.in_(keys)).order_by(Blob.sha256)
        ).all()
        for key, size, codec, data in rows:
            report.blobs_checked += 1
            try:
                actual, actual_size = _hash_blob(codec, data or b"")
            except zstandard.ZstdError as exc:
                report.add("blob_unreadable", f"blob {key} cannot be decompressed ({exc}): its stored bytes were "
                                              "damaged or replaced", blob_sha256=key)
                continue
            if actual != key:
                report.add("blob_altered", f"blob {key} was altered: its content now hashes to {actual}",
                           blob_sha256=key)
            elif actual_size != size:
                report.add("blob_size", f"blob {key} has {actual_size} bytes but its row records {size}",
                           blob_sha256=key)
        if progress:
            progress("blobs", report.blobs_checked)
        session.expunge_all()


def check_references(session: Session, report: VerifyReport) -> None:
    """Every body and text that a capture names must exist in the blob store."""
    for column, what in ((Capture.body_sha256, "body"), (Capture.text_sha256, "extracted text")):
        query = (
            select(Capture.id, column)
            .outerjoin(Blob, Blob.sha256 == column)
            .where(and_(column.is_not(None), Blob.sha256.is_(None)))
            .order_by(Capture.id)
        )
        for capture_id, key in session.execute(query):
            report.add("blob_missing", f"capture {capture_id}'s {what} (blob {key}) is missing from the store",
                       capture_id=capture_id, blob_sha256=key)


def _captures(session: Session) -> Iterator[Capture]:
    after = 0
    while True:
        page = list(session.scalars(select(Capture).where(Capture.id > after).order_by(Capture.id).limit(CAPTURE_PAGE)))
        if not page:
            return
        yield from page
        after = page[-1].id
        session.expunge_all()


def check_chain(session: Session, report: VerifyReport, progress: Callable[[str, int], None] | None = None) -> None:
    """Recompute every record hash in id order and follow the prev_hash links to the chain head."""
    previous_id: int | None = None
    previous_hash: str | None = None
    for capture in _captures(session):
        report.captures_checked += 1
        cid = capture.id
        if not capture.record_hash:
            report.add("capture_unsealed", f"capture {cid} has no record hash: it was written outside the "
                                           "archiver, or its seal was erased", capture_id=cid)
        elif record_hash(capture, capture.prev_hash) != capture.record_hash:
            report.add("capture_altered", f"capture {cid} was altered after it was stored: its recorded fields "
                                          "no longer match its record hash", capture_id=cid)
        if capture.prev_hash != previous_hash:
            if previous_id is None:
                report.add("capture_missing", f"the first capture in the store, {cid}, links to a capture that is "
                                              f"not there: one or more captures before {cid} were deleted",
                           capture_id=cid)
            else:
                if cid - previous_id > 2:
                    where = f"captures {previous_id + 1} to {cid - 1} were deleted"
                elif cid - previous_id == 2:
                    where = f"capture {previous_id + 1} was deleted"
                else:
                    where = f"capture {previous_id}'s record hash or capture {cid}'s link was altered"
                report.add("chain_broken", f"the chain is broken before capture {cid}: it does not link to capture "
                                           f"{previous_id}; {where}", capture_id=cid)
        previous_id, previous_hash = cid, capture.record_hash
        if progress and report.captures_checked % CAPTURE_PAGE == 0:
            progress("captures", report.captures_checked)
    head = session.get(ChainHead, 1)
    if head is None:
        report.add("chain_head", "the chain head (row 1 of chain_heads) is missing")
        return
    report.head_capture_id, report.head_hash = head.capture_id, head.record_hash
    if head.capture_id != previous_id or head.record_hash != previous_hash:
        if head.capture_id is not None and (previous_id is None or head.capture_id > previous_id):
            last = f"the last capture is {previous_id}" if previous_id is not None else "there are no captures"
            report.add("capture_missing", f"the chain head names capture {head.capture_id} but {last}: the most "
                                          "recent captures were deleted", capture_id=head.capture_id)
        else:
            report.add("chain_head", f"the chain head (capture {head.capture_id}, hash {head.record_hash}) does not "
                                     f"match the last capture ({previous_id}, hash {previous_hash}): the head or the "
                                     "last capture was altered", capture_id=previous_id)


def check_timestamps(session: Session, report: VerifyReport) -> None:
    """Each stored RFC 3161 token must be valid and match the capture it timestamped."""
    heads = list(session.scalars(select(ChainHead).where(ChainHead.id != 1, ChainHead.tsa_token.is_not(None))
                                 .order_by(ChainHead.id)))
    if not heads:
        return
    from archiver.timestamp import TimestampError, verify_token

    for head in heads:
        report.timestamps_checked += 1
        label = f"trusted timestamp {head.id} (capture {head.capture_id}, from {head.tsa_url})"
        try:
            verify_token(head.tsa_token, head.record_hash)
        except TimestampError as exc:
            report.add("timestamp_invalid", f"{label} is not valid: {exc}", capture_id=head.capture_id)
            continue
        stored = session.scalar(select(Capture.record_hash).where(Capture.id == head.capture_id))
        if stored is None:
            report.add("capture_missing", f"{label} covers capture {head.capture_id}, which is missing",
                       capture_id=head.capture_id)
        elif stored != head.record_hash:
            report.add("capture_altered", f"{label} covers record hash {head.record_hash}, but capture "
                                          f"{head.capture_id} now has {stored}", capture_id=head.capture_id)


def verify_store(session: Session, progress: Callable[[str, int], None] | None = None) -> VerifyReport:
    """Run every check on the store behind `session` and return what was found.

    Read-only. `progress(stage, count)` is called now and then for long runs.
    """
    report = VerifyReport()
    check_blobs(session, report, progress)
    check_references(session, report)
    check_chain(session, report, progress)
    check_timestamps(session, report)
    return report
