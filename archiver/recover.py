"""Recovering lost pages from the Wayback Machine.

For a deleted or never captured page, `recover_source` fetches the copy closest to the date
the citation was accessed (else the newest before the deletion) in its raw `id_` form,
extracts it like a live capture, and stores it as a capture with origin "wayback" (quote
checks run on it), without touching the source's state: the page is still deleted, but the
claim is supported through the archive.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from archiver import TOOL_NAME, __version__, plugins
from archiver.anchors import anchor_quietly
from archiver.chain import add_captures
from archiver.config import Config
from archiver.dates import wayback_timestamp
from archiver.extract import extract
from archiver.fetch import Fetcher, FetchResult
from archiver.models import Capture, Source
from archiver.store import put_blobs
from archiver.textindex import index_quietly
from archiver.wayback import Snapshot, WaybackClient, WaybackError, parse_memento, parse_timestamp

log = logging.getLogger(__name__)


_DATE_PATTERNS = (
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"), 3),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), 3),
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$"), 2),
    (re.compile(r"^(\d{4})$"), 1),
)
_WRITTEN_FORMATS = ("%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y")


def parse_accessed(value: str | None) -> date | None:
    """A citation's accessed date: 2019-05-03, 2019/5/3, 20190503, 2019年5月3日, 3 May 2019, May 2019, 2019."""
    if not value or not value.strip():
        return None
    value = value.strip()
    for pattern, parts in _DATE_PATTERNS:
        match = pattern.search(value)
        if match:
            numbers = [int(g) for g in match.groups()] + [1] * (3 - parts)
            try:
                return date(*numbers)
            except ValueError:
                return None
    for fmt in _WRITTEN_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    for fmt in ("%B %Y", "%b %Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def citation_dates(session: Session, source_id: int) -> list[date]:
    """The dates the citations of a source were accessed, oldest first, as the plugins know
    them (the `accessed_dates` hook: the evidence package's citations)."""
    values = plugins.accessed_dates(session, source_id)
    return sorted({d for d in (parse_accessed(v) for v in values) if d is not None})


@dataclass
class Recovery:
    """The outcome of recovering one source from the Wayback Machine."""

    source_id: int
    url: str
    result: str
    message: str
    wanted: str | None = None
    timestamp: str | None = None
    wayback_url: str | None = None
    capture_id: int | None = None
    text_length: int | None = None

    def as_json(self) -> dict:
        return {
            "source_id": self.source_id, "url": self.url, "result": self.result, "message": self.message,
            "wanted": self.wanted, "timestamp": self.timestamp,
            "archived_at": parse_timestamp(self.timestamp).isoformat() if self.timestamp else None,
            "wayback_url": self.wayback_url, "capture_id": self.capture_id, "text_length": self.text_length,
        }


def recovery_candidates(session: Session) -> list[Source]:
    """Sources worth recovering: deleted pages, and pages checked but never captured with success."""
    return list(session.scalars(
        select(Source)
        .where(or_(Source.state == "deleted",
                   and_(Source.last_good_capture_id.is_(None), Source.last_checked_at.is_not(None))))
        .order_by(Source.id)
    ))


def _choose(client: WaybackClient, source: Source, dates: list[date]) -> tuple[list[tuple[Snapshot, str]], str]:
    """The copies to recover, each with what it was chosen for, and the search's description."""
    until = None
    if source.state == "deleted" and source.state_since is not None:
        until = wayback_timestamp(source.state_since)
    before = f" before {source.state_since:%Y-%m-%d}" if until else ""
    if not dates:
        found = client.snapshots(source.url, until=until, limit=-1, ok_only=True)
        return [(found[-1], "newest" + before)] if found else [], f"no copy that answered 200{before}"
    chosen: dict[str, tuple[Snapshot, str]] = {}
    for day in dates:
        target = day.strftime("%Y%m%d") + "120000"
        found = client.snapshots(source.url, until=until, closest=target, limit=1, ok_only=True)
        if found:
            chosen.setdefault(found[0].timestamp, (found[0], f"closest to {day.isoformat()} (accessed)"))
    return list(chosen.values()), f"no copy that answered 200{before}"


async def _fetch_all(config: Config, urls: list[str]) -> list[FetchResult]:
    async with Fetcher(config.fetch) as fetcher:
        return [await fetcher.fetch(url) for url in urls]


def _store_recovered(session_factory: sessionmaker, config: Config, source_id: int, snap: Snapshot,
                     result: FetchResult, client: WaybackClient) -> tuple[Capture, int]:
    actual = parse_memento(result.final_url) or (snap.timestamp, snap.original)
    timestamp, original = actual
    extracted = extract(result.body, result.content_type, original)
    with session_factory.begin() as session:
        source = session.get(Source, source_id)
        text_bytes = extracted.text.encode("utf-8") if extracted.text else b""
        keys, _ = put_blobs(session, [result.body] + ([text_bytes] if text_bytes else []))
        when = parse_timestamp(timestamp)
        capture = Capture(
            source_id=source_id,
            run_id=None,
            origin="wayback",
            requested_url=snap.raw_url,
            final_url=result.final_url,
            started_at=result.started_at,
            ended_at=result.ended_at,
            status_code=result.status,
            redirects=[[hop.status, hop.location] for hop in result.redirects],
            request_headers=dict(result.request_headers),
            response_headers=[[k, v] for k, v in result.response_headers],
            server_ip=result.server_ip,
            http_version=result.http_version,
            content_type=result.content_type,
            charset=extracted.charset,
            body_sha256=keys[0],
            body_size=len(result.body),
            text_sha256=keys[1] if text_bytes else None,
            text_length=len(extracted.text or ""),
            page_title=extracted.title,
            published=extracted.published,
            not_modified=False,
            error=extracted.error,
            verdict=None,
            verdict_reason=(f"recovered from the Wayback Machine copy of {when:%Y-%m-%d %H:%M:%S} UTC; "
                            f"the live page is {source.state}"),
            wayback_url=client.replay(timestamp, original),
            wayback_timestamp=timestamp,
            tool=TOOL_NAME,
            tool_version=__version__,
            config=config.as_dict(),
            elapsed_ms=int((result.ended_at - result.started_at).total_seconds() * 1000),
        )
        add_captures(session, [capture])
        if text_bytes:
            index_quietly(session, [capture], {keys[1]: extracted.text})
        plugins.after_captures(session, [(source, capture, extracted.text or "")])
    return capture, len(extracted.text or "")


def recover_source(
    config: Config,
    session_factory: sessionmaker,
    source_id: int,
    *,
    on_date: date | None = None,
    client: WaybackClient | None = None,
) -> list[Recovery]:
    """Recover one source from the Wayback Machine's copies; never changes the source's state.

    The copy closest to `on_date`, else to each citation's accessed date, else the newest
    before the page was found deleted, is fetched raw (id_), extracted and stored as a capture
    with origin "wayback" (its body in the blob store, its Wayback URL and timestamp on the
    capture), and the plugins' quote checks run on it. A copy already recovered is not stored
    twice.
    """
    own_client = client is None
    client = client or WaybackClient(config.wayback)
    try:
        with session_factory() as session:
            source = session.get(Source, source_id)
            if source is None:
                raise ValueError(f"no source with id {source_id}")
            dates = [on_date] if on_date else citation_dates(session, source_id)
            session.expunge(source)
        from archiver.submissions import wayback_refusal

        refused = wayback_refusal(source)
        if refused:
            return [Recovery(source_id, source.url, "refused",
                             f"not looked up at the Wayback Machine: {refused} (a look-up tells it the URL)")]
        try:
            chosen, nothing = _choose(client, source, dates)
        except WaybackError as exc:
            return [Recovery(source_id, source.url, "error", str(exc))]
        if not chosen:
            return [Recovery(source_id, source.url, "none", f"the Wayback Machine holds {nothing} of this page")]
        results: list[Recovery] = []
        wanted: list[tuple[Snapshot, str]] = []
        with session_factory() as session:
            for snap, reason in chosen:
                existing = session.scalar(select(Capture).where(
                    Capture.source_id == source_id, Capture.origin == "wayback", Capture.wayback_timestamp == snap.timestamp))
                if existing is not None:
                    results.append(Recovery(source_id, source.url, "already", "this copy was recovered before", reason,
                                            snap.timestamp, existing.wayback_url, existing.id, existing.text_length))
                else:
                    wanted.append((snap, reason))
        fetched = asyncio.run(_fetch_all(config, [snap.raw_url for snap, _ in wanted])) if wanted else []
        for (snap, reason), result in zip(wanted, fetched):
            if not result.ok or result.status != 200 or not result.body:
                problem = result.error or f"HTTP {result.status}"
                results.append(Recovery(source_id, source.url, "error",
                                        f"could not fetch the archived copy {snap.raw_url}: {problem}", reason, snap.timestamp))
                continue
            capture, length = _store_recovered(session_factory, config, source_id, snap, result, client)
            results.append(Recovery(source_id, source.url, "recovered",
                                    f"recovered the copy of {snap.archived_at:%Y-%m-%d %H:%M} UTC", reason,
                                    capture.wayback_timestamp, capture.wayback_url, capture.id, length))
        if any(r.result == "recovered" for r in results):
            anchor_quietly(session_factory, config, "wayback recover")
        return results
    finally:
        if own_client:
            client.close()
