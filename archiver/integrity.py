"""Checking that nothing in the store changed since it was written: `archiver verify`.

Independent checks, each streaming so that a store of a million captures is verified in
bounded memory:
- every blob is re-hashed (decompressed, SHA-256 compared with its key, size compared);
- every body and text a capture refers to exists;
- the hash chain is walked in order, captures and chained events together: every record hash
  is recomputed under the record format its row was sealed with, each `prev_hash` must be the
  record hash of the element before, and the chain head must name the last element. A gap left
  by a purge is not a break when a sealed purge event lists what was removed (archiver.custody);
- every anchor that can be found (archiver.anchors: the anchor log beside the store, the store's
  copies of its lines, files given with `--anchor`, trusted timestamps) must name a head the
  chain still holds, with the same record hash: a store whose newest records were deleted and
  whose head was moved back fails here. The anchor log must be whole: every line linked to the
  one before, and every line the store recorded writing to it still there.

Every problem names the capture, event, blob or file it concerns, in words a researcher can put
in a methods note.
"""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import zstandard
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from archiver import anchors as anchoring
from archiver.chain import UnknownRecordVersion, capture_version, event_hash, record_hash
from archiver.models import Blob, Capture, ChainAnchor, ChainEvent, ChainHead

CAPTURE_PAGE = 1000
BLOB_PAGE = 1000
BLOB_BATCH_BYTES = 32 * 1024 * 1024
READ_CHUNK = 1024 * 1024
_FROM_SESSION = object()


@dataclass
class Problem:
    """One thing found wrong: what kind, which capture or blob, and a sentence saying it."""

    kind: str
    message: str
    capture_id: int | None = None
    blob_sha256: str | None = None
    event_id: int | None = None


@dataclass
class VerifyReport:
    """The outcome of `verify_store`: what was checked and every problem found."""

    blobs_checked: int = 0
    captures_checked: int = 0
    events_checked: int = 0
    timestamps_checked: int = 0
    head_capture_id: int | None = None
    head_event_id: int | None = None
    head_hash: str | None = None
    record_versions: dict[int, int] = field(default_factory=dict)
    purged: int = 0
    purges: list[dict] = field(default_factory=list)
    anchors: dict = field(default_factory=lambda: {"logs": [], "files": [], "store_records": 0, "checked": 0,
                                                   "timestamps": 0, "latest": None})
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, message: str, *, capture_id: int | None = None, blob_sha256: str | None = None,
            event_id: int | None = None) -> None:
        self.problems.append(Problem(kind, message, capture_id, blob_sha256, event_id))

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "blobs_checked": self.blobs_checked,
            "captures_checked": self.captures_checked,
            "events_checked": self.events_checked,
            "timestamps_checked": self.timestamps_checked,
            "chain_head": {"capture_id": self.head_capture_id, "record_hash": self.head_hash,
                           "event_id": self.head_event_id},
            "record_versions": {str(k): v for k, v in sorted(self.record_versions.items())},
            "purged_records": self.purged,
            "purges": list(self.purges),
            "anchors": self.anchors,
            "notes": list(self.notes),
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
        batch: list = []
        weight = 0
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
    """Every body, text, rendered page and screenshot that a capture or a screenshot event names
    must exist in the blob store."""
    for column, what in ((Capture.body_sha256, "body"), (Capture.text_sha256, "extracted text"),
                         (Capture.rendered_sha256, "rendered page"), (Capture.screenshot_sha256, "screenshot")):
        query = (
            select(Capture.id, column)
            .outerjoin(Blob, Blob.sha256 == column)
            .where(and_(column.is_not(None), Blob.sha256.is_(None)))
            .order_by(Capture.id)
        )
        for capture_id, key in session.execute(query):
            report.add("blob_missing", f"capture {capture_id}'s {what} (blob {key}) is missing from the store",
                       capture_id=capture_id, blob_sha256=key)
    events = session.execute(select(ChainEvent.id, ChainEvent.capture_id, ChainEvent.payload)
                             .where(ChainEvent.kind == "screenshot")).all()
    keys: set[str] = {key for _, _, payload in events if (key := (payload or {}).get("sha256"))}
    present: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = sorted(keys)[start:start + 500]
        present.update(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(chunk))))
    for event_id, capture_id, payload in events:
        key = (payload or {}).get("sha256")
        if key not in present:
            report.add("blob_missing", f"capture {capture_id}'s screenshot (blob {key}, event {event_id}) is missing "
                                       "from the store", capture_id=capture_id, blob_sha256=key)


