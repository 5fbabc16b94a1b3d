"""Citation reports: can a claim still be backed up, and with what?

`claim_report(session, id)` and `all_reports(session)` gather the facts into plain dataclasses;
`evidence.render` turns them into JSON, Markdown or HTML. The facts per citation: the source
(title, publisher, language, URL), its state and since when, the quote and whether it is
still on the live page (with the closest passage when it is not), the capture that best
supports the claim (the latest one where the quote is present, live or recovered from an
archive) with its date and SHA-256, a Wayback Machine copy when there is one, and a
ready-to-paste citation line.

How a citation supports its claim (`support`):
- "live": the source's live page is fine (new, unchanged, altered or moved) and its latest
  check found the quote (a citation without a quote: the page is there);
- "archive": not live, but a capture has the quote: a local capture from before the page
  changed, went away or became unreachable, or a copy recovered from the Wayback Machine;
- "none": the page was checked and no capture has the quote;
- "unchecked": the source has no capture that tells anything yet.
A claim is "at risk" when a citation supports it only through archives or not at all, or a
source is deleted or altered, or a quote is missing; reports of many claims list those first.

Queries are per report, not per citation: quote checks come from window queries that pick
the latest matching check per citation, and no stored text is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from archiver.models import Capture, Source, utcnow
from evidence.checks import ARCHIVE_ORIGINS, CHUNK, LIVE_GOOD
from evidence.claims import EvidenceError
from evidence.models import Citation, Claim, DataPoint, QuoteCheck

SUPPORT_LEVELS = ("live", "archive", "none", "unchecked")
RISKY_STATES = ("deleted", "altered")
SCHEMA = "source-archiver/citation-report/1"


@dataclass
class CaptureRef:
    """The facts of one capture a report shows."""

    id: int
    source_id: int
    origin: str
    captured_at: datetime
    status: int | None
    final_url: str | None
    body_sha256: str | None
    text_sha256: str | None
    wayback_url: str | None
    wayback_timestamp: str | None

    @property
    def wayback_date(self) -> datetime | None:
        """When the Wayback Machine made its copy (from its 14-digit timestamp), or None."""
        stamp = (self.wayback_timestamp or "").strip()
        if not stamp.isdigit() or len(stamp) < 8:
            return None
        try:
            return datetime.strptime(stamp.ljust(14, "0")[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        except ValueError:
            return None


_CAPTURE_COLUMNS = (
    Capture.id, Capture.source_id, Capture.origin, Capture.started_at, Capture.status_code, Capture.final_url,
    Capture.body_sha256, Capture.text_sha256, Capture.wayback_url, Capture.wayback_timestamp,
)


@dataclass
class Check:
    """One quote check and the capture it was made on."""

    status: str
    score: float | None
    detail: str | None
    closest: str | None
    capture: CaptureRef


@dataclass
class DataPointRef:
    id: str
    entity: str
    country: str | None
    category: str | None
    place: str | None
    latitude: float | None
    longitude: float | None
    date: str | None
    description: str | None
    claim_id: str | None

    @property
    def label(self) -> str:
        return " · ".join(p for p in (self.entity, self.category, self.place, self.country, self.date) if p)


@dataclass
class CitationReport:
    """Everything a report says about one citation."""

    citation_id: int
    claim_id: str | None
    datapoint: DataPointRef | None
    url: str
    final_url: str | None
    title: str | None
    publisher: str | None
    lang: str | None
    accessed: str | None
    note: str | None
    quote: str | None
    quote_status: str | None
    quote_detail: str | None
    quote_score: float | None
    closest: str | None
    quote_checked_at: datetime | None
    quote_missing_since: datetime | None
    state: str
    state_since: datetime | None
    state_reason: str | None
    last_checked: datetime | None
    unreachable_since: datetime | None
    support: str
    best_capture: CaptureRef | None
    wayback: CaptureRef | None
    citation_line: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """How the citations of one claim back it up, counted by support level."""

    citations: int
    live: int
    archive: int
    none: int
    unchecked: int
    level: str
    summary: str


@dataclass
class EvidencePackage:
    """A WACZ file holding every capture of the claim's sources, handed over with the report."""

    path: str
    sha256: str
    size: int
    captures: int


@dataclass
class Report:
    """The citation report of one claim (or of a data point that no claim covers)."""

    kind: str
    id: str
    text: str
    tags: list[str]
    datapoint: DataPointRef | None
    verdict: Verdict
    citations: list[CitationReport]
    generated_at: datetime
    package: "EvidencePackage | None" = None

    @property
    def problems(self) -> int:
        return sum(len(c.problems) for c in self.citations)


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _capture_ref(row) -> CaptureRef:
    return CaptureRef(*row)


