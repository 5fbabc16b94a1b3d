"""Quote checks: is each citation's quote in a capture's text? One row per citation and capture.

Which captures say something about a quote:
- a live capture judged new, unchanged, altered or moved: its text is checked;
- a live capture judged deleted: the quote is recorded "missing" (the page is gone), so the
  history shows when it vanished;
- a live capture that failed or found the page unreachable: nothing is recorded, since it
  tells us nothing new (the last good capture stands);
- a capture imported from a WARC file that was judged (archiver.warc judges an imported
  history like live captures): as a live capture of its time;
- a capture recovered from the Wayback Machine, or imported from a WARC file and kept as
  evidence without a verdict: its text is checked when it answered 2xx with text. These are
  archive evidence, never the live page.

A quote missing from a capture's main text is looked for in the page's visible text too (read
from the stored body, archiver.extract.visible_text): found there, it is recorded "present
(outside the main text)", so that a quote in a part of the page the extractor leaves out (another
post on a blog page, a boxed table) does not read missing from the first capture on.

`record_checks_many` runs inside the transaction that stores a batch of captures (through the plugin hook);
`backfill_checks` checks new citations against the captures their source already has, so a
citation added after its page was captured (or deleted) is judged at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archiver.extract import visible_text
from archiver.models import Capture, Source
from archiver.quotes import MISSING, QuoteMatch, check_quote_on_page
from archiver.readdb import chunks
from archiver.store import MissingBlob, get_blob, get_texts
from evidence import LIVE_GOOD
from evidence.models import Citation, QuoteCheck


@dataclass(frozen=True)
class CaptureFacts:
    """The few fields of a capture that decide whether and how its quotes are checked."""

    id: int
    source_id: int
    origin: str
    verdict: str | None
    verdict_reason: str | None
    status_code: int | None
    text_sha256: str | None
    body_sha256: str | None = None
    content_type: str | None = None


def evidence_kind(capture: CaptureFacts | Capture) -> str | None:
    """"text" when the capture's text can be searched for quotes, "deleted" when the live page is
    gone, None when the capture says nothing about quotes (failed, unreachable, not a page)."""
    if capture.origin == "live" or (capture.origin == "warc" and capture.verdict is not None):
        if capture.verdict in LIVE_GOOD:
            return "text"
        if capture.verdict == "deleted":
            return "deleted"
        return None
    if capture.status_code is not None and 200 <= capture.status_code < 300 and capture.text_sha256:
        return "text"
    return None


def deleted_match(reason: str | None) -> QuoteMatch:
    """The result recorded for a quote on a page judged deleted."""
    why = f": {reason}" if reason else ""
    return QuoteMatch("missing", 0.0, f"the page is deleted{why}", None)


class _PageTexts:
    """The visible text of stored bodies, read once per body and only when a quote needs it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.texts: dict[str, str] = {}

    def of(self, capture: CaptureFacts | Capture) -> str:
        sha = capture.body_sha256
        if not sha:
            return ""
        if sha not in self.texts:
            try:
                body = get_blob(self.session, sha)
            except MissingBlob:
                body = b""
            self.texts[sha] = visible_text(body, capture.content_type) if body else ""
        return self.texts[sha]


def _check(quote: str, text: str, capture: CaptureFacts | Capture, pages: _PageTexts) -> QuoteMatch:
    """The quote checked against the capture's main text, then, if missing there, its page."""
    match = check_quote_on_page(quote, text, None)
    if match.status == MISSING:
        match = check_quote_on_page(quote, text, pages.of(capture))
    return match


def _quoted(citations: Iterable[Citation]) -> list[Citation]:
    return [c for c in citations if c.quote and c.quote.strip()]


def _row(citation_id: int, capture_id: int, match: QuoteMatch) -> QuoteCheck:
    return QuoteCheck(
        citation_id=citation_id,
        capture_id=capture_id,
        status=match.status,
        score=match.score,
        detail=match.detail,
        closest=match.closest,
    )


def record_checks_many(session: Session, stored: list[tuple[Source, Capture, str]]) -> list[QuoteCheck]:
    """Check every quoted citation of each source against its freshly stored capture, for a batch
    of (source, capture, text); returns the rows added. The batch's citations are looked up in one
    query per 500 sources (a pass stores its captures in batches, most of them uncited)."""
    telling = [(source, capture, text, kind) for source, capture, text in stored
               if (kind := evidence_kind(capture)) is not None]
    ids = sorted({source.id for source, *_ in telling})
    cited: dict[int, list[Citation]] = defaultdict(list)
    for chunk in chunks(ids):
        query = select(Citation).where(Citation.source_id.in_(chunk)).order_by(Citation.id)
        for citation in _quoted(session.scalars(query)):
            cited[citation.source_id].append(citation)
    rows = []
    pages = _PageTexts(session)
    for source, capture, text, kind in telling:
        for citation in cited.get(source.id, ()):
            if kind == "deleted":
                match = deleted_match(capture.verdict_reason)
            else:
                match = _check(citation.quote or "", text, capture, pages)
            rows.append(_row(citation.id, capture.id, match))
    session.add_all(rows)
    return rows


def backfill_checks(session: Session, citations: Iterable[Citation]) -> int:
    """Check citations against every capture their source already has that says something about
    quotes, skipping (citation, capture) pairs already checked. Each distinct text is loaded and
    checked once. Returns how many checks were recorded."""
    quoted = _quoted(citations)
    if not quoted:
        return 0
    session.flush()
    by_source: dict[int, list[Citation]] = defaultdict(list)
    for citation in quoted:
        by_source[citation.source_id].append(citation)
    captures: list[CaptureFacts] = []
    for chunk in chunks(sorted(by_source)):
        rows = session.execute(
            select(Capture.id, Capture.source_id, Capture.origin, Capture.verdict, Capture.verdict_reason,
                   Capture.status_code, Capture.text_sha256, Capture.body_sha256, Capture.content_type)
            .where(Capture.source_id.in_(chunk))
            .order_by(Capture.id)
        )
        captures.extend(CaptureFacts(*row) for row in rows)
    captures = [c for c in captures if evidence_kind(c) is not None]
    if not captures:
        return 0
    done: set[tuple[int, int]] = set()
    for chunk in chunks([c.id for c in quoted]):
        done.update((row[0], row[1]) for row in session.execute(
            select(QuoteCheck.citation_id, QuoteCheck.capture_id).where(QuoteCheck.citation_id.in_(chunk))
        ))
    texts = get_texts(session, (c.text_sha256 for c in captures if evidence_kind(c) == "text"), missing_ok=True)
    results: dict[tuple[int, str | None, str | None], QuoteMatch] = {}
    pages = _PageTexts(session)
    checks: list[QuoteCheck] = []
    for capture in captures:
        for citation in by_source.get(capture.source_id, []):
            if (citation.id, capture.id) in done:
                continue
            if evidence_kind(capture) == "deleted":
                match = deleted_match(capture.verdict_reason)
            else:
                key = (citation.id, capture.text_sha256, capture.body_sha256)
                if key not in results:
                    results[key] = _check(citation.quote or "", texts.get(capture.text_sha256 or "", ""), capture, pages)
                match = results[key]
            checks.append(_row(citation.id, capture.id, match))
    session.add_all(checks)
    session.flush()
    return len(checks)