# --- the chain ---------------------------------------------------------------------------------


def _pages(session: Session, model) -> Iterator:
    after = 0
    while True:
        page = list(session.scalars(select(model).where(model.id > after).order_by(model.id).limit(CAPTURE_PAGE)))
        if not page:
            return
        yield from page
        after = page[-1].id
        for row in page:
            if row in session:
                session.expunge(row)


def _elements(session: Session) -> Iterator[Capture | ChainEvent]:
    """Captures and events in chain order: an event comes after the capture it was appended after."""
    events = _pages(session, ChainEvent)
    event = next(events, None)
    for capture in _pages(session, Capture):
        while event is not None and (event.after_capture_id or 0) < capture.id:
            yield event
            event = next(events, None)
        yield capture
    while event is not None:
        yield event
        event = next(events, None)


def _label(element) -> str:
    return f"event {element.id}" if isinstance(element, ChainEvent) else f"capture {element.id}"


def _key(element) -> tuple[str, int]:
    return ("event", element.id) if isinstance(element, ChainEvent) else ("capture", element.id)


@dataclass
class _Purged:
    """What sealed purge events say was removed: each removed record by the hash it linked to."""

    by_prev: dict[str | None, dict] = field(default_factory=dict)
    by_key: dict[tuple[str, int | None], dict] = field(default_factory=dict)
    event_of: dict[tuple[str, int | None], int] = field(default_factory=dict)
    summaries: list[dict] = field(default_factory=list)

    def bridge(self, start: str | None, goal: str | None) -> list[dict] | None:
        """The purged records leading from `start` to `goal`, or None when they do not."""
        path: list[dict] = []
        current = start
        while current != goal:
            removed = self.by_prev.get(current)
            if removed is None or len(path) > len(self.by_prev):
                return None
            path.append(removed)
            current = removed.get("record_hash")
        return path


def _load_purged(session: Session) -> _Purged:
    purged = _Purged()
    for event_id, created_at, payload in session.execute(
            select(ChainEvent.id, ChainEvent.created_at, ChainEvent.payload)
            .where(ChainEvent.kind == "purge").order_by(ChainEvent.id)):
        payload = payload if isinstance(payload, dict) else {}
        purged.summaries.append({
            "event_id": event_id, "at": created_at.isoformat() if created_at else None,
            "reason": payload.get("reason"), "actor": payload.get("actor"), "source_url": payload.get("source_url"),
            "captures": payload.get("captures"), "events": payload.get("events"),
            "blobs": len(payload.get("blobs") or []),
        })
        for removed in payload.get("removed") or []:
            if not isinstance(removed, dict) or removed.get("element") not in ("capture", "event"):
                continue
            key = (removed["element"], removed.get("id"))
            purged.by_prev[removed.get("prev_hash")] = removed
            purged.by_key[key] = removed
            purged.event_of[key] = event_id
    return purged