def _latest_checks(session: Session, citation_ids: list[int], *conditions) -> dict[int, Check]:
    """Per citation, the check on the most recent capture (by capture time) meeting the conditions."""
    found: dict[int, Check] = {}
    for chunk in _chunks(citation_ids):
        ranked = (
            select(
                QuoteCheck.id.label("check_id"),
                func.row_number().over(
                    partition_by=QuoteCheck.citation_id,
                    order_by=(Capture.started_at.desc(), Capture.id.desc(), QuoteCheck.id.desc()),
                ).label("rank"),
            )
            .join(Capture, Capture.id == QuoteCheck.capture_id)
            .where(QuoteCheck.citation_id.in_(chunk), *conditions)
            .subquery()
        )
        query = (
            select(QuoteCheck.citation_id, QuoteCheck.status, QuoteCheck.score, QuoteCheck.detail,
                   QuoteCheck.closest, *_CAPTURE_COLUMNS)
            .join(ranked, ranked.c.check_id == QuoteCheck.id)
            .join(Capture, Capture.id == QuoteCheck.capture_id)
            .where(ranked.c.rank == 1)
        )
        for row in session.execute(query):
            found[row[0]] = Check(row[1], row[2], row[3], row[4], _capture_ref(row[5:]))
    return found


def quote_status(session: Session, citation_id: int) -> str:
    """A citation's quote status now: its latest check on a live capture, else on any capture,
    else "unchecked"."""
    found = _latest_checks(session, [citation_id], Capture.origin == "live") or _latest_checks(session, [citation_id])
    return found[citation_id].status if citation_id in found else "unchecked"


def _missing_since(session: Session, citation_ids: list[int]) -> dict[int, datetime]:
    """When the quote went missing on the live page: the first live check after the last present one."""
    since: dict[int, datetime] = {}
    for chunk in _chunks(citation_ids):
        rows = session.execute(
            select(QuoteCheck.citation_id, QuoteCheck.status, Capture.started_at)
            .join(Capture, Capture.id == QuoteCheck.capture_id)
            .where(QuoteCheck.citation_id.in_(chunk), Capture.origin == "live")
            .order_by(QuoteCheck.citation_id, Capture.started_at, Capture.id)
        )
        for citation_id, status, started in rows:
            if status == "present":
                since.pop(citation_id, None)
            elif citation_id not in since:
                since[citation_id] = started
    return since


def _source_captures(session: Session, sources: list[Source]) -> tuple[dict[int, CaptureRef], dict[int, CaptureRef], dict[int, CaptureRef]]:
    """For citations without a quote: per source, its last good live capture, its latest archive
    capture with text, and its latest good capture that has a Wayback copy."""
    good_ids = [s.last_good_capture_id for s in sources if s.last_good_capture_id]
    last_good: dict[int, CaptureRef] = {}
    for chunk in _chunks(good_ids):
        for row in session.execute(select(*_CAPTURE_COLUMNS).where(Capture.id.in_(chunk))):
            last_good[row.source_id] = _capture_ref(row)

    def latest_per_source(*conditions) -> dict[int, CaptureRef]:
        found: dict[int, CaptureRef] = {}
        for chunk in _chunks(sorted({s.id for s in sources})):
            ranked = (
                select(Capture.id.label("capture_id"), func.row_number().over(
                    partition_by=Capture.source_id, order_by=(Capture.started_at.desc(), Capture.id.desc()),
                ).label("rank"))
                .where(Capture.source_id.in_(chunk), *conditions)
                .subquery()
            )
            query = select(*_CAPTURE_COLUMNS).join(ranked, ranked.c.capture_id == Capture.id).where(ranked.c.rank == 1)
            for row in session.execute(query):
                found[row.source_id] = _capture_ref(row)
        return found

    archive_ok = (Capture.origin.in_(ARCHIVE_ORIGINS), Capture.status_code.between(200, 299),
                  Capture.text_sha256.is_not(None))
    archived = latest_per_source(*archive_ok)
    with_wayback = latest_per_source(
        Capture.wayback_url.is_not(None),
        or_(Capture.verdict.in_(LIVE_GOOD), Capture.origin.in_(ARCHIVE_ORIGINS)),
    )
    return last_good, archived, with_wayback


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def citation_line(title: str | None, publisher: str | None, url: str, accessed: str | None,
                  best: CaptureRef | None, wayback: CaptureRef | None, checked: bool = True) -> str:
    """A ready-to-paste citation: 'Title, Publisher, URL (accessed ...; archived ... at ..., sha256 ...)'."""
    head = ", ".join(p for p in (title, publisher, url) if p)
    parts = []
    if accessed:
        parts.append(f"accessed {accessed}")
    proof = wayback or best
    if wayback is not None:
        when = wayback.wayback_date or wayback.captured_at
        archived = f"archived {_day(when)} at {wayback.wayback_url}"
    elif best is not None:
        archived = f"captured {_day(best.captured_at)}"
    elif checked:
        archived = "no archived copy with the quote"
    else:
        archived = "not archived yet"
    if proof is not None and proof.body_sha256:
        archived += f", sha256 {proof.body_sha256[:16]}…"
    parts.append(archived)
    return f"{head} ({'; '.join(parts)})"


