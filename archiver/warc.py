"""WARC files (ISO 28500), the web-archiving world's standard container: export and import.

Export (`write_warc`) writes WARC 1.1, gzip-compressed per record, with for every capture:
- a `response` record: the original status line, the response headers in their
  original order and the exact body we stored. WARC-Target-URI is the final URL,
  WARC-Date the capture's start, WARC-IP-Address the server's address. Our bodies are
  stored decoded, so when the server sent Content-Encoding or Transfer-Encoding those
  headers (and the Content-Length that went with them) are kept under an
  `X-Archive-Orig-` prefix and a Content-Length for the stored body is added: a replay
  tool must not try to un-gzip bytes that are already plain.
- a `revisit` record instead, for a capture answered with 304 Not Modified (profile
  server-not-modified, pointing at the earlier capture of the same address that holds the
  body; a 304 from another address is written as a bare `response`, claiming no body);
- a `request` record: the request line and headers as sent;
- `resource` records for what a browser showed: the rendered DOM (`urn:dom:URL`) of a rendered
  capture and each screenshot (`urn:screenshot:URL`, image/png, as browsertrix names them);
- a `metadata` record (JSON) with the capture's sealed record exactly as hashed into
  the chain, its record hash and the previous hash, so anyone holding the file can
  recompute the hash with sha256(canonical JSON), and the sealed events about it (a
  Wayback copy made of it, a screenshot taken of it), each with its sealed record and hash,
  and its provenance record with each certificate in PEM.
The warcinfo record names the store's chain head at export time (`chain-head-capture`,
`chain-head-event`, `chain-head-record-hash`): `archiver verify --anchor FILE` checks that
the store still holds it.
Digests are SHA-256 in lowercase hex (`sha256:<hex>`), as the annotated WARC 1.1
recommends for SHA-256. Record ids are derived from the record hash: exporting the same
capture twice gives the same ids.

Import (`import_warc`) brings captures made by other tools (wget --warc-file,
browsertrix, ArchiveBox) into the store with origin "warc" and their original dates.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from archiver import TOOL_NAME, __version__, plugins
from archiver.anchors import Head, anchor_quietly, read_head
from archiver.chain import add_captures, capture_version, sealed_record
from archiver.events import capture_events
from archiver.models import Capture, Source
from archiver.provenance import with_pems
from archiver.readdb import Reader
from archiver.screenshots import screenshots_for
from archiver.store import get_blob, put_blobs, sha256_hex
from archiver.textindex import index_quietly
from archiver.urls import InvalidURL
from archiver.vantages import capture_vantage

log = logging.getLogger(__name__)

RECORD_NAMESPACE = uuid.UUID("6f1c0c5e-6d0a-4c61-9a55-3f0c1f7d2b11")
CAPTURE_ID_HEADER = "X-Archiver-Capture-ID"
RECORD_HASH_HEADER = "X-Archiver-Record-Hash"
PREV_HASH_HEADER = "X-Archiver-Prev-Hash"
# The vantage point (archiver.vantages) a live capture was fetched from: "cn", "direct", "default".
VANTAGE_HEADER = "X-Archiver-Vantage"
ORIG_PREFIX = "X-Archive-Orig-"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
PAGE_SIZE = 500


def select_captures(
    session: Session,
    *,
    source_ids: Iterable[int] | None = None,
    since: datetime | date | None = None,
) -> Iterator[Capture]:
    """Captures to export, oldest first: all of them, or those of `source_ids`, started at or after `since`.

    Streams in pages; the yielded captures are detached from the session once their page is done.
    """
    ids = sorted(set(source_ids)) if source_ids is not None else None
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime.combine(since, time.min, tzinfo=UTC)
    after = 0
    while True:
        query = select(Capture).where(Capture.id > after)
        if ids is not None:
            query = query.where(Capture.source_id.in_(ids))
        if since is not None:
            query = query.where(Capture.started_at >= since)
        page = list(session.scalars(query.order_by(Capture.id).limit(PAGE_SIZE)))
        if not page:
            return
        yield from page
        after = page[-1].id
        for capture in page:
            session.expunge(capture)


def chain_head(session: Session) -> Head | None:
    """The store's chain head now, as exports print it."""
    return read_head(Reader.of_session(session))


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _record_id(capture: Capture, kind: str) -> str:
    if capture.record_hash:
        return f"<urn:uuid:{uuid.uuid5(RECORD_NAMESPACE, f'{capture.record_hash}/{kind}')}>"
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(value: datetime) -> str:
    """A WARC-Date for `value`: UTC, ISO 8601 with microseconds (WARC 1.1)."""
    return datetime_to_iso_date(value.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def _protocol(http_version: str | None) -> str:
    return http_version if http_version in ("HTTP/1.0", "HTTP/1.1") else "HTTP/1.1"


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def response_headers_for_warc(headers: list | None, body_size: int) -> list[tuple[str, str]]:
    """The response headers to write before a stored (decoded) body; see the module notes."""
    headers = [(str(name), str(value)) for name, value in headers or []]
    encoded = any(name.lower() in ("content-encoding", "transfer-encoding") for name, _ in headers)
    if not encoded:
        return headers
    out = []
    for name, value in headers:
        if name.lower() in ("content-encoding", "transfer-encoding", "content-length"):
            out.append((ORIG_PREFIX + name, value))
        else:
            out.append((name, value))
    out.append(("Content-Length", str(body_size)))
    return out


def _http_block(http_headers: StatusAndHeaders, payload: bytes) -> str:
    http_headers.compute_headers_buffer()
    return _digest(http_headers.headers_buff + payload)


def _record(writer: WARCWriter, kind: str, uri: str, headers: dict, payload: bytes,
            http_headers: StatusAndHeaders | None = None, content_type: str | None = None):
    headers = dict(headers)
    headers["WARC-Block-Digest"] = _http_block(http_headers, payload) if http_headers else _digest(payload)
    record = writer.create_warc_record(
        uri, kind, payload=io.BytesIO(payload), length=len(payload),
        warc_headers_dict=headers, http_headers=http_headers, warc_content_type=content_type or "",
    )
    writer.write_record(record)


def _body_holder(session: Session, capture: Capture) -> Capture | None:
    """For a 304 capture: the earlier capture of the same source whose response carried the body."""
    return session.scalars(
        select(Capture)
        .where(Capture.source_id == capture.source_id, Capture.body_sha256 == capture.body_sha256,
               Capture.not_modified.is_(False), Capture.id < capture.id)
        .order_by(Capture.id.desc())
        .limit(1)
    ).first()


def capture_metadata(capture: Capture, events: list[dict] | None = None) -> dict:
    """What the metadata record says about a capture: its sealed record and hashes, the record
    format it was sealed under, the sealed events about it (a Wayback copy made of it), and, for
    convenience, the fields a reader looks for (all sealed under record format 2; under format 1,
    title, published date, text length, similarity and compared-to were not)."""
    events = events or []
    copy = next((e["sealed_record"]["payload"] for e in reversed(events) if e["kind"] == "wayback"), None) or {}
    return {
        "capture_id": capture.id,
        "record_hash": capture.record_hash,
        "prev_hash": capture.prev_hash,
        "record_version": capture_version(capture),
        "sealed_record": sealed_record(capture, capture.prev_hash),
        "hash_recipe": "record_hash = sha256 of sealed_record as JSON with sorted keys, separators (',', ':'), "
                       "UTF-8 without escaping",
        "page_title": capture.page_title,
        "published": capture.published,
        "text_length": capture.text_length,
        "similarity": capture.similarity,
        "compared_to_id": capture.compared_to_id,
        "wayback_url": capture.wayback_url or copy.get("wayback_url"),
        "vantage": capture_vantage(capture.config),
        "events": events,
    }


def _write_capture(session: Session, writer: WARCWriter, capture: Capture) -> int:
    uri = capture.final_url or capture.requested_url
    common = {"WARC-Date": warc_date(capture.started_at)}
    response_id = _record_id(capture, "response")
    written = 0
    if capture.status_code is not None:
        payload = b""
        holder = _body_holder(session, capture) if capture.not_modified and capture.body_sha256 else None
        # A revisit says "the same bytes as this earlier response of the same address". A 304
        # that some other address answered (captures made before conditional requests were tied
        # to their address) is written as the bare 304 response it was, claiming no body.
        revisit = capture.not_modified and (holder is None or (holder.final_url or holder.requested_url) == uri)
        if capture.body_sha256 and not capture.not_modified:
            payload = get_blob(session, capture.body_sha256)
        http_headers = StatusAndHeaders(
            _status_line(capture.status_code),
            response_headers_for_warc(capture.response_headers, len(payload)),
            protocol=_protocol(capture.http_version),
        )
        headers = dict(common)
        headers["WARC-Record-ID"] = response_id
        if capture.server_ip:
            headers["WARC-IP-Address"] = capture.server_ip
        if capture.http_version and capture.http_version not in ("HTTP/1.0", "HTTP/1.1"):
            headers["WARC-Protocol"] = capture.http_version.lower().replace("http/2", "h2").replace("http/3", "h3")
        if capture.error_kind == "too_large":
            headers["WARC-Truncated"] = "length"
        headers[CAPTURE_ID_HEADER] = str(capture.id)
        seen_from = capture_vantage(capture.config)
        if seen_from:
            headers[VANTAGE_HEADER] = seen_from
        if capture.record_hash:
            headers[RECORD_HASH_HEADER] = capture.record_hash
            headers[PREV_HASH_HEADER] = capture.prev_hash or "none"
        if revisit:
            headers["WARC-Profile"] = NOT_MODIFIED_PROFILE
            if capture.body_sha256:
                headers["WARC-Payload-Digest"] = "sha256:" + capture.body_sha256
                if holder is not None:
                    headers["WARC-Refers-To-Target-URI"] = holder.final_url or holder.requested_url
                    headers["WARC-Refers-To-Date"] = warc_date(holder.started_at)
            _record(writer, "revisit", uri, headers, b"", http_headers)
        else:
            headers["WARC-Payload-Digest"] = _digest(payload)
            _record(writer, "response", uri, headers, payload, http_headers)
        written += 1
        if capture.request_headers:
            parts = urlsplit(uri)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            request = StatusAndHeaders(f"GET {target} {_protocol(capture.http_version)}",
                                       [(str(k), str(v)) for k, v in capture.request_headers.items()],
                                       is_http_request=True)
            headers = dict(common, **{"WARC-Record-ID": _record_id(capture, "request"),
                                      "WARC-Concurrent-To": response_id,
                                      "WARC-Payload-Digest": _digest(b""),
                                      CAPTURE_ID_HEADER: str(capture.id)})
            _record(writer, "request", uri, headers, b"", request)
            written += 1
    written += _write_rendering(session, writer, capture, response_id if capture.status_code is not None else None)
    events = capture_events(Reader.of_session(session), capture.id)
    described = capture_metadata(capture, events)
    described["provenance"] = with_pems(session, getattr(capture, "provenance", None))
    metadata = json.dumps(described, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    headers = dict(common, **{"WARC-Record-ID": _record_id(capture, "metadata"), CAPTURE_ID_HEADER: str(capture.id)})
    if capture.status_code is not None:
        headers["WARC-Concurrent-To"] = response_id
        headers["WARC-Refers-To"] = response_id
    _record(writer, "metadata", f"urn:source-archiver:capture:{capture.id}", headers, metadata,
            content_type="application/json")
    return written + 1


def _write_rendering(session: Session, writer: WARCWriter, capture: Capture, response_id: str | None) -> int:
    """Resource records for what a browser showed of the capture: the rendered DOM
    (`urn:dom:URL`, text/html) and each screenshot (`urn:screenshot:URL`, image/png, as
    browsertrix names them), dated when they were taken."""
    uri = capture.final_url or capture.requested_url
    written = 0
    items: list[tuple[str, str, str, str, datetime]] = []
    if capture.rendered_sha256:
        items.append(("dom", f"urn:dom:{uri}", capture.rendered_sha256, "text/html; charset=utf-8",
                      capture.ended_at or capture.started_at))
    for number, shot in enumerate(screenshots_for(session, capture.id)):
        items.append((f"screenshot-{number}", f"urn:screenshot:{uri}", shot.sha256, "image/png",
                      shot.taken_at or capture.started_at))
    for kind, urn, key, media, taken in items:
        payload = get_blob(session, key)
        headers = {"WARC-Date": warc_date(taken), "WARC-Record-ID": _record_id(capture, kind),
                   "WARC-Payload-Digest": _digest(payload), CAPTURE_ID_HEADER: str(capture.id)}
        if response_id:
            headers["WARC-Concurrent-To"] = response_id
        _record(writer, "resource", urn, headers, payload, content_type=media)
        written += 1
    return written


def write_warc(session: Session, captures: Iterable[Capture], target: str | os.PathLike | BinaryIO, *,
               description: str | None = None) -> int:
    """Write `captures` as a WARC 1.1 file (gzip per record) to a path or binary file object.

    Returns the number of records written, the opening warcinfo record included. A capture
    that failed before any response (DNS failure, timeout) gets only its metadata record.
    """
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as handle:
            return write_warc(session, captures, handle, description=description)
    writer = WARCWriter(target, gzip=True, warc_version="1.1")
    name = os.path.basename(getattr(target, "name", "") or "") or None
    info = {
        "software": f"{TOOL_NAME}/{__version__}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": description or "Captures exported from a source-archiver store, with each capture's "
                                      "sealed record and hash-chain links in its metadata record",
    }
    head = chain_head(session)
    if head is not None:
        info["chain-head-capture"] = str(head.capture_id)
        if head.event_id is not None:
            info["chain-head-event"] = str(head.event_id)
        info["chain-head-record-hash"] = head.record_hash or ""
    writer.write_record(writer.create_warcinfo_record(name, info))
    count = 1
    for capture in captures:
        count += _write_capture(session, writer, capture)
    return count


# ---------------------------------------------------------------------------------------------
# Import

IMPORTED_TYPES = ("text/html", "application/xhtml+xml", "application/pdf", "text/plain")
IMPORT_BATCH = 100
LOOKAHEAD = 4
REMEMBERED_REQUESTS = 256


class WarcImportError(Exception):
    """The file cannot be read as a WARC file."""


@dataclass
class ImportSummary:
    """What `import_warc` did with a file."""

    file: str
    file_sha256: str = ""
    records: int = 0
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    new_sources: int = 0
    capture_ids: list[int] = field(default_factory=list)
    skipped_reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + 1

    def as_json(self) -> dict:
        return {
            "file": self.file, "file_sha256": self.file_sha256, "records": self.records,
            "imported": self.imported, "duplicates": self.duplicates, "skipped": self.skipped,
            "skipped_reasons": self.skipped_reasons, "new_sources": self.new_sources,
            "capture_ids": self.capture_ids,
        }


@dataclass
class _Response:
    record_id: str
    uri: str
    started_at: datetime
    warc_date: str
    status: int
    protocol: str
    headers: list[list[str]]
    body: bytes
    server_ip: str | None
    truncated: str | None
    payload_digest: str | None
    concurrent_to: list[str]
    record_hash: str | None
    warcinfo: dict
    request_headers: dict | None = None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _parse_warcinfo(record) -> dict:
    fields = {}
    for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            fields[name.strip()] = value.strip()
    return fields


def _tool(warcinfo: dict) -> tuple[str, str | None]:
    """Tool name and version from a warcinfo `software` field such as "Wget/1.21.3 (linux-gnu)"."""
    software = warcinfo.get("software") or warcinfo.get("Software") or ""
    match = re.match(r"\s*([^/\s]+)(?:/|\s+v?)(\d[\w.\-+]*)", software)
    if match:
        return match.group(1)[:64], match.group(2)[:32]
    return (software.strip() or "unknown")[:64], None


def _media_type(headers: list) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower()
    return ""


def _all(headers: StatusAndHeaders, name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers.headers if key.lower() == wanted]


def _match_request(response: _Response, requests: dict[str, dict]) -> None:
    if response.request_headers is None:
        response.request_headers = requests.get(response.record_id) or next(
            (requests[c] for c in response.concurrent_to if c in requests), None)


def _read_responses(stream: BinaryIO, summary: ImportSummary) -> Iterator[_Response]:
    """Response records worth importing, each with its matching request's headers when there is one.

    Tools write the request just before (wget) or just after (browsertrix) its response, so a
    response waits for a few records before it is handed on, without holding the whole file.
    """
    warcinfo: dict = {}
    requests: dict[str, dict] = {}
    requests_by_uri: dict[str, dict] = {}
    waiting: list[tuple[int, _Response]] = []
    for index, record in enumerate(ArchiveIterator(stream, check_digests=False)):
        if not record.format.startswith("warc"):
            raise WarcImportError(f"record {index + 1} is not a WARC record (it reads as {record.format.upper()}): "
                                  "the file is not a WARC file")
        summary.records += 1
        while waiting and waiting[0][0] < index - LOOKAHEAD:
            response = waiting.pop(0)[1]
            response.request_headers = response.request_headers or requests_by_uri.get(response.uri)
            yield response
        for remembered in (requests, requests_by_uri):
            while len(remembered) > REMEMBERED_REQUESTS:
                del remembered[next(iter(remembered))]
        kind = record.rec_type
        headers = record.rec_headers
        if kind == "warcinfo":
            warcinfo = _parse_warcinfo(record)
            continue
        if kind == "request":
            if record.http_headers is None:
                continue
            fields: dict[str, str] = {}
            for name, value in record.http_headers.headers:
                fields[name] = f"{fields[name]}, {value}" if name in fields else value
            requests[headers.get_header("WARC-Record-ID")] = fields
            requests_by_uri[headers.get_header("WARC-Target-URI")] = fields
            for concurrent in _all(headers, "WARC-Concurrent-To"):
                requests[concurrent] = fields
            for _, response in waiting:
                _match_request(response, requests)
            continue
        if kind != "response":
            summary.skip(f"{kind} record")
            continue
        read = _response(record, warcinfo, summary)
        if read is not None:
            _match_request(read, requests)
            waiting.append((index, read))
    for _, response in waiting:
        response.request_headers = response.request_headers or requests_by_uri.get(response.uri)
        yield response


def _response(record, warcinfo: dict, summary: ImportSummary) -> _Response | None:
    """A response record read for import; None (counted as skipped) when it is not worth importing:
    not HTTP, a redirect, a type not imported, an unreadable status or body."""
    headers = record.rec_headers
    http = record.http_headers
    if http is None or not (headers.get_header("WARC-Target-URI") or "").startswith(("http://", "https://")):
        summary.skip("not an HTTP response")
        return None
    status = http.get_statuscode()
    media = _media_type(http.headers)
    if not status.isdigit():
        summary.skip("unreadable status line")
        return None
    if 300 <= int(status) < 400:
        summary.skip("redirect")
        return None
    if media not in IMPORTED_TYPES:
        summary.skip(f"{media or 'untyped'} content")
        return None
    warc_date = headers.get_header("WARC-Date")
    try:
        body = record.content_stream().read()
    except Exception as exc:  # a damaged record must not end the import
        log.warning("cannot read the body of %s: %s", headers.get_header("WARC-Target-URI"), exc)
        summary.skip("unreadable body")
        return None
    return _Response(
        record_id=headers.get_header("WARC-Record-ID"),
        uri=headers.get_header("WARC-Target-URI"),
        started_at=iso_date_to_datetime(warc_date).replace(tzinfo=UTC),
        warc_date=warc_date,
        status=int(status),
        protocol=http.protocol,
        headers=[[name, value] for name, value in http.headers],
        body=body,
        server_ip=headers.get_header("WARC-IP-Address"),
        truncated=headers.get_header("WARC-Truncated"),
        payload_digest=headers.get_header("WARC-Payload-Digest"),
        concurrent_to=_all(headers, "WARC-Concurrent-To"),
        record_hash=headers.get_header(RECORD_HASH_HEADER),
        warcinfo=warcinfo,
    )


def _already_stored(session: Session, source: Source | None, response: _Response, body_sha: str,
                    file_sha256: str) -> bool:
    """Whether this response is in the store already: exported from here, or imported before.

    Imported before means a capture of the same source with the same WARC-Date and body,
    that came from this very record, or from another file (the same crawl packed again).
    Two records of one file with the same date and body are two captures.
    """
    if response.record_hash and session.scalar(
            select(Capture.id).where(Capture.record_hash == response.record_hash).limit(1)) is not None:
        return True
    if source is None:
        return False
    candidates = session.scalars(
        select(Capture.config).where(
            Capture.source_id == source.id, Capture.origin == "warc",
            Capture.started_at == response.started_at, Capture.body_sha256 == body_sha,
        )
    )
    for config in candidates:
        config = config or {}
        if config.get("warc_record_id") == response.record_id or config.get("warc_file_sha256") != file_sha256:
            return True
    return False


def _previous_snapshot(session: Session, capture_id: int | None):
    """The judge's view of a stored capture (the source's last good one), or None."""
    from archiver.store import get_text
    from archiver.verdict import Snapshot

    previous = session.get(Capture, capture_id) if capture_id else None
    if previous is None:
        return None
    text = get_text(session, previous.text_sha256) if previous.text_sha256 else ""
    return Snapshot(
        requested_url=previous.requested_url, final_url=previous.final_url, status=previous.status_code,
        redirects=[(h[0], h[1]) for h in (previous.redirects or [])], text=text, full_text=text,
        body_sha256=previous.body_sha256, text_sha256=previous.text_sha256, error_kind=previous.error_kind,
        error=previous.error, kind="pdf" if (previous.content_type or "").startswith("application/pdf") else "html",
        title=previous.page_title,
    )


def _judge_imported(session: Session, source: Source, response: _Response, extracted, body_sha: str,
                    text_sha: str | None, file: str):
    """The verdict on an imported capture, judged like a live one against the source's last
    good capture; None when it is older than the source's latest capture (history imported
    after newer captures is kept as evidence, not judged out of order) or truncated."""
    from archiver.verdict import Snapshot, judge

    if response.truncated:
        return None
    latest = session.get(Capture, source.last_capture_id) if source.last_capture_id else None
    if latest is not None and latest.started_at > response.started_at:
        return None
    current = Snapshot(
        requested_url=response.uri, final_url=response.uri, status=response.status, redirects=[],
        text=extracted.text or "", full_text=extracted.full_text or extracted.text or "", body_sha256=body_sha,
        text_sha256=text_sha, error_kind=None, error=None, kind=extracted.kind, title=extracted.title,
    )
    verdict = judge(_previous_snapshot(session, source.last_good_capture_id), current)
    verdict.reason = f"imported from {file} ({response.warc_date}): {verdict.reason}"
    return verdict


def _apply_imported(source: Source, capture: Capture, verdict, title: str | None) -> None:
    """The source's state after an imported capture that was judged: as after a live one, with
    the capture's own time as the time the state began."""
    if verdict.state != source.state:
        source.state_since = capture.started_at
    source.state = verdict.state
    source.state_reason = verdict.reason
    source.last_checked_at = max(filter(None, (source.last_checked_at, capture.started_at)))
    if verdict.state == "unreachable":
        source.unreachable_since = source.unreachable_since or capture.started_at
    else:
        source.unreachable_since = None
    if verdict.good:
        source.last_good_capture_id = capture.id
        source.final_url = capture.final_url
        source.title = source.title or title


def _import_record(response: _Response, summary: ImportSummary) -> dict:
    """What an imported capture records of its import: this tool, the WARC file and record."""
    return {
        "imported_by": f"{TOOL_NAME} {__version__}",
        "warc_file": summary.file,
        "warc_file_sha256": summary.file_sha256,
        "warc_record_id": response.record_id,
        "warc_date": response.warc_date,
        "warc_payload_digest": response.payload_digest,
        "warcinfo": response.warcinfo,
    }


def _store_batch(session: Session, batch: list[_Response], summary: ImportSummary, tracked_only: bool) -> None:
    from archiver.extract import extract
    from archiver.sources import add_source, find_source

    for response in sorted(batch, key=lambda r: r.started_at):
        tool, tool_version = _tool(response.warcinfo)
        body_sha = sha256_hex(response.body)
        try:
            source = find_source(session, response.uri)
        except InvalidURL:
            summary.skip("invalid URL")
            continue
        if source is None and tracked_only:
            summary.skip("not a tracked source")
            continue
        if _already_stored(session, source, response, body_sha, summary.file_sha256):
            summary.duplicates += 1
            continue
        if source is None:
            source, _ = add_source(session, response.uri)
            summary.new_sources += 1
        content_type = next((v for k, v in response.headers if k.lower() == "content-type"), None)
        extracted = extract(response.body, content_type, response.uri)
        text = extracted.text or ""
        keys, _ = put_blobs(session, [response.body] + ([text.encode("utf-8")] if text else []))
        first = source.last_capture_id is None
        error = extracted.error
        if response.truncated:
            error = f"the tool that made the WARC file truncated this body (WARC-Truncated: {response.truncated})"
        verdict = _judge_imported(session, source, response, extracted, keys[0], keys[1] if text else None,
                                  summary.file)
        capture = Capture(
            source_id=source.id,
            origin="warc",
            requested_url=response.uri,
            final_url=response.uri,
            started_at=response.started_at,
            ended_at=None,
            status_code=response.status,
            redirects=[],
            request_headers=response.request_headers,
            response_headers=response.headers,
            server_ip=response.server_ip,
            http_version=response.protocol or None,
            content_type=content_type,
            charset=extracted.charset,
            body_sha256=keys[0],
            body_size=len(response.body),
            text_sha256=keys[1] if text else None,
            text_length=len(text),
            page_title=extracted.title,
            published=extracted.published,
            error_kind="too_large" if response.truncated else None,
            error=error,
            verdict=verdict.state if verdict else None,
            verdict_reason=(verdict.reason if verdict else
                            f"imported from {summary.file}; kept as evidence, not compared with other captures"),
            similarity=verdict.similarity if verdict else None,
            compared_to_id=source.last_good_capture_id if verdict and not first else None,
            tool=tool,
            tool_version=tool_version,
            config=_import_record(response, summary),
        )
        add_captures(session, [capture])
        index_quietly(session, [capture], {keys[1]: text} if text else {})
        source.capture_count = (source.capture_count or 0) + 1
        if first or verdict is not None:
            source.last_capture_id = capture.id
        if verdict is not None:
            _apply_imported(source, capture, verdict, extracted.title)
        plugins.after_captures(session, [(source, capture, text)])
        summary.imported += 1
        summary.capture_ids.append(capture.id)


def import_warc(session_factory: sessionmaker, path: str | os.PathLike, *, tracked_only: bool = False,
                config=None) -> ImportSummary:
    """Import the HTML, PDF and plain-text responses of a WARC file (gzipped or not) as captures.

    Each response becomes a capture with origin "warc", its WARC-Date as started_at, its
    headers and body as recorded, the request headers of its matching request record, and
    the making tool from the warcinfo record. Its URL is tracked as a source unless
    `tracked_only`. Redirects, other content types, revisit, dns and metadata records are
    skipped. Importing the same file again adds nothing: a response already imported (same
    source, WARC-Date and body) or exported from this store (same record hash) is skipped.

    Each capture is judged like a live one (archiver.verdict) against the source's last good
    capture, in the order of the WARC dates, and the source's state follows: a 200 then a 404
    leaves the source deleted, a changed text altered. A capture older than the source's latest
    capture (history imported after newer captures were made) and a body the making tool
    truncated are kept as evidence without a verdict. Quote checks (plugins.after_captures)
    run for every import.
    """
    path = Path(path)
    if not path.is_file():
        raise WarcImportError(f"file not found: {path}")
    summary = ImportSummary(file=path.name, file_sha256=_file_sha256(path))
    batch: list[_Response] = []
    try:
        with open(path, "rb") as stream:
            for response in _read_responses(stream, summary):
                batch.append(response)
                if len(batch) >= IMPORT_BATCH:
                    with session_factory.begin() as session:
                        _store_batch(session, batch, summary, tracked_only)
                    batch = []
    except ArchiveLoadFailed as exc:
        raise WarcImportError(f"{path} is not a readable WARC file: {exc}") from None
    except WarcImportError as exc:
        raise WarcImportError(f"{path} is not a readable WARC file: {exc}") from None
    if batch:
        with session_factory.begin() as session:
            _store_batch(session, batch, summary, tracked_only)
    if summary.imported:
        anchor_quietly(session_factory, config, "import-warc")
    if summary.records == 0:
        raise WarcImportError(f"{path} holds no WARC records")
    return summary