def check_chain(session: Session, report: VerifyReport, progress: Callable[[str, int], None] | None = None,
                anchors: list[anchoring.Anchor] | None = None) -> None:
    """Walk the chain in order, recompute every record hash, follow the prev_hash links to the
    head, and check each anchor against the element it names."""
    purged = _load_purged(session)
    report.purges = purged.summaries
    waiting: dict[tuple[str, int | None], list[anchoring.Anchor]] = {}
    for anchor in anchors or []:
        waiting.setdefault(anchor.key, []).append(anchor)
    previous = None
    previous_hash: str | None = None
    last_capture_id: int | None = None
    last_event_id: int | None = None
    element: Any  # a Capture or a ChainEvent, as is_event says
    for element in _elements(session):
        is_event = isinstance(element, ChainEvent)
        label = _label(element)
        ids = {"event_id": element.id, "capture_id": element.capture_id} if is_event else {"capture_id": element.id}
        if is_event:
            report.events_checked += 1
            last_event_id = element.id
        else:
            report.captures_checked += 1
            last_capture_id = element.id
            version = capture_version(element)
            report.record_versions[version] = report.record_versions.get(version, 0) + 1
        kind = "event" if is_event else "capture"
        if not element.record_hash:
            report.add(f"{kind}_unsealed", f"{label} has no record hash: it was written outside the archiver, or its "
                                           "seal was erased", **ids)
        else:
            try:
                expected = event_hash(element, element.prev_hash) if is_event else record_hash(element, element.prev_hash)
            except UnknownRecordVersion as exc:
                report.add(f"{kind}_altered", f"{label} cannot be checked: {exc} (its record format was altered, or "
                                              "it was written by a newer archiver)", **ids)
            else:
                if expected != element.record_hash:
                    what = (f"its recorded fields ({element.kind} event) no longer match its record hash" if is_event
                            else "its recorded fields no longer match its record hash")
                    report.add(f"{kind}_altered", f"{label} was altered after it was stored: {what}", **ids)
        if not is_event and capture_version(element) == 1 and element.origin != "wayback" and (
                element.wayback_url is not None or element.wayback_timestamp is not None):
            report.add("capture_altered", f"{label} shows a Wayback Machine copy ({element.wayback_url}) that no sealed "
                                          "record holds: Wayback copies of live captures are chained events, so this "
                                          "was written on the row after it was stored", **ids)
        if element.prev_hash != previous_hash:
            bridged = purged.bridge(previous_hash, element.prev_hash)
            if bridged:
                report.purged += len(bridged)
            elif previous is None:
                report.add("capture_missing", f"the first record in the store, {label}, links to a record that is "
                                              f"not there: one or more captures before it were deleted", **ids)
            else:
                report.add("chain_broken", f"the chain is broken before {label}: it does not link to "
                                           f"{_label(previous)}; {_gap(previous, element)}", **ids)
        found = waiting.pop(_key(element), [])
        mismatched = [a for a in found if a.record_hash != element.record_hash]
        report.anchors["checked"] += len(found) - len(mismatched)
        for group in ([a for a in mismatched if a.timestamp], [a for a in mismatched if not a.timestamp]):
            if group:
                first = group[0]
                others = f" (and {len(group) - 1} other anchor(s))" if len(group) > 1 else ""
                report.add(f"{kind}_altered" if first.timestamp else "chain_rewritten",
                           f"{first.describe()}{others} covers {label} with record hash {first.record_hash}, but "
                           f"it now has {element.record_hash}: the chain was rewritten after that", **ids)
        previous, previous_hash = element, element.record_hash
        checked = report.captures_checked + report.events_checked
        if progress and checked % CAPTURE_PAGE == 0:
            progress("records", checked)
    _check_head(session, report, previous, last_capture_id, purged)
    _check_unmatched_anchors(report, waiting, purged, previous, last_capture_id, last_event_id)


def _gap(previous, element) -> str:
    if isinstance(previous, Capture) and isinstance(element, Capture):
        cid, previous_id = element.id, previous.id
        if cid - previous_id > 2:
            return f"captures {previous_id + 1} to {cid - 1} were deleted"
        if cid - previous_id == 2:
            return f"capture {previous_id + 1} was deleted"
    return f"records between them were deleted, or {_label(previous)}'s record hash or {_label(element)}'s link was altered"