def _support(source: Source, quote: str | None, latest_live: Check | None, best: CaptureRef | None) -> str:
    live_page = source.state in LIVE_GOOD
    if quote:
        if live_page and latest_live is not None and latest_live.status == "present":
            return "live"
        if best is not None:
            return "archive"
        if latest_live is None and source.state in ("pending", "unreachable"):
            return "unchecked"
        return "none"
    if live_page and source.last_good_capture_id:
        return "live"
    if best is not None:
        return "archive"
    if source.state in ("pending", "unreachable"):
        return "unchecked"
    return "none"


def _problems(source: Source, quote_status: str | None) -> list[str]:
    """What a reader of the report should look at, beyond the support level."""
    found = []
    if source.state in ("deleted", "altered", "unreachable"):
        found.append(f"source {source.state}")
    if quote_status == "missing":
        found.append("quote missing")
    return found


def at_risk(citation: "CitationReport") -> bool:
    """A citation is at risk when it backs its claim only through archives or not at all, its
    source is deleted or altered, or its quote is missing."""
    return (citation.support in ("archive", "none") or citation.state in RISKY_STATES
            or citation.quote_status == "missing")


def _datapoint_ref(point: DataPoint | None) -> DataPointRef | None:
    if point is None:
        return None
    return DataPointRef(point.id, point.entity, point.country, point.category, point.place, point.latitude,
                        point.longitude, point.date, point.description, point.claim_id)


def citation_reports(session: Session, rows: list[tuple[Citation, Source, DataPoint | None]]) -> list[CitationReport]:
    """The report facts for a batch of citations, with a fixed number of queries per batch."""
    quoted = [c.id for c, _, _ in rows if c.quote]
    latest_live = _latest_checks(session, quoted, Capture.origin == "live")
    best = _latest_checks(session, quoted, QuoteCheck.status == "present")
    wayback = _latest_checks(session, quoted, QuoteCheck.status == "present", Capture.wayback_url.is_not(None))
    missing = [cid for cid in quoted if cid in latest_live and latest_live[cid].status == "missing"]
    missing_since = _missing_since(session, missing) if missing else {}
    unquoted_sources = list({s.id: s for c, s, _ in rows if not c.quote}.values())
    last_good, archived, with_wayback = _source_captures(session, unquoted_sources) if unquoted_sources else ({}, {}, {})
    reports = []
    for citation, source, point in rows:
        live_check = latest_live.get(citation.id)
        if citation.quote:
            best_ref = best[citation.id].capture if citation.id in best else None
            wayback_ref = wayback[citation.id].capture if citation.id in wayback else None
            status = live_check.status if live_check else "unchecked"
        else:
            best_ref = last_good.get(source.id) or archived.get(source.id)
            wayback_ref = with_wayback.get(source.id)
            status = None
        support = _support(source, citation.quote, live_check, best_ref)
        reports.append(CitationReport(
            citation_id=citation.id,
            claim_id=citation.claim_id,
            datapoint=_datapoint_ref(point),
            url=source.url,
            final_url=source.final_url,
            title=source.title,
            publisher=source.publisher,
            lang=source.lang,
            accessed=citation.accessed,
            note=citation.note,
            quote=citation.quote,
            quote_status=status,
            quote_detail=live_check.detail if live_check and citation.quote else None,
            quote_score=live_check.score if live_check and citation.quote else None,
            closest=live_check.closest if live_check and status == "missing" else None,
            quote_checked_at=live_check.capture.captured_at if live_check and citation.quote else None,
            quote_missing_since=missing_since.get(citation.id),
            state=source.state,
            state_since=source.state_since,
            state_reason=source.state_reason,
            last_checked=source.last_checked_at,
            unreachable_since=source.unreachable_since,
            support=support,
            best_capture=best_ref,
            wayback=wayback_ref,
            citation_line=citation_line(source.title, source.publisher, source.url, citation.accessed,
                                        best_ref, wayback_ref, checked=support != "unchecked"),
            problems=_problems(source, status),
        ))
    return reports


