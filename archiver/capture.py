"""The capture pass: fetch every due source, extract its text, judge it, store it.

Flow of one source: fetch (async, polite per host) -> follow a meta refresh -> skip
extraction when the body is byte-identical to the last good capture, else extract in a
process pool -> verdict against the last good capture (with the site's not-found and home
pages as context when the text changed; in the pool too, unless a changed text must be
described) -> stored with its blobs, sealed into the hash chain, quote checks run by
plugins, Wayback submission queued. Captures are written in batches by one writer thread,
each batch one transaction, so a killed pass loses at most the batch in flight and never
leaves half-written rows. docs/performance.md says where the time goes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from archiver import TOOL_NAME, __version__, plugins, submissions
from archiver.anchors import anchor_quietly
from archiver.browser import Browser
from archiver.chain import add_captures
from archiver.config import Config
from archiver.db import storage_problem
from archiver.extract import Extracted
from archiver.fetch import Fetcher, FetchResult, Hop
from archiver.limits import PageLimits
from archiver.models import Capture, Run, Source, utcnow
from archiver.pool import ExtractionPool, WorkerCrashed
from archiver.provenance import Provenance, plain_provenance
from archiver.queue import (
    claim_sources,
    hold_leases,
    make_all_due,
    release_dead_leases,
    release_sources,
    renew_leases,
    worker_name,
)
from archiver.redact import mask_url
from archiver.rendering import (
    browser_result,
    looks_unrendered,
    remember_sites,
    remembered_sites,
    rendered_provenance,
    site_of,
)
from archiver.screenshots import store_screenshot, wants_screenshot
from archiver.stopping import Stop, abandoned
from archiver.store import Packed, get_texts, put_blobs, sha256_hex
from archiver.tasks import Judging, PackedText, extract_and_judge, extract_visible
from archiver.textindex import index_quietly
from archiver.vantages import DEFAULT, Route, UnknownVantage, proxy_of, route_for
from archiver.verdict import Snapshot, Verdict, across_vantages, is_blank_page, judge

log = logging.getLogger(__name__)

CAPTURE_SETTINGS = ("fetch", "capture", "verdict")
# Captures written per transaction, at most; and the writer waits this long between two
# transactions to let a batch fill. Each transaction costs some 20 statements whatever its size
# (leases, blobs, the chain, sources, plugins): at 30 pages/s, a batch every 0.25 s cost 1.7 ms
# more of the main process's CPU per page than one every second. A pass stopped hard loses at
# most the last second of captures, which the next pass takes again.
WRITE_BATCH = 100
WRITE_INTERVAL = 1.0
# A capture that failed for a reason inside the archiver (not the page's or the site's) is
# tried again once in the same pass; failing again, its source is due again this soon instead
# of after its whole interval, so a bug or a broken pool never costs a source a day.
INTERNAL_RETRY = timedelta(minutes=10)


@dataclass
class Previous:
    """What the last good capture of a source tells the next one."""

    capture_id: int
    snapshot: Snapshot
    etag: str | None
    last_modified: str | None
    kind: str
    page_title: str | None
    published: str | None
    charset: str | None


@dataclass
class Job:
    source_id: int
    url: str
    previous: Previous | None
    render: str = "never"  # the source's render mode, or [fetch] render (archiver.rendering)
    state: str | None = None  # the source's state before this capture
    site_renders: bool = False  # its site is known to need rendering
    route: Route = field(default_factory=Route)  # where it is fetched from (archiver.vantages)

    @property
    def renders_directly(self) -> bool:
        """Rendered whatever its plain fetch shows: no 304 and no identical-body shortcut, which
        would skip the browser (a script page's shell stays the same when its text changes)."""
        return self.render == "always" or (self.render == "auto" and self.site_renders)


@dataclass
class Outcome:
    """Everything learnt about one source in this pass, ready to be written."""

    job: Job
    fetch: FetchResult
    extracted: Extracted | None
    text: str
    verdict: Verdict | None
    error: str | None = None
    error_kind: str | None = None
    hops: list[tuple[int, str]] = field(default_factory=list)
    lease_lost: bool = False
    body_sha256: str | None = None
    text_sha256: str | None = None
    # The body to store: compressed by the extraction worker, or raw when it was not extracted
    # (the same bytes as the last good capture). fetch.body is dropped once it is packed.
    body: bytes | Packed | None = None
    body_size: int | None = None
    text_blob: Packed | None = None  # the text compressed by the extraction worker
    provenance: Provenance | None = None  # set by a rendered capture; a plain one's is made from `fetch`
    rendered: Packed | None = None  # a rendered capture's DOM, compressed by the extraction worker
    screenshot: bytes | None = None  # a rendered capture's full-page PNG
    learnt_site: tuple[str, str] | None = None  # (site, why): remember that the site needs rendering
    capture_id: int | None = None  # set once stored
    # The capture made again from the source's second vantage when this one did not get the
    # page, and the state the two give the source together (verdict.across_vantages).
    recheck: Outcome | None = None
    source_verdict: Verdict | None = None

    def parts(self) -> list[Outcome]:
        """The captures this outcome stores, in order: its own, then the second vantage's."""
        return [self] if self.recheck is None else [self, self.recheck]


@dataclass
class RunSummary:
    """What a pass did, for the CLI summary and the runs table."""

    run_id: int
    counts: Counter
    total: int = 0
    new_bodies: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    failures: list[tuple[str, str | None]] = field(default_factory=list)
    failure_kinds: list[str | None] = field(default_factory=list)  # the error_kind of each failure


def _header(headers: list | None, name: str) -> str | None:
    for key, value in headers or []:
        if key.lower() == name:
            return value
    return None


_PREVIOUS_COLUMNS = (
    Capture.id, Capture.source_id, Capture.origin, Capture.requested_url, Capture.final_url, Capture.status_code,
    Capture.redirects, Capture.response_headers, Capture.body_sha256, Capture.text_sha256, Capture.error_kind,
    Capture.error, Capture.content_type, Capture.page_title, Capture.published, Capture.charset,
)


def _load_previous(session: Session, sources: list[Source]) -> dict[int, Previous]:
    ids = [s.last_good_capture_id for s in sources if s.last_good_capture_id]
    if not ids:
        return {}
    captures = session.execute(select(*_PREVIOUS_COLUMNS).where(Capture.id.in_(ids))).all()
    texts = get_texts(session, (cap.text_sha256 for cap in captures))
    previous = {}
    for cap in captures:
        text = texts.get(cap.text_sha256, "")
        snapshot = Snapshot(
            requested_url=cap.requested_url,
            final_url=cap.final_url,
            status=cap.status_code,
            redirects=[(h[0], h[1]) for h in (cap.redirects or [])],
            text=text,
            full_text=text,
            body_sha256=cap.body_sha256,
            text_sha256=cap.text_sha256,
            error_kind=cap.error_kind,
            error=cap.error,
            kind=(cap.content_type or "").startswith("application/pdf") and "pdf" or "html",
            title=cap.page_title,
        )
        live_ok = cap.origin == "live" and cap.status_code == 200
        previous[cap.source_id] = Previous(
            capture_id=cap.id,
            snapshot=snapshot,
            # Validators belong to the address that answered with them, the capture's final URL.
            etag=_header(cap.response_headers, "etag") if live_ok else None,
            last_modified=_header(cap.response_headers, "last-modified") if live_ok else None,
            kind=snapshot.kind,
            page_title=cap.page_title,
            published=cap.published,
            charset=cap.charset,
        )
    return previous


class SiteContext:
    """Per-site pages that help judge a capture: the site's not-found page and home page, fetched once per pass."""

    def __init__(self, fetch: Callable[[str], Awaitable[FetchResult]], extractor: Callable) -> None:
        self.fetch = fetch
        self.extractor = extractor
        self.tasks: dict[str, asyncio.Task] = {}

    async def _text_of(self, url: str, want_status_200: bool) -> str | None:
        result = await self.fetch(url)
        if not result.ok or not result.body or (want_status_200 and result.status != 200):
            return None
        try:
            extracted = await self.extractor(result.body, result.content_type, result.final_url or url)
        except WorkerCrashed:
            log.warning("the extraction process died on %s; its pages are judged without it", url)
            return None
        return extracted.full_text or extracted.text or None

    def _cached(self, key: str, url: str, want_status_200: bool) -> asyncio.Task:
        if key not in self.tasks:
            self.tasks[key] = asyncio.ensure_future(self._text_of(url, want_status_200))
        return self.tasks[key]

    def _not_found_probe(self, url: str) -> asyncio.Task:
        parts = urlsplit(url)
        probe = f"{parts.scheme}://{parts.netloc}/{uuid.uuid4().hex}-does-not-exist.html"
        return self._cached(f"404:{parts.scheme}://{parts.netloc}", probe, True)

    def warm(self, url: str) -> None:
        """Start the site's not-found probe before its pages are fetched.

        The probe then waits its turn at the head of the host's queue instead of behind every
        page of the batch, so captures that need it are stored as they finish.
        """
        self._not_found_probe(url)

    async def not_found_text(self, url: str) -> str | None:
        """The text a site serves with status 200 for a page that cannot exist (its soft-404 page)."""
        return await self._not_found_probe(url)

    async def home_text(self, url: str) -> str | None:
        parts = urlsplit(url)
        return await self._cached(f"home:{parts.scheme}://{parts.netloc}", f"{parts.scheme}://{parts.netloc}/", False)

    def cancel(self) -> None:
        """Drop the probes still under way (a pass that stops does not wait for them)."""
        for task in self.tasks.values():
            task.cancel()


def _snapshot(job: Job, result: FetchResult, hops, text: str, full_text: str, kind: str, title: str | None,
              body_sha: str | None, text_sha: str | None = None) -> Snapshot:
    if body_sha is None and result.body:
        body_sha = sha256_hex(result.body)
    return Snapshot(
        requested_url=job.url,
        final_url=result.final_url,
        status=result.status,
        redirects=hops,
        text=text,
        full_text=full_text,
        body_sha256=body_sha,
        text_sha256=text_sha or (sha256_hex(text.encode("utf-8")) if text else None),
        error_kind=result.error_kind,
        error=result.error,
        kind=kind,
        title=title,
    )


class Pipeline:
    """One pass's machinery: a fetcher and a per-site context for each vantage point (made
    when a page first needs it: one connection pool per vantage), and the extraction pool.
    Use as `async with pipeline:`."""

    def __init__(self, config: Config, pool: ExtractionPool) -> None:
        self.config = config
        self.pool = pool
        self.fetcher = Fetcher(config.fetch, vantage=DEFAULT)
        self.fetchers: dict[str, Fetcher] = {DEFAULT: self.fetcher}
        self.site_contexts: dict[str, SiteContext] = {}
        self.browser = Browser(config, address_policy=self.fetcher.address_policy)
        # `archiver screenshot URL`: render the page and screenshot it whatever its mode and verdict.
        self.force_render = False
        self.force_screenshot = False

    async def __aenter__(self) -> Pipeline:
        await self.fetcher.__aenter__()
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.cancel_probes()
        fetchers, self.fetchers = list(self.fetchers.values()), {}
        for fetcher in fetchers:
            await fetcher.__aexit__(None, None, None)

    async def fetch(self, vantage: str, url: str, **kwargs) -> FetchResult:
        """Fetch `url` from `vantage` (archiver.fetch.Fetcher.fetch); a vantage the configuration
        no longer defines is a failed fetch that says so."""
        fetcher = self.fetchers.get(vantage)
        if fetcher is None:
            try:
                proxy = proxy_of(self.config, vantage)
            except UnknownVantage as exc:
                return FetchResult(requested_url=url, error_kind="proxy", error=str(exc), vantage=vantage)
            fetcher = self.fetchers[vantage] = Fetcher(self.config.fetch, proxy=proxy, vantage=vantage)
            await fetcher.__aenter__()
        return await fetcher.fetch(url, **kwargs)

    def sites(self, vantage: str) -> SiteContext:
        """The not-found and home pages of sites as seen from `vantage`."""
        context = self.site_contexts.get(vantage)
        if context is None:
            context = self.site_contexts[vantage] = SiteContext(
                lambda url: self.fetch(vantage, url), self.extract_visible)
        return context

    def cancel_probes(self) -> None:
        """Drop the site probes still under way, from every vantage."""
        for context in self.site_contexts.values():
            context.cancel()

    async def extract_visible(self, body: bytes, content_type: str | None, url: str) -> Extracted:
        """Extract a page's visible text only (no main text), in the pool: what a site's
        not-found and home pages are compared by."""
        return await self.pool.call(extract_visible, body, content_type, url)

    async def extract_and_judge(
        self, job: Job, result: FetchResult, hops: list, body_sha: str | None, follows_refresh: bool,
        vantage: str = DEFAULT,
    ) -> tuple[Extracted, Packed, Packed | None, Verdict | None]:
        """Extract a new body, compress it and its text, and judge the capture, in one call to
        the pool (archiver.tasks). The site's not-found and home pages are awaited first: its
        not-found probe was started with the batch, ahead of its pages."""
        not_found = home = None
        if self.config.verdict.probe_not_found and result.status == 200 and not result.error_kind:
            not_found = await self.sites(vantage).not_found_text(result.final_url or job.url)
            if hops:
                home = await self.sites(vantage).home_text(result.final_url or job.url)
        judging = Judging(
            current=_snapshot(job, result, hops, "", "", "other", None, body_sha),
            previous=job.previous.snapshot if job.previous else None,
            not_found_text=not_found, home_text=home, min_body_chars=self.config.verdict.min_body_chars,
            follows_refresh=follows_refresh,
        )
        return await self.pool.call(extract_and_judge, result.body, result.content_type, judging)

    async def capture(self, job: Job) -> Outcome:
        """Capture one source from its vantage; never raises. When that does not get the page
        (deleted or unreachable) and the source has a second vantage, it is captured again from
        there and the two verdicts are combined (verdict.across_vantages): the first capture
        records the combined state, the second its own unless it failed too."""
        outcome = await self._capture_from(job, job.route.vantage)
        again = job.route.recheck
        if not again or outcome.verdict is None or outcome.verdict.state not in ("deleted", "unreachable"):
            return outcome
        second = await self._capture_from(job, again)
        outcome.recheck = second
        if second.verdict is None:  # the second vantage got a page that could not be read: no judgement
            outcome.verdict = None
            outcome.error = (f"not judged: {again} got the page, and it could not be read (see the capture from "
                             f"{again}); the source keeps its state")
            return outcome
        combined = across_vantages(job.route.vantage, outcome.verdict, outcome.fetch.error_kind,
                                   again, second.verdict, second.fetch.error_kind)
        outcome.verdict = Verdict(combined.state, combined.reason, None, False)
        if second.verdict.state in ("deleted", "unreachable"):
            second.verdict = Verdict(combined.state, combined.reason, None, False)
        outcome.source_verdict = combined
        return outcome

    async def _capture_from(self, job: Job, vantage: str) -> Outcome:
        """Capture one source from `vantage`; never raises. A failure inside the archiver (a bug,
        a broken pool) is tried again once, then becomes the outcome's error (error_kind "internal")."""
        try:
            return await self._capture(job, vantage)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("capture of %s failed inside the archiver (%r); trying it again", job.url, exc)
        try:
            return await self._capture(job, vantage)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one broken source never stops a pass
            log.exception("capture of %s failed twice inside the archiver", job.url)
            now = utcnow()
            result = FetchResult(
                requested_url=job.url, final_url=None, status=None, redirects=[], request_headers={},
                response_headers=[], body=b"", truncated=False, server_ip=None, http_version=None,
                started_at=now, ended_at=now, error_kind="other", error=None, not_modified=False, content_type=None,
                vantage=vantage,
            )
            return Outcome(job, result, None, "", None, error=f"internal error while capturing: {exc!r}", error_kind="internal")

    async def _capture(self, job: Job, vantage: str) -> Outcome:
        outcome, unrendered = await self._capture_plain(job, vantage)
        if unrendered is None:
            return outcome
        return await self._render(job, outcome, unrendered[1])

    async def _render(self, job: Job, plain: Outcome, why: str) -> Outcome:
        """Capture `job` again with the browser (archiver.rendering); the plain outcome, with the
        browser's error added, when the page cannot be rendered or read."""
        extracted = dom_blob = text_blob = verdict = shot = None
        problem = None
        async with self.browser.open(job.url) as page:
            rendered = page.rendered
            if not rendered.error:
                result = browser_result(plain.fetch, rendered)
                dom_sha = sha256_hex(result.body)
                try:
                    extracted, dom_blob, text_blob, verdict = await self.extract_and_judge(
                        job, result, plain.hops, dom_sha, False)
                except WorkerCrashed as exc:
                    problem = f"the rendered page could not be read: {exc}"
                if verdict is not None and wants_screenshot(self.config, verdict.state, self.force_screenshot,
                                                            job.state):
                    shot = await page.screenshot()
        if rendered.error or problem or extracted is None or extracted.error_kind or verdict is None:
            why_not = problem or (f"rendering with a browser failed: {rendered.error}" if rendered.error else
                                  f"the rendered page could not be read: {extracted.error if extracted else 'no text'}")
            plain.error = "; ".join(filter(None, [plain.error, why_not]))
            return plain
        learnt = None
        if job.render == "auto" and not job.site_renders and not is_blank_page(_snapshot(
                job, result, plain.hops, extracted.text, extracted.full_text, extracted.kind, extracted.title, dom_sha)):
            learnt = (site_of(job.url), f"{job.url}: {why}")
        settings = self.config.browser
        return dataclasses.replace(
            plain, extracted=extracted, text=extracted.text, verdict=verdict, text_sha256=text_blob.sha256 if text_blob else None,
            text_blob=text_blob, rendered=dom_blob, screenshot=shot, learnt_site=learnt,
            provenance=rendered_provenance(plain.fetch.exchanges, plain.fetch.request_headers.get("User-Agent"), rendered,
                                           (settings.viewport_width, settings.viewport_height)))

    async def _capture_plain(self, job: Job, vantage: str) -> tuple[Outcome, tuple[Snapshot, str] | None]:
        """The plain capture (httpx) from `vantage`; with its snapshot and why, when it should be rendered."""
        prev = job.previous
        conditional_off = job.renders_directly or self.force_render
        asked = prev if prev is not None and not conditional_off else None
        result = await self.fetch(
            vantage, job.url,
            etag=asked.etag if asked else None,
            last_modified=asked.last_modified if asked else None,
            validated_url=asked.snapshot.final_url if asked else None,
        )
        hops = [(hop.status, hop.location) for hop in result.redirects]
        if result.not_modified and prev is not None and result.final_url == prev.snapshot.final_url:
            unchanged = Verdict("unchanged", "server answered 304 Not Modified to a conditional request", 1.0, True)
            return Outcome(job, result, None, prev.snapshot.text, unchanged, hops=hops,
                           text_sha256=prev.snapshot.text_sha256), None
        extracted: Extracted | None = None
        verdict: Verdict | None = None
        text = full_text = ""
        kind = "other"
        body_sha = None
        body: bytes | Packed | None = result.body or None
        text_blob = None
        # A failed fetch (cut at max_bytes, broken off, timed out) is stored as received, not read:
        # its verdict is unreachable whatever it says, and reading a cut 50 MB body costs a worker.
        if result.body and result.status is not None and not result.error_kind:
            body_sha = sha256_hex(result.body)
            if (prev is not None and body_sha == prev.snapshot.body_sha256 and result.status == prev.snapshot.status
                    and not conditional_off):
                text = full_text = prev.snapshot.text
                kind = prev.kind
            else:
                try:
                    extracted, body, text_blob, verdict = await self.extract_and_judge(job, result, hops, body_sha, True,
                                                                                       vantage)
                except WorkerCrashed as exc:
                    return _crashed(job, result, hops, body_sha, exc), None
                if extracted.error_kind:
                    return _unread(job, result, hops, body_sha, body, extracted), None
                if verdict is None:  # a meta refresh to follow
                    target = extracted.meta_refresh or ""
                    followed = await self.fetch(vantage, target)
                    hops = hops + [(0, target)] + [(h.status, h.location) for h in followed.redirects]
                    refresh = Hop(url=result.final_url or job.url, status=0, location=target)
                    followed.redirects = result.redirects + [refresh] + followed.redirects
                    followed.requested_url = job.url
                    followed.addresses = result.addresses + followed.addresses
                    followed.exchanges = result.exchanges + followed.exchanges
                    result = followed
                    body_sha = sha256_hex(result.body) if result.body else None
                    body = result.body or None
                    extracted = text_blob = None
                    if result.body and result.status is not None and not result.error_kind:
                        try:
                            extracted, body, text_blob, verdict = await self.extract_and_judge(
                                job, result, hops, body_sha, False, vantage)
                        except WorkerCrashed as exc:
                            return _crashed(job, result, hops, body_sha, exc), None
                        if extracted.error_kind:
                            return _unread(job, result, hops, body_sha, body, extracted), None
                if extracted is not None:
                    text, full_text, kind = extracted.text, extracted.full_text, extracted.kind
        title = extracted.title if extracted else (prev.page_title if prev and text else None)
        current = _snapshot(job, result, hops, text, full_text, kind, title, body_sha,
                            text_blob.sha256 if text_blob else None)
        body_size = len(result.body) if result.body else None
        unrendered = None
        if (job.render != "never" or self.force_render) and current.kind == "html" and not current.error_kind \
                and current.status is not None and 200 <= current.status < 300:
            unrendered = "rendering asked for" if conditional_off else looks_unrendered(
                current, result.body, self.config.verdict.min_body_chars)
        if isinstance(body, Packed):
            result.body = b""
        if verdict is None:  # nothing new was extracted: an error, an empty body or the same bytes
            verdict = judge(prev.snapshot if prev else None, current, min_body_chars=self.config.verdict.min_body_chars)
        return Outcome(job, result, extracted, text, verdict, hops=hops,
                       body_sha256=current.body_sha256, text_sha256=current.text_sha256, body=body, body_size=body_size,
                       text_blob=text_blob), (current, unrendered) if unrendered else None


def _crashed(job: Job, result: FetchResult, hops: list, body_sha: str | None, exc: WorkerCrashed) -> Outcome:
    """The outcome of a page whose extraction kills the extraction process even alone: its
    body is stored as fetched, its text is not read, and its source keeps its state."""
    error = ("the page's text could not be extracted: the extraction process crashed on it (a fault in "
             f"the HTML or PDF libraries: {exc}); the page as received is stored")
    return Outcome(job, result, None, "", None, error=error, error_kind="extract_crash", hops=hops,
                   body_sha256=body_sha, body=result.body or None, body_size=len(result.body) if result.body else None)


def _unread(job: Job, result: FetchResult, hops: list, body_sha: str | None, body: Packed,
            extracted: Extracted) -> Outcome:
    """The outcome of a page past the extraction worker's time or memory limit (archiver.limits):
    its body is stored, its text is not read, and its source keeps its state."""
    size = len(result.body) if result.body else None
    result.body = b""  # the worker packed it
    return Outcome(job, result, None, "", None, error=extracted.error, error_kind=extracted.error_kind, hops=hops,
                   body_sha256=body_sha, body=body, body_size=size)


def provenance_of(outcome: Outcome) -> Provenance:
    """The provenance record of an outcome's capture (archiver.provenance); a plain capture's names
    the vantage point it was fetched from (a rendered page does not go through a vantage's proxy)."""
    result = outcome.fetch
    if outcome.provenance is not None:
        return outcome.provenance
    record = plain_provenance(result.exchanges, result.request_headers.get("User-Agent") or "")
    record.extra["vantage"] = result.vantage or DEFAULT
    return record


def _capture_row(outcome: Outcome, run_id: int | None, config_data: dict, body_sha: str | None, text_sha: str | None,
                 provenance: Provenance) -> Capture:
    result, verdict, extracted = outcome.fetch, outcome.verdict, outcome.extracted
    prev = outcome.job.previous
    reused = prev if extracted is None and prev is not None and body_sha == prev.snapshot.body_sha256 else None
    return Capture(
        source_id=outcome.job.source_id,
        run_id=run_id,
        origin="live",
        requested_url=outcome.job.url,
        final_url=result.final_url,
        started_at=result.started_at,
        ended_at=result.ended_at,
        status_code=result.status,
        redirects=[[status, location] for status, location in outcome.hops],
        request_headers=dict(result.request_headers),
        response_headers=[[k, v] for k, v in result.response_headers],
        server_ip=result.server_ip,
        http_version=result.http_version,
        content_type=result.content_type,
        charset=extracted.charset if extracted else (reused.charset if reused else None),
        body_sha256=body_sha,
        body_size=outcome.body_size,
        text_sha256=text_sha,
        text_length=len(outcome.text) if outcome.text else 0,
        page_title=extracted.title if extracted else (reused.page_title if reused else None),
        published=extracted.published if extracted else (reused.published if reused else None),
        not_modified=result.not_modified,
        error_kind=outcome.error_kind or result.error_kind,
        error="; ".join(filter(None, [outcome.error or result.error, extracted.error if extracted else None])) or None,
        verdict=verdict.state if verdict else None,
        verdict_reason=verdict.reason if verdict else None,
        similarity=verdict.similarity if verdict else None,
        compared_to_id=prev.capture_id if prev else None,
        tool=TOOL_NAME,
        tool_version=__version__,
        config=config_data,
        elapsed_ms=int((result.ended_at - result.started_at).total_seconds() * 1000),
        provenance=provenance.to_dict(),
    )


def _apply_to_source(source: Source, capture: Capture, verdict: Verdict | None, config: Config, now: datetime,
                     state: Verdict | None = None) -> None:
    """What `capture` tells its source: when it was checked and is due, its state (`state` when
    given: the state of several vantages together, else `verdict`), its last good capture."""
    source.last_checked_at = now
    source.last_capture_id = capture.id
    source.capture_count = (source.capture_count or 0) + 1
    source.lease_owner = None
    source.lease_expires_at = None
    hours = source.interval_hours or config.capture.default_interval_hours
    if capture.error_kind == "internal":
        source.next_due_at = now + min(INTERNAL_RETRY, timedelta(hours=hours))
    else:
        source.next_due_at = now + timedelta(hours=hours)
    source.last_error = capture.error if (capture.error_kind or verdict is None or not verdict.good) else None
    if verdict is None:
        return
    state = state or verdict
    if state.state != source.state:
        source.state_since = now
    source.state = state.state
    source.state_reason = state.reason
    if capture.final_url:
        source.final_url = capture.final_url
    if state.state == "unreachable":
        source.unreachable_since = source.unreachable_since or now
    else:
        source.unreachable_since = None
    if verdict.good:
        source.last_good_capture_id = capture.id
        if capture.page_title and not source.title:
            source.title = capture.page_title


def capture_settings(config: Config) -> dict:
    """The settings recorded (and sealed) on every live capture: the [fetch], [capture] and
    [verdict] sections, which shape what was fetched and how it was judged (with_vantage adds
    the vantage point each capture was made from). The other sections
    (database, Wayback, schedule, notifications) say nothing about a capture and would cost
    a kilobyte on each of millions of captures."""
    data = config.as_dict()
    return {section: data[section] for section in CAPTURE_SETTINGS}


def with_vantage(settings: dict, config: Config, vantage: str | None) -> dict:
    """`settings` plus the vantage point the capture was made from: its name and its proxy
    (password masked), sealed with the capture as part of its provenance."""
    name = vantage or DEFAULT
    try:
        proxy = mask_url(proxy_of(config, name))
    except UnknownVantage:
        proxy = None
    return {**settings, "vantage": {"name": name, "proxy": proxy}}


def write_outcomes(
    session_factory: sessionmaker,
    run_id: int,
    outcomes: list[Outcome],
    config: Config,
    worker: str | None = None,
    settings: dict | None = None,
) -> int:
    """Store a batch of outcomes in one transaction; returns how many new bodies were stored.

    With `worker`, only the outcomes whose source this worker still leases are stored; the
    others are marked `lease_lost` (another worker took the source over after the lease ran out).
    `settings` is what capture_settings(config) returns, computed once per pass by the caller.
    """
    config_data = settings if settings is not None else capture_settings(config)
    with session_factory.begin() as session:
        if worker is not None:
            held = hold_leases(session, worker, [o.job.source_id for o in outcomes], config.schedule.lease_seconds)
            for o in outcomes:
                o.lease_lost = o.job.source_id not in held
            outcomes = [o for o in outcomes if not o.lease_lost]
            if not outcomes:
                return 0
        checks, outcomes = outcomes, [part for o in outcomes for part in o.parts()]
        # The hashes computed while capturing are the blob keys: no body is hashed twice.
        with_body = [o for o in outcomes if o.body and not o.fetch.not_modified]
        with_text = [o for o in outcomes if o.text]
        body_keys, new_bodies = put_blobs(session, [o.body for o in with_body if o.body],
                                          keys=[o.body_sha256 for o in with_body])
        text_keys, _ = put_blobs(session, [o.text_blob or o.text.encode("utf-8") for o in with_text],
                                 keys=[o.text_sha256 for o in with_text])
        body_of = {id(o): key for o, key in zip(with_body, body_keys)}
        text_of = {id(o): key for o, key in zip(with_text, text_keys)}
        records = [provenance_of(o) for o in outcomes]
        extra = {key: der for record in records for key, der in record.certificates().items()}
        extra.update({sha256_hex(o.screenshot): o.screenshot for o in outcomes if o.screenshot})
        put_blobs(session, list(extra.values()), keys=list(extra))
        put_blobs(session, [o.rendered for o in outcomes if o.rendered])
        captures = []
        from_vantage: dict[str | None, dict] = {}
        for o, record in zip(outcomes, records):
            if o.fetch.not_modified and o.job.previous:
                body_sha = o.job.previous.snapshot.body_sha256
            else:
                body_sha = body_of.get(id(o))
            if o.fetch.vantage not in from_vantage:
                from_vantage[o.fetch.vantage] = with_vantage(config_data, config, o.fetch.vantage)
            row = _capture_row(o, run_id, from_vantage[o.fetch.vantage], body_sha, text_of.get(id(o)), record)
            row.rendered_sha256 = o.rendered.sha256 if o.rendered else None
            row.screenshot_sha256 = sha256_hex(o.screenshot) if o.screenshot else None
            captures.append(row)
        add_captures(session, captures)
        for o, capture in zip(outcomes, captures):
            o.capture_id = capture.id
        remember_sites(session, {o.learnt_site[0]: (o.job.source_id, o.learnt_site[1]) for o in outcomes if o.learnt_site})
        index_quietly(session, captures, {key: o.text for o, key in zip(with_text, text_keys)},
                      {key: o.text_blob.terms for o, key in zip(with_text, text_keys) if isinstance(o.text_blob, PackedText)})
        sources = {s.id: s for s in session.scalars(select(Source).where(Source.id.in_([o.job.source_id for o in outcomes])))}
        now = utcnow()
        combined = {id(check.recheck): check.source_verdict for check in checks if check.recheck is not None}
        for o, capture in zip(outcomes, captures):
            _apply_to_source(sources[o.job.source_id], capture, o.verdict, config, now, combined.get(id(o)))
        session.flush()
        plugins.after_captures(session, [(sources[o.job.source_id], capture, o.text) for o, capture in zip(outcomes, captures)])
        submissions.after_captures(session, [(sources[o.job.source_id], capture) for o, capture in zip(outcomes, captures)],
                                   config.wayback, [o.fetch.addresses for o in outcomes])
        return new_bodies


def _prepare_jobs(session: Session, ids: list[int], config: Config) -> list[Job]:
    sources = list(session.scalars(select(Source).where(Source.id.in_(ids)).order_by(Source.id)))
    previous = _load_previous(session, sources)
    modes = {s.id: s.render or config.fetch.render for s in sources}
    sites = remembered_sites(session, [s.url for s in sources if modes[s.id] == "auto"])
    return [Job(s.id, s.url, previous.get(s.id), render=modes[s.id], site_renders=site_of(s.url) in sites, state=s.state,
                route=route_for(config, s.url, s.vantage, s.recheck_vantage)) for s in sources]


def extraction_pool(config: Config) -> ExtractionPool:
    """The extraction processes for passes run with `config` (archiver.pool): one per core
    unless [capture] extract_workers says otherwise. They start when a page first needs
    extracting, so a pass with nothing new to read starts none."""
    return ExtractionPool(config.capture.extract_workers or os.cpu_count() or 1,
                          page_limits=PageLimits.from_config(config.capture))


def count_due(session: Session, everything: bool = False, source_ids: list[int] | None = None) -> int:
    query = select(func.count()).select_from(Source).where(Source.untracked_at.is_(None))
    if not everything:
        query = query.where(Source.next_due_at <= utcnow())
    if source_ids is not None:
        query = query.where(Source.id.in_(source_ids))
    return session.scalar(query) or 0


class CapturePass:
    """One capture pass over the due sources (or all of them), recorded as a run.

    Its stages, each a method: `begin` (the run record), `claim` (lease the next batch of due
    sources), `capture` (one source, through the Pipeline), the batch `writer` (one transaction
    per batch, in its own thread), `heartbeat` (renews the leases of claimed sources), `settle`
    (let the captures in flight finish, or drop them when the stop is abandoned) and `finish`
    (give back what was not captured, close the run). Captures run concurrently on one event
    loop; `slots` bounds how many are under way, and the bounded `results` queue keeps them
    from piling up (with their bodies) faster than they are written. Screenshots of stored
    plain captures (`screenshot`) are taken beside the pass, which waits for them at its end.
    `screenshot=True` (`archiver screenshot URL`) renders every page and screenshots it whatever
    its render mode and verdict.
    """

    def __init__(
        self,
        config: Config,
        session_factory: sessionmaker,
        *,
        everything: bool = False,
        source_ids: list[int] | None = None,
        worker: str | None = None,
        trigger: str = "manual",
        on_outcome: Callable[[Outcome], None] | None = None,
        on_start: Callable[[int], None] | None = None,
        stop: Stop | asyncio.Event | None = None,
        pool: ExtractionPool | None = None,
        screenshot: bool = False,
    ) -> None:
        self.config = config
        self.sessions = session_factory
        self.everything = everything
        self.source_ids = source_ids
        self.worker = worker or worker_name()
        self.trigger = trigger
        self.on_outcome = on_outcome
        self.on_start = on_start
        self.stop = stop if stop is not None else Stop()
        self.own_pool = pool is None
        self.pool = pool if pool is not None else extraction_pool(config)
        self.pipeline = Pipeline(config, self.pool)
        self.pipeline.force_render = self.pipeline.force_screenshot = screenshot
        self.settings = capture_settings(config)
        self.batch_size = max(1, min(config.capture.batch_size, WRITE_BATCH))
        self.summary = RunSummary(run_id=0, counts=Counter())
        self.claimed_pending: set[int] = set()
        self.in_flight: set[asyncio.Task] = set()
        self.shots: set[asyncio.Task] = set()  # screenshots of stored plain captures (archiver.screenshots)
        self.results: asyncio.Queue[Outcome | None] = asyncio.Queue(maxsize=WRITE_BATCH)
        self.batch_full = asyncio.Event()
        self.slots = asyncio.Semaphore(max(config.fetch.concurrency * 4, 8))
        self.db_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="archiver-writer")
        self.lease_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="archiver-leases")
        self.started = time.monotonic()

    async def run(self) -> RunSummary:
        """Run the pass to its end, or until the stop request; returns what it did."""
        loop = asyncio.get_running_loop()
        expected = await loop.run_in_executor(self.db_thread, self.begin)
        if self.on_start:
            self.on_start(expected)
        writer_task = asyncio.ensure_future(self.writer())
        writer_task.add_done_callback(self._writer_ended)
        heartbeat_task = asyncio.ensure_future(self.heartbeat())
        try:
            async with self.pipeline, self.pipeline.browser:
                await self.claim_and_capture(writer_task)
                await self.settle()
                self.pipeline.cancel_probes()
                if not writer_task.done():
                    await self.results.put(None)
                await writer_task
                await self.screenshots_taken()
        finally:
            heartbeat_task.cancel()
            for task in self.in_flight | self.shots:
                task.cancel()
            if not writer_task.done():
                await self.results.put(None)
                try:
                    await writer_task
                except Exception as exc:
                    if storage_problem(exc) is None:  # a full or read-only store is told once, by the caller
                        log.exception("the writer failed")
            self.summary.interrupted = self.stop.is_set()
            self.summary.elapsed = time.monotonic() - self.started
            try:  # may fail as the writer did (a full disk): the workers and threads stop all the same
                await loop.run_in_executor(self.db_thread, self.finish)
                await loop.run_in_executor(self.db_thread, anchor_quietly, self.sessions, self.config, "run")
            finally:
                self.db_thread.shutdown(wait=True)
                self.lease_thread.shutdown(wait=True)
                if self.own_pool:
                    self.pool.shutdown(wait=True)
        return self.summary

    def begin(self) -> int:
        """Free the leases of dead workers, record the run; returns how many sources are due."""
        with self.sessions() as session:
            release_dead_leases(session)
            session.commit()
            if self.everything:
                make_all_due(session, self.source_ids)
            expected = count_due(session, self.everything, self.source_ids)
            run = Run(started_at=utcnow(), worker=self.worker, trigger=self.trigger, status="running")
            session.add(run)
            session.commit()
            self.summary.run_id = run.id
        return expected

    def claim(self) -> list[Job]:
        """Lease the next batch of due sources to this worker, with what their last good captures tell."""
        with self.sessions() as session:
            release_dead_leases(session)
            ids = claim_sources(session, self.worker, self.config.capture.batch_size,
                                self.config.schedule.lease_seconds, source_ids=self.source_ids)
            return _prepare_jobs(session, ids, self.config) if ids else []

    async def claim_and_capture(self, writer_task: asyncio.Task) -> None:
        """Claim batches and start their captures until nothing is due, the stop is requested or
        the writer failed."""
        loop = asyncio.get_running_loop()
        while not self.stop.is_set() and not writer_task.done():
            jobs = await loop.run_in_executor(self.db_thread, self.claim)
            if not jobs:
                return
            self.claimed_pending.update(job.source_id for job in jobs)
            for job in jobs:
                if self.config.verdict.probe_not_found:
                    self.pipeline.sites(job.route.vantage).warm(job.url)
                if not await self._slot() or writer_task.done():
                    return
                task = asyncio.ensure_future(self.capture(job))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)

    async def _slot(self) -> bool:
        """Wait for room to start one more capture; False when a stop is requested first."""
        if self.stop.is_set():
            return False
        acquire = asyncio.ensure_future(self.slots.acquire())
        stopping = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({acquire, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if acquire.done() and not acquire.cancelled():
            if not self.stop.is_set():
                return True
            self.slots.release()
        acquire.cancel()
        return False

    async def capture(self, job: Job) -> None:
        """Capture one source and queue its outcome for the writer."""
        try:
            outcome = await self.pipeline.capture(job)
            await self.results.put(outcome)
            if self.results.qsize() >= self.batch_size - 1:
                self.batch_full.set()
        finally:
            self.slots.release()

    async def settle(self) -> None:
        """Wait for the captures in flight; drop them when the stop is abandoned (a second
        signal, or the grace period is over)."""
        if not self.in_flight:
            return
        everything = asyncio.gather(*self.in_flight, return_exceptions=True)
        watchers: set[asyncio.Future] = {everything}
        gave_up = abandoned(self.stop)
        if gave_up is not None:
            watchers.add(asyncio.ensure_future(gave_up.wait()))
        await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
        for watcher in watchers - {everything}:
            watcher.cancel()
        if not everything.done():
            dropped = len(self.in_flight)
            log.warning("stopping now: %d captures in flight dropped; their sources stay due for the next pass", dropped)
            for task in list(self.in_flight):
                task.cancel()
            await everything

    async def writer(self) -> None:
        """Write queued outcomes in batches (one transaction each) until told to end (None)."""
        loop = asyncio.get_running_loop()
        done = False
        last_write = float("-inf")
        while not done:
            item = await self.results.get()
            batch = []
            if item is None:
                done = True
            else:
                batch.append(item)
                pause = last_write + WRITE_INTERVAL - loop.time()
                if pause > 0 and self.results.qsize() < self.batch_size - 1:
                    self.batch_full.clear()
                    try:  # until the batch is full: captures waiting for room must not wait for the clock
                        await asyncio.wait_for(self.batch_full.wait(), pause)
                    except TimeoutError:
                        pass
            while len(batch) < self.batch_size:
                try:
                    nxt = self.results.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if nxt is None:
                    done = True
                    break
                batch.append(nxt)
            if batch:
                last_write = loop.time()
                await self._write(batch)

    async def _write(self, batch: list[Outcome]) -> None:
        loop = asyncio.get_running_loop()
        written = loop.run_in_executor(self.db_thread, write_outcomes, self.sessions, self.summary.run_id, batch,
                                       self.config, self.worker, self.settings)
        try:
            new_bodies = await asyncio.shield(written)
        except asyncio.CancelledError:
            # Abandoning the pass cannot stop a transaction already in its thread: wait for it,
            # so that the run's counts include the captures it stores, then stop.
            try:
                self._stored(batch, await written)
            except Exception:
                log.exception("the last batch of an abandoned pass failed to be stored")
            raise
        self._stored(batch, new_bodies)

    def _stored(self, batch: list[Outcome], new_bodies: int) -> None:
        self.summary.new_bodies += new_bodies
        for o in batch:
            self.claimed_pending.discard(o.job.source_id)
            if o.lease_lost:
                log.warning("%s: not stored, another worker took it over after this worker's lease ran out", o.job.url)
            else:
                self._record(o)

    def _record(self, outcome: Outcome) -> None:
        summary = self.summary
        summary.total += 1
        state = outcome.verdict.state if outcome.verdict else "failed"
        summary.counts[state] += 1
        if outcome.error or outcome.fetch.error or (outcome.verdict and not outcome.verdict.good):
            reason = outcome.verdict.reason if outcome.verdict else None
            summary.failures.append((outcome.job.url, outcome.error or outcome.fetch.error or reason))
            summary.failure_kinds.append(outcome.error_kind or outcome.fetch.error_kind)
        if self.on_outcome:
            self.on_outcome(outcome)
        if (outcome.capture_id and outcome.verdict and outcome.rendered is None and outcome.fetch.status is not None
                and wants_screenshot(self.config, outcome.verdict.state, self.pipeline.force_screenshot,
                                     outcome.job.state)):
            task = asyncio.ensure_future(self.screenshot(outcome))
            self.shots.add(task)
            task.add_done_callback(self.shots.discard)

    async def screenshot(self, outcome: Outcome) -> None:
        """Screenshot a stored plain capture's page and store it as a sealed screenshot event."""
        url = outcome.fetch.final_url or outcome.job.url
        capture_id = outcome.capture_id
        if capture_id is None:
            return
        png = None
        async with self.pipeline.browser.open(url) as page:
            png = await page.screenshot()
        if png is None:
            log.warning("no screenshot of %s: %s", url, page.rendered.error)
            return

        def store() -> None:
            with self.sessions.begin() as session:
                store_screenshot(session, capture_id, outcome.job.source_id, png, outcome.job.url, url, utcnow())

        try:
            await asyncio.get_running_loop().run_in_executor(self.db_thread, store)
        except Exception:
            log.exception("the screenshot of %s could not be stored", url)

    async def screenshots_taken(self) -> None:
        """Wait for the screenshots under way; a stop request drops them (the captures are stored)."""
        while self.shots and not self.stop.is_set():
            stopping = asyncio.ensure_future(self.stop.wait())
            await asyncio.wait(self.shots | {stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
        dropped = list(self.shots)
        for task in dropped:
            task.cancel()
        await asyncio.gather(*dropped, return_exceptions=True)

    def _writer_ended(self, task: asyncio.Task) -> None:
        # A writer that failed stores nothing more: captures waiting for room in the queue would wait forever.
        if task.cancelled() or task.exception() is not None:
            for pending in list(self.in_flight):
                pending.cancel()

    async def heartbeat(self) -> None:
        """Renew the leases of the sources claimed and not yet stored, every third of the lease time."""
        loop = asyncio.get_running_loop()
        every = max(self.config.schedule.lease_seconds / 3, 0.1)
        while True:
            await asyncio.sleep(every)
            if not self.claimed_pending:
                continue
            ids = sorted(self.claimed_pending)

            try:
                await loop.run_in_executor(self.lease_thread, self.renew, ids)
            except Exception:
                log.exception("could not renew the leases of this pass")

    def renew(self, ids: list[int]) -> None:
        """Extend this pass's leases on `ids` (in the lease thread)."""
        with self.sessions() as session:
            renew_leases(session, self.worker, ids, self.config.schedule.lease_seconds)

    def finish(self) -> None:
        """Give back the sources claimed and not captured (they stay due), and close the run."""
        summary = self.summary
        with self.sessions() as session:
            release_sources(session, self.worker, sorted(self.claimed_pending))
            run = session.get(Run, summary.run_id)
            run.ended_at = utcnow()
            run.status = "interrupted" if summary.interrupted else "finished"
            run.counts = dict(summary.counts) | {"total": summary.total, "new_bodies": summary.new_bodies}
            session.commit()


async def capture_pass(config: Config, session_factory: sessionmaker, **kwargs) -> RunSummary:
    """Run one capture pass over the due sources (or all of them) and record it as a run
    (see CapturePass for the keyword arguments)."""
    return await CapturePass(config, session_factory, **kwargs).run()


def run_pass(config: Config, session_factory: sessionmaker, **kwargs) -> RunSummary:
    """Synchronous entry point for `archiver run` and the scheduler."""
    return asyncio.run(capture_pass(config, session_factory, **kwargs))