def _check_head(session: Session, report: VerifyReport, last, last_capture_id: int | None, purged: _Purged) -> None:
    head = session.get(ChainHead, 1)
    if head is None:
        report.add("chain_head", "the chain head (row 1 of chain_heads) is missing")
        return
    report.head_capture_id, report.head_event_id, report.head_hash = head.capture_id, head.event_id, head.record_hash
    last_hash = last.record_hash if last is not None else None
    last_event_id = last.id if isinstance(last, ChainEvent) else None
    # After a purge of the newest captures the head still names the last capture ever chained.
    same_capture = head.capture_id == last_capture_id or (
        head.event_id is not None and ("capture", head.capture_id) in purged.by_key
        and (last_capture_id is None or (head.capture_id or 0) > last_capture_id))
    if same_capture and head.event_id == last_event_id and head.record_hash == last_hash:
        return
    head_label = anchoring.element_label(head.capture_id, head.event_id)
    beyond = (head.event_id is None and head.capture_id is not None
              and (last_capture_id is None or (head.capture_id or 0) > last_capture_id))
    if beyond:
        last_text = f"the last capture is {last_capture_id}" if last_capture_id is not None else "there are no captures"
        report.add("capture_missing", f"the chain head names capture {head.capture_id} but {last_text}: the most "
                                      "recent captures were deleted", capture_id=head.capture_id)
    else:
        last_label = _label(last) if last is not None else "nothing"
        report.add("chain_head", f"the chain head ({head_label}, hash {head.record_hash}) does not match the last "
                                 f"record ({last_label}, hash {last_hash}): the head or the last record was altered",
                   capture_id=last_capture_id)


def _check_unmatched_anchors(report: VerifyReport, waiting: dict, purged: _Purged, last, last_capture_id,
                             last_event_id) -> None:
    """Anchors naming a record the walk did not meet: purged on record, or missing."""
    end = _label(last) if last is not None else "nothing (the store holds no records)"
    for key, found in waiting.items():
        first = found[0]
        others = f" (and {len(found) - 1} other anchor(s))" if len(found) > 1 else ""
        removed = purged.by_key.get(key)
        if removed is not None:
            if removed.get("record_hash") == first.record_hash:
                report.anchors["checked"] += len(found)
                continue
            report.add("chain_rewritten", f"{first.describe()}{others} recorded {first.label} with record hash "
                                          f"{first.record_hash}, but purge event {purged.event_of[key]} lists it with "
                                          f"{removed.get('record_hash')}", capture_id=first.capture_id,
                       event_id=first.event_id)
            continue
        element, number = key
        if number is None:
            continue
        newest = last_event_id if element == "event" else last_capture_id
        ids = {"capture_id": first.capture_id, "event_id": first.event_id}
        if first.timestamp:
            report.add("capture_missing", f"{first.describe()} covers {first.label}, which is missing", **ids)
        elif newest is None or number > newest:
            report.add("chain_truncated", f"the chain was cut short: {first.describe()}{others} records that the chain "
                                          f"reached {first.label} with record hash {first.record_hash}, but the "
                                          f"store's chain now ends at {end}: the records after {end} were deleted and "
                                          "the chain head moved back", **ids)
        else:
            report.add("chain_rewritten", f"{first.describe()}{others} records {first.label} with record hash "
                                          f"{first.record_hash} as the chain head, but the store no longer holds "
                                          f"{first.label}: it was deleted", **ids)


# --- anchors -----------------------------------------------------------------------------------


def _log_summary(reading: anchoring.LogReading, role: str) -> dict:
    last = reading.anchors[-1] if reading.anchors else None
    return {"path": str(reading.path), "role": role, "found": reading.exists, "lines": reading.lines,
            "last": {"written_at": last.written_at, "capture_id": last.capture_id, "event_id": last.event_id,
                     "record_hash": last.record_hash} if last else None}


