"""Anchors of the chain head outside the database, so that a store cut short is caught.

The hash chain shows any change inside it, but not its own end: delete the last captures, move
the head back, and what is left is a valid chain. So the head is written down elsewhere too:

- the anchor log, an append-only file of JSON lines beside the store: `<database file>.anchors.jsonl`
  next to a SQLite file, or the path set as `anchor_log` in the [integrity] section of config.toml
  (the only way for PostgreSQL). Every command that extends the chain (a capture pass, a Wayback
  drain that recorded copies, a WARC import, a recovery, a purge) appends one line naming the
  head it left: capture or event id and record hash, when, on which machine, by which command.
  Each line carries the SHA-256 of the line before it, so an edited or removed line shows;
  `archiver timestamp` adds the authority's token to its line;
- a copy of every line in the `chain_anchors` table, so that a log that lost lines shows too;
- the head printed in every citation report (Markdown, HTML, JSON) and every WARC/WACZ export,
  which a researcher keeps with what was published and can give back to `verify --anchor FILE`.

`archiver verify` reads every anchor it can find (`collect`) and checks that the chain still
holds each anchored head with the same record hash. What none of this can catch: someone who
rewrites the database, the log and its copies consistently; a trusted timestamp (RFC 3161) or a
copy of the log kept elsewhere (e.g. mailed to a colleague, or in version control) closes that.

This module reads without SQLAlchemy (the report command prints the head through it).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from archiver import dates

log = logging.getLogger(__name__)

LOG_SUFFIX = ".anchors.jsonl"
LOG_FORMAT = "source-archiver/anchor/1"
_TAIL_CHUNK = 4096


class AnchorError(Exception):
    """The anchor log cannot be written or a file given as an anchor cannot be read."""


@dataclass
class Head:
    """The end of the chain: the last capture, the last element when it is an event, its hash."""

    capture_id: int | None
    event_id: int | None
    record_hash: str | None

    @property
    def label(self) -> str:
        return element_label(self.capture_id, self.event_id)

    def as_json(self) -> dict:
        return {"capture_id": self.capture_id, "event_id": self.event_id, "record_hash": self.record_hash}


def short_time(value: str | None) -> str:
    """An ISO time as a reader wants it: 2026-11-24 02:00:13 UTC."""
    try:
        return dates.when(value, seconds=True, utc=True)
    except ValueError:
        return value or "-"


def element_label(capture_id: int | None, event_id: int | None) -> str:
    """How a message names a chain element: "capture 12" or "event 3 (after capture 12)"."""
    if event_id is not None:
        return f"event {event_id}" + (f" (after capture {capture_id})" if capture_id is not None else "")
    return f"capture {capture_id}"


def head_text(head: Head | None) -> str:
    """The line a report or export prints, in a form `verify --anchor` reads back."""
    if head is None or not head.record_hash:
        return "Archive hash-chain head: none (the archive holds no captures yet)"
    where = f"capture {head.capture_id}" + (f", event {head.event_id}" if head.event_id is not None else "")
    return f"Archive hash-chain head: {where}, record hash {head.record_hash}"


def read_head(db) -> Head | None:
    """The current chain head, through an archiver.readdb.Reader; None when nothing is chained yet."""
    rows = db.rows("SELECT capture_id, event_id, record_hash FROM chain_heads WHERE id = 1")
    if not rows or not rows[0][2]:
        return None
    return Head(rows[0][0], rows[0][1], rows[0][2])


def default_log_path(database_url: str | None) -> Path | None:
    """The anchor log beside a SQLite file (`archive.db` -> `archive.db.anchors.jsonl`); None for
    other databases and in-memory SQLite."""
    if not database_url:
        return None
    from archiver.db import sqlite_path

    database = sqlite_path(database_url)
    if database is None:
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + LOG_SUFFIX)


def log_path(config) -> Path | None:
    """Where this configuration's anchor log is: [integrity] anchor_log, else beside the SQLite
    file; None for PostgreSQL without anchor_log."""
    configured = getattr(config.integrity, "anchor_log", "") or ""
    if configured:
        return Path(configured).expanduser().resolve()
    return default_log_path(config.database.url)


def line_sha256(line: bytes) -> str:
    """The hash a line is known by: SHA-256 of its bytes without the newline."""
    return hashlib.sha256(line.rstrip(b"\r\n")).hexdigest()


def _last_line(handle) -> bytes | None:
    """The last non-empty line of an open file, read from its end."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    data = b""
    position = end
    while position > 0:
        step = min(_TAIL_CHUNK, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
        stripped = data.rstrip(b"\r\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    stripped = data.rstrip(b"\r\n")
    return stripped or None


def _count_lines(handle) -> int:
    handle.seek(0)
    return sum(1 for line in handle if line.strip())


@dataclass
class Written:
    """One line appended to an anchor log."""

    path: Path
    seq: int
    line_sha256: str
    entry: dict


def append_line(path: Path, head: Head, command: str, *, extra: dict | None = None,
                now: datetime | None = None) -> Written | None:
    """Append the head to the anchor log at `path` (created if need be), linked to the line before.

    The file is locked while its last line is read and the new one written, then flushed to
    disk: several processes can append to one log. Returns None, writing nothing, when the last
    line names this head already and there is nothing `extra` to say.
    """
    now = now or datetime.now(UTC)
    if not path.parent.is_dir():
        raise AnchorError(f"cannot write the anchor log {path}: folder {path.parent} does not exist")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise AnchorError(f"cannot write the anchor log {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            last = _last_line(handle)
            seq, prev = 1, None
            if last is not None:
                prev = line_sha256(last)
                try:
                    previous = json.loads(last)
                    seq = int(previous["seq"]) + 1
                except (ValueError, KeyError, TypeError):
                    previous, seq = None, _count_lines(handle) + 1
                if not extra and isinstance(previous, dict) and (
                        previous.get("capture_id"), previous.get("event_id"), previous.get("record_hash")) == (
                        head.capture_id, head.event_id, head.record_hash):
                    return None
            entry = {"format": LOG_FORMAT, "seq": seq, "written_at": now.isoformat(), "host": socket.gethostname(),
                     "command": command, "capture_id": head.capture_id, "event_id": head.event_id,
                     "record_hash": head.record_hash, "prev_line_sha256": prev}
            entry.update(extra or {})
            line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            handle.seek(0, os.SEEK_END)
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise AnchorError(f"cannot write the anchor log {path}: {exc.strerror or exc}") from None
    return Written(path, seq, line_sha256(line), entry)


def anchor_head(session_factory, config, command: str, *, extra: dict | None = None) -> Written | None:
    """Write the current chain head to the anchor log and its copy to `chain_anchors`.

    Called by every command that extends the chain, after its transaction committed. Without
    `config`, the log beside a SQLite store. Returns None when there is nothing new to anchor (an
    empty chain, or the head the log names already) or no log is configured (PostgreSQL without
    [integrity] anchor_log). Raises AnchorError when the log cannot be written: callers
    report it and carry on, the captures being stored already.
    """
    from sqlalchemy import select

    from archiver.models import ChainAnchor, ChainHead

    path = log_path(config) if config is not None else default_log_path(str(session_factory.kw["bind"].url))
    if path is None:
        log.info("no anchor log configured ([integrity] anchor_log): chain head not anchored")
        return None
    with session_factory() as session:
        row = session.scalar(select(ChainHead).where(ChainHead.id == 1))
        if row is None or not row.record_hash:
            return None
        head = Head(row.capture_id, row.event_id, row.record_hash)
    written = append_line(path, head, command, extra=extra)
    if written is None:
        return None
    with session_factory.begin() as session:
        session.add(ChainAnchor(written_at=datetime.fromisoformat(written.entry["written_at"]),
                                host=written.entry["host"], path=str(path), seq=written.seq,
                                line_sha256=written.line_sha256, command=command, capture_id=head.capture_id,
                                event_id=head.event_id, record_hash=head.record_hash))
    return written


def anchor_quietly(session_factory, config, command: str, *, extra: dict | None = None) -> Written | None:
    """anchor_head, logging instead of raising: a command that stored its work must not fail for this."""
    try:
        return anchor_head(session_factory, config, command, extra=extra)
    except AnchorError as exc:
        log.warning("%s; `archiver verify` will not be able to check the newest records against it", exc)
    except Exception:  # the work is committed; an anchor failure must not turn it into a failure
        log.exception("could not anchor the chain head")
    return None


# --- reading -----------------------------------------------------------------------------------


@dataclass
class Anchor:
    """A head recorded outside the chain: where it was read, and what it says."""

    source: str
    capture_id: int | None
    event_id: int | None
    record_hash: str
    written_at: str | None = None
    command: str | None = None
    tsa_token: bytes | None = None
    timestamp: bool = False

    @property
    def key(self) -> tuple[str, int | None]:
        return ("event", self.event_id) if self.event_id is not None else ("capture", self.capture_id)

    @property
    def label(self) -> str:
        return element_label(self.capture_id, self.event_id)

    def describe(self) -> str:
        when = f", written {short_time(self.written_at)}" if self.written_at else ""
        by = f" by `archiver {self.command}`" if self.command else ""
        return f"{self.source}{when}{by}"


@dataclass
class LogReading:
    """An anchor log as read: its lines' anchors and hashes, and what is wrong with it."""

    path: Path
    exists: bool
    anchors: list[Anchor] = field(default_factory=list)
    line_hashes: set[str] = field(default_factory=set)
    lines: int = 0
    problems: list[str] = field(default_factory=list)


def _int_or_none(value) -> int | None:
    return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None


def read_log(path: Path) -> LogReading:
    """Read an anchor log: every line must parse, and link to the line before it."""
    reading = LogReading(path=path, exists=path.is_file())
    if not reading.exists:
        return reading
    prev: str | None = None
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            reading.lines += 1
            digest = line_sha256(line)
            reading.line_hashes.add(digest)
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict) or not isinstance(entry.get("record_hash"), str):
                    raise ValueError("no record hash")
            except ValueError:
                reading.problems.append(f"line {number} of the anchor log {path} is not an anchor (it was edited "
                                        "or damaged)")
                prev = digest
                continue
            if entry.get("prev_line_sha256") != prev:
                what = "the line before it was edited or removed" if number > 1 else "lines before it were removed"
                reading.problems.append(f"line {number} of the anchor log {path} does not link to the line before "
                                        f"it: {what}, or this line was edited")
            token = entry.get("tsa_token")
            reading.anchors.append(Anchor(
                source=f"anchor log {path}, line {number}",
                capture_id=_int_or_none(entry.get("capture_id")), event_id=_int_or_none(entry.get("event_id")),
                record_hash=entry["record_hash"], written_at=entry.get("written_at"), command=entry.get("command"),
                tsa_token=base64.b64decode(token) if isinstance(token, str) else None,
            ))
            prev = digest
    return reading


_HEAD_TEXT = re.compile(r"hash-chain head:\s*capture\s+(\d+)(?:,\s*event\s+(\d+))?,\s*record hash\s+`?([0-9a-f]{64})",
                        re.IGNORECASE)


def is_log(path: Path) -> bool:
    """Whether a file is an anchor log: its first line is an anchor line."""
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                if raw.strip():
                    entry = json.loads(raw)
                    return isinstance(entry, dict) and entry.get("format") == LOG_FORMAT
    except (OSError, ValueError):
        return False
    return False


def _json_heads(data, source: str) -> list[Anchor]:
    found = []
    if isinstance(data, dict):
        head = data.get("chain_head")
        if isinstance(head, dict) and isinstance(head.get("record_hash"), str):
            found.append(Anchor(source, _int_or_none(head.get("capture_id")), _int_or_none(head.get("event_id")),
                                head["record_hash"], written_at=data.get("generated_at") or data.get("created")))
        for report in data.get("reports") or []:
            found.extend(_json_heads(report, source))
    return found


def anchors_in_file(path: str | os.PathLike) -> list[Anchor]:
    """The heads recorded in a file a researcher kept: an anchor log (or a copy of one), a WACZ
    exported by the archiver, a citation report in JSON, Markdown or HTML, or a WARC's warcinfo.

    Raises AnchorError when the file cannot be read or names no head.
    """
    path = Path(path)
    if not path.is_file():
        raise AnchorError(f"anchor file not found: {path}")
    found: list[Anchor] = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                try:
                    package = json.loads(archive.read("datapackage.json"))
                except KeyError:
                    raise AnchorError(f"{path} is a zip file without datapackage.json: not a WACZ") from None
            found = _json_heads(package, f"WACZ {path}")
        elif path.name.endswith((".warc", ".warc.gz")):
            found = _warc_heads(path)
        elif is_log(path):
            found = read_log(path).anchors
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            try:
                document = json.loads(text)
            except ValueError:
                document = None
            if isinstance(document, dict):
                found = _json_heads(document, f"report {path}")
            else:
                plain = re.sub(r"<[^>]+>", " ", text)
                found = [Anchor(f"{path}", int(m.group(1)), int(m.group(2)) if m.group(2) else None, m.group(3))
                         for m in _HEAD_TEXT.finditer(plain)]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise AnchorError(f"cannot read {path} as an anchor: {exc}") from None
    if not found:
        raise AnchorError(f"{path} names no chain head (an anchor log, a WACZ or WARC exported by the archiver, "
                          "or a citation report is expected)")
    return found


def _warc_heads(path: Path) -> list[Anchor]:
    from warcio.archiveiterator import ArchiveIterator

    found = []
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "warcinfo":
                continue
            fields = {}
            for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
                name, sep, value = line.partition(":")
                if sep:
                    fields[name.strip()] = value.strip()
            if fields.get("chain-head-record-hash"):
                found.append(Anchor(f"WARC {path}", _int_or_none(fields.get("chain-head-capture")),
                                    _int_or_none(fields.get("chain-head-event")), fields["chain-head-record-hash"]))
            break
    return found