def verdict_of(citations: list[CitationReport], subject: str = "claim") -> Verdict:
    """Count the citations by support level and say, in one sentence, how the subject stands."""
    counts = {level: sum(1 for c in citations if c.support == level) for level in SUPPORT_LEVELS}
    total = len(citations)
    if total == 0:
        return Verdict(0, 0, 0, 0, 0, "unsupported", f"No citation backs this {subject} yet.")
    level = "at risk" if any(at_risk(c) for c in citations) else ("unchecked" if counts["unchecked"] else "ok")
    noun = "citation" if total == 1 else "citations"
    parts = [
        f"{counts['live']} still {'supports' if counts['live'] == 1 else 'support'} it live",
        f"{counts['archive']} only through archives",
        f"{counts['none']} not at all",
    ]
    if counts["unchecked"]:
        parts.append(f"{counts['unchecked']} not checked yet")
    summary = f"Of {total} {noun}, " + ", ".join(parts[:-1]) + f" and {parts[-1]}."
    return Verdict(total, counts["live"], counts["archive"], counts["none"], counts["unchecked"], level, summary)


def _rows(session: Session, condition) -> list[tuple[Citation, Source, DataPoint | None]]:
    query = (
        select(Citation, Source, DataPoint)
        .join(Source, Source.id == Citation.source_id)
        .outerjoin(DataPoint, DataPoint.id == Citation.datapoint_id)
        .where(condition)
        .order_by(Citation.id)
    )
    return [tuple(row) for row in session.execute(query)]


def _claim_condition(claim_ids: list[str]):
    """Citations made for the claims, and citations made only for a data point of theirs."""
    linked_points = select(DataPoint.id).where(DataPoint.claim_id.in_(claim_ids))
    return or_(Citation.claim_id.in_(claim_ids),
               and_(Citation.claim_id.is_(None), Citation.datapoint_id.in_(linked_points)))


def _for_claim(citation: Citation, point: DataPoint | None) -> str | None:
    return citation.claim_id or (point.claim_id if point is not None else None)


def claim_source_ids(session: Session, subject_id: str) -> set[int]:
    """The sources a claim (or a data point) cites: what a WARC/WACZ of its evidence holds."""
    if session.get(Claim, subject_id) is not None:
        condition = _claim_condition([subject_id])
    elif session.get(DataPoint, subject_id) is not None:
        condition = Citation.datapoint_id == subject_id
    else:
        raise EvidenceError(f"unknown claim id {subject_id!r} (see `archiver claim list`)")
    return set(session.scalars(select(Citation.source_id).where(condition)))


def claim_report(session: Session, subject_id: str) -> Report:
    """The citation report of a claim (its citations, and those made only for one of its data
    points), or of a data point when the id names one."""
    claim = session.get(Claim, subject_id)
    now = utcnow()
    if claim is not None:
        rows = _rows(session, _claim_condition([claim.id]))
        citations = citation_reports(session, rows)
        return Report("claim", claim.id, claim.text, list(claim.tags or []), None, verdict_of(citations), citations, now)
    point = session.get(DataPoint, subject_id)
    if point is None:
        raise EvidenceError(f"unknown claim id {subject_id!r} (see `archiver claim list`)")
    citations = citation_reports(session, _rows(session, Citation.datapoint_id == point.id))
    ref = _datapoint_ref(point)
    return Report("datapoint", point.id, point.description or ref.label, [], ref,
                  verdict_of(citations, "data point"), citations, now)


def risk_key(report: Report) -> tuple:
    """Sort key: at-risk reports first (most unsupported, then archive-only, then other problems)."""
    order = {"at risk": 0, "unsupported": 1, "unchecked": 2, "ok": 3}
    v = report.verdict
    return (order.get(v.level, 4), -v.none, -v.archive, -report.problems, -v.unchecked, report.id)


def all_reports(session: Session) -> list[Report]:
    """Reports for every claim, and for every cited data point no claim covers, at-risk ones first."""
    now = utcnow()
    claims = list(session.scalars(select(Claim).order_by(Claim.id)))
    rows = _rows(session, or_(Citation.claim_id.is_not(None), Citation.datapoint_id.is_not(None)))
    facts = {c.citation_id: c for c in citation_reports(session, rows)}
    by_claim: dict[str, list[CitationReport]] = {}
    by_point: dict[str, tuple[DataPoint, list[CitationReport]]] = {}
    for citation, _source, point in rows:
        owner = _for_claim(citation, point)
        if owner is not None:
            by_claim.setdefault(owner, []).append(facts[citation.id])
        elif point is not None:
            by_point.setdefault(point.id, (point, []))[1].append(facts[citation.id])
    reports = []
    for claim in claims:
        citations = by_claim.get(claim.id, [])
        reports.append(Report("claim", claim.id, claim.text, list(claim.tags or []), None, verdict_of(citations),
                              citations, now))
    for point, citations in by_point.values():
        ref = _datapoint_ref(point)
        reports.append(Report("datapoint", point.id, point.description or ref.label, [], ref,
                              verdict_of(citations, "data point"), citations, now))
    reports.sort(key=risk_key)
    return reports