def collect_anchors(session: Session, report: VerifyReport, anchor_log: Path | None,
                    files: Iterable[str | Path] = ()) -> list[anchoring.Anchor]:
    """Every anchor that can be found, and the problems of the anchor logs themselves.

    Read: the anchor log at `anchor_log` (beside the store), the logs the store recorded
    writing to, the files given (anchor logs, WACZ, WARC, reports), the store's copies of the
    log lines. Each copy must be found in a log read here: a line the store recorded that no log
    holds means lines were removed or edited, or the log is missing.
    """
    found: list[anchoring.Anchor] = []
    readings: dict[str, anchoring.LogReading] = {}

    def read(path: Path, role: str) -> anchoring.LogReading:
        key = str(path)
        if key not in readings:
            reading = readings[key] = anchoring.read_log(path)
            found.extend(reading.anchors)
            for message in reading.problems:
                report.add("anchor_log_altered", message)
            report.anchors["logs"].append(_log_summary(reading, role))
        return readings[key]

    if anchor_log is not None:
        read(anchor_log, "beside the store")
    else:
        report.notes.append("no anchor log is configured for this database (set anchor_log in the [integrity] "
                            "section of config.toml): deleting the newest records cannot be detected from outside it")
    for file in files:
        path = Path(file).expanduser()
        if anchoring.is_log(path):
            read(path.resolve(), "given")
        else:
            try:
                anchors = anchoring.anchors_in_file(path)
            except anchoring.AnchorError as exc:
                report.add("anchor_unreadable", str(exc))
                continue
            found.extend(anchors)
            report.anchors["files"].append({"path": str(path), "heads": len(anchors)})
    rows = list(session.scalars(select(ChainAnchor).order_by(ChainAnchor.id)))
    report.anchors["store_records"] = len(rows)
    for row in rows:
        if row.path not in readings and Path(row.path).is_file():
            read(Path(row.path), "named by the store")
    known = set().union(*(r.line_hashes for r in readings.values())) if readings else set()
    unmatched: dict[str, list[ChainAnchor]] = {}
    for row in rows:
        found.append(anchoring.Anchor(f"the store's copy of line {row.seq} of the anchor log {row.path}",
                                      row.capture_id, row.event_id, row.record_hash,
                                      written_at=row.written_at.isoformat() if row.written_at else None,
                                      command=row.command))
        if row.line_sha256 not in known:
            unmatched.setdefault(row.path, []).append(row)
    _report_unmatched(report, unmatched, readings)
    latest = max((a for a in found if a.written_at), key=lambda a: a.written_at or "", default=None)
    if latest is not None:
        report.anchors["latest"] = {"source": latest.source, "written_at": latest.written_at,
                                    "capture_id": latest.capture_id, "event_id": latest.event_id,
                                    "record_hash": latest.record_hash}
    return found


def _report_unmatched(report: VerifyReport, unmatched: dict[str, list[ChainAnchor]],
                      readings: dict[str, anchoring.LogReading]) -> None:
    """The store's copies of anchor log lines that no log read holds, by log: the log lost its
    last lines, was edited, is missing, or was written on another machine (a note, not a problem)."""
    host = socket.gethostname()
    for log_path, missing in unmatched.items():
        last = missing[-1]
        when = f"the last written {last.written_at:%Y-%m-%d %H:%M} UTC" if last.written_at else ""
        seqs = sorted(r.seq for r in missing)
        lines = f"line {seqs[0]}" if len(seqs) == 1 else f"lines {seqs[0]} to {seqs[-1]}" if seqs[-1] - seqs[0] + 1 == len(seqs) \
            else f"{len(seqs)} lines ({', '.join(map(str, seqs[:10]))}{'...' if len(seqs) > 10 else ''})"
        reading = readings.get(log_path)
        if reading is not None and reading.exists:
            if seqs[0] > reading.lines:
                report.add("anchor_log_truncated", f"the anchor log {log_path} has lost its last lines: the store recorded "
                                                   f"writing {lines} ({when}), but the log holds {reading.lines}")
            else:
                report.add("anchor_log_altered", f"the anchor log {log_path} no longer holds {lines} as the store recorded "
                                                 f"writing them ({when}): they were edited or removed")
        elif all(r.host == host for r in missing):
            report.add("anchor_log_missing", f"the anchor log {log_path} is missing: the store recorded writing "
                                             f"{len(missing)} line(s) to it on this machine ({when}). If the archive "
                                             "was moved, give its log with `archiver verify --anchor PATH`")
        else:
            hosts = ", ".join(sorted({r.host or "?" for r in missing}))
            report.notes.append(f"{len(missing)} anchor(s) written to {log_path} on {hosts} could not be checked here: "
                                "give that log with `archiver verify --anchor PATH`")


def check_timestamps(session: Session, report: VerifyReport) -> list[anchoring.Anchor]:
    """Each stored RFC 3161 token must be valid; the heads they cover are returned as anchors
    (the chain walk checks that the chain still holds them)."""
    heads = list(session.scalars(select(ChainHead).where(ChainHead.id != 1, ChainHead.tsa_token.is_not(None))
                                 .order_by(ChainHead.id)))
    if not heads:
        return []
    from archiver.timestamp import TimestampError, verify_token

    found = []
    for head in heads:
        report.timestamps_checked += 1
        label = f"trusted timestamp {head.id} ({anchoring.element_label(head.capture_id, head.event_id)}, from {head.tsa_url})"
        try:
            verify_token(head.tsa_token or b"", head.record_hash or "")
        except TimestampError as exc:
            report.add("timestamp_invalid", f"{label} is not valid: {exc}", capture_id=head.capture_id,
                       event_id=head.event_id)
            continue
        found.append(anchoring.Anchor(label, head.capture_id, head.event_id, head.record_hash or "", timestamp=True))
    return found


def _logged_timestamps(report: VerifyReport, anchors: list[anchoring.Anchor]) -> None:
    """Tokens kept in anchor log lines (by `archiver timestamp`) must be valid too."""
    tokens = [a for a in anchors if a.tsa_token]
    if not tokens:
        return
    from archiver.timestamp import TimestampError, verify_token

    for anchor in tokens:
        report.anchors["timestamps"] += 1
        try:
            verify_token(anchor.tsa_token or b"", anchor.record_hash)
        except TimestampError as exc:
            report.add("timestamp_invalid", f"the trusted timestamp in {anchor.source} is not valid: {exc}",
                       capture_id=anchor.capture_id, event_id=anchor.event_id)


def verify_store(session: Session, progress: Callable[[str, int], None] | None = None, *,
                 anchor_log: Path | None | object = _FROM_SESSION, anchor_files: Iterable[str | Path] = ()) -> VerifyReport:
    """Run every check on the store behind `session` and return what was found.

    Read-only. `progress(stage, count)` is called now and then for long runs. `anchor_log` is
    the anchor log beside the store (by default the one beside a SQLite file; None when there
    is none, e.g. PostgreSQL without [integrity] anchor_log); `anchor_files` are more anchors
    to check against: copies of anchor logs, WACZ and WARC files, citation reports.
    """
    report = VerifyReport()
    if anchor_log is _FROM_SESSION:
        anchor_log = anchoring.default_log_path(session.get_bind().engine.url.render_as_string(hide_password=True))
    check_blobs(session, report, progress)
    check_references(session, report)
    anchors = collect_anchors(session, report, anchor_log if isinstance(anchor_log, Path) else None, anchor_files)
    _logged_timestamps(report, anchors)
    anchors += check_timestamps(session, report)
    check_chain(session, report, progress, anchors)
    if report.record_versions.get(1):
        report.notes.append(f"{report.record_versions[1]} capture(s) were sealed under record format 1, before this "
                            "archive was upgraded: their title, text length, similarity, compared-to capture, run, "
                            "published date and timing are not covered by their seal")
    return report
