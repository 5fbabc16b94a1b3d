"""Citation reports: can a claim still be backed up, and with what?

`claim_report(db, id)` and `all_reports(db)` gather the facts into plain dataclasses;
`evidence.render` turns them into JSON, Markdown or HTML. The facts per citation: the source
(title, publisher, language, URL), its state and since when, the quote and whether it is
still on the live page (with the closest passage when it is not), the capture that best
supports the claim (the latest one where the quote is present, live or recovered from an
archive) with its date and SHA-256, a Wayback Machine copy when there is one (from the sealed
"wayback" events of the hash chain), and a ready-to-paste citation line. Each report carries
the archive's hash-chain head when it was made, so the archive can later be checked against it.

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
the latest matching check per citation, and no stored text is read. They are plain SQL on an
archiver.readdb.Reader (`archiver report` imports no SQLAlchemy: its import alone took longer
than the whole report); code holding an SQLAlchemy session passes `Reader.of_session(session)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archiver import dates
from archiver.anchors import Head, read_head
from archiver.events import HAS_WAYBACK_COPY, screenshot_keys, wayback_copies
from archiver.readdb import Reader, chunks, in_list, utc
from archiver.vantages import capture_vantage
from evidence import ARCHIVE_ORIGINS, LIVE_GOOD, PRESENT_STATUSES, EvidenceError

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
    screenshots: list[str] = field(default_factory=list)  # SHA-256 of each screenshot (archiver.screenshots)
    provenance: dict | None = None  # how it was collected (archiver.provenance), for the best capture
    vantage: str | None = None  # the vantage point a live capture was made from (archiver.vantages)

    @property
    def wayback_date(self) -> datetime | None:
        """When the Wayback Machine made its copy (from its 14-digit timestamp), or None."""
        stamp = (self.wayback_timestamp or "").strip()
        if not stamp.isdigit() or len(stamp) < 8:
            return None
        try:
            return datetime.strptime(stamp.ljust(14, "0")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None


_CAPTURE_COLUMNS = (
    "captures.id, captures.source_id, captures.origin, captures.started_at, captures.status_code, captures.final_url,"
    " captures.body_sha256, captures.text_sha256, captures.wayback_url, captures.wayback_timestamp, captures.config"
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
    # For a blocked source: what the Wayback Machine could see of a page that answers only from
    # some vantage points (Save Page Now fetches it from its own servers).
    wayback_note: str | None = None


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
    package: EvidencePackage | None = None
    chain_head: Head | None = None
    # The data points linked to a claim (a claim's report lists them); for a data point's
    # report, the claim it is linked to, whose citations back it too.
    datapoints: list[DataPointRef] = field(default_factory=list)
    claim_id: str | None = None

    @property
    def problems(self) -> int:
        return sum(len(c.problems) for c in self.citations)


@dataclass
class _Source:
    """The facts of a cited source that a report shows or decides on."""

    id: int
    url: str
    final_url: str | None
    title: str | None
    publisher: str | None
    lang: str | None
    state: str
    state_since: datetime | None
    state_reason: str | None
    last_checked_at: datetime | None
    unreachable_since: datetime | None
    last_good_capture_id: int | None


@dataclass
class _Cited:
    """One citation with its source and, when it was made for one, its data point."""

    id: int
    claim_id: str | None
    datapoint_id: str | None
    quote: str | None
    accessed: str | None
    note: str | None
    source: _Source
    point: DataPointRef | None


# A condition of a query: SQL with ? placeholders, and their values.
Condition = tuple[str, list]
LIVE: Condition = ("captures.origin = ?", ["live"])
PRESENT: Condition = ("quote_checks.status IN (?, ?)", list(PRESENT_STATUSES))
ON_WAYBACK: Condition = (HAS_WAYBACK_COPY, [])


def _and(conditions: tuple[Condition, ...]) -> Condition:
    """The conditions joined by AND, as a suffix to a WHERE clause (" AND a AND b")."""
    return "".join(f" AND {sql}" for sql, _ in conditions), [value for _, values in conditions for value in values]


def _capture_ref(row) -> CaptureRef:
    settings = row[10]
    if isinstance(settings, (str, bytes)):
        try:
            settings = json.loads(settings)
        except ValueError:
            settings = None
    status, final_url, body_sha256, text_sha256, wayback_url, wayback_timestamp = row[4:10]
    return CaptureRef(row[0], row[1], row[2], utc(row[3]), status, final_url, body_sha256, text_sha256,
                      wayback_url, wayback_timestamp, vantage=capture_vantage(settings))


def _latest_checks(db: Reader, citation_ids: list[int], *conditions: Condition) -> dict[int, Check]:
    """Per citation, the check on the most recent capture (by capture time) meeting the conditions."""
    found: dict[int, Check] = {}
    extra, values = _and(conditions)
    for chunk in chunks(citation_ids):
        rows = db.rows(
            "SELECT quote_checks.citation_id, quote_checks.status, quote_checks.score, quote_checks.detail,"
            f" quote_checks.closest, {_CAPTURE_COLUMNS} FROM quote_checks"
            " JOIN (SELECT quote_checks.id AS check_id, row_number() OVER (PARTITION BY quote_checks.citation_id"
            " ORDER BY captures.started_at DESC, captures.id DESC, quote_checks.id DESC) AS rank"
            " FROM quote_checks JOIN captures ON captures.id = quote_checks.capture_id"
            f" WHERE quote_checks.citation_id IN {in_list(chunk)}{extra}) AS ranked ON ranked.check_id = quote_checks.id"
            " JOIN captures ON captures.id = quote_checks.capture_id WHERE ranked.rank = 1",
            [*chunk, *values],
        )
        for row in rows:
            found[row[0]] = Check(row[1], row[2], row[3], row[4], _capture_ref(row[5:]))
    return found


def quote_status(db: Reader, citation_id: int) -> str:
    """A citation's quote status now: its latest check on a live capture, else on any capture,
    else "unchecked"."""
    found = _latest_checks(db, [citation_id], LIVE) or _latest_checks(db, [citation_id])
    return found[citation_id].status if citation_id in found else "unchecked"


def _missing_since(db: Reader, citation_ids: list[int]) -> dict[int, datetime]:
    """When the quote went missing on the live page: the first live check after the last present one."""
    since: dict[int, datetime] = {}
    for chunk in chunks(citation_ids):
        rows = db.rows(
            "SELECT quote_checks.citation_id, quote_checks.status, captures.started_at FROM quote_checks"
            " JOIN captures ON captures.id = quote_checks.capture_id"
            f" WHERE quote_checks.citation_id IN {in_list(chunk)} AND captures.origin = ?"
            " ORDER BY quote_checks.citation_id, captures.started_at, captures.id",
            [*chunk, "live"],
        )
        for citation_id, status, started in rows:
            if status in PRESENT_STATUSES:
                since.pop(citation_id, None)
            elif citation_id not in since:
                since[citation_id] = utc(started)
    return since


def _latest_per_source(db: Reader, source_ids: list[int], *conditions: Condition) -> dict[int, CaptureRef]:
    """Per source, its most recent capture (by capture time) meeting the conditions."""
    found: dict[int, CaptureRef] = {}
    extra, values = _and(conditions)
    for chunk in chunks(source_ids):
        rows = db.rows(
            f"SELECT {_CAPTURE_COLUMNS} FROM captures"
            " JOIN (SELECT captures.id AS capture_id, row_number() OVER (PARTITION BY captures.source_id"
            " ORDER BY captures.started_at DESC, captures.id DESC) AS rank FROM captures"
            f" WHERE captures.source_id IN {in_list(chunk)}{extra}) AS ranked ON ranked.capture_id = captures.id"
            " WHERE ranked.rank = 1",
            [*chunk, *values],
        )
        for row in rows:
            found[row[1]] = _capture_ref(row)
    return found


def _source_captures(
    db: Reader, sources: list[_Source]
) -> tuple[dict[int, CaptureRef], dict[int, CaptureRef], dict[int, CaptureRef]]:
    """For citations without a quote: per source, its last good live capture, its latest archive
    capture with text, and its latest good capture that has a Wayback copy."""
    good_ids = [s.last_good_capture_id for s in sources if s.last_good_capture_id]
    last_good: dict[int, CaptureRef] = {}
    for chunk in chunks(good_ids):
        for row in db.rows(f"SELECT {_CAPTURE_COLUMNS} FROM captures WHERE captures.id IN {in_list(chunk)}", chunk):
            last_good[row[1]] = _capture_ref(row)
    source_ids = sorted({s.id for s in sources})
    archive_ok: tuple[Condition, ...] = ((f"captures.origin IN {in_list(ARCHIVE_ORIGINS)}", list(ARCHIVE_ORIGINS)),
                  ("captures.status_code BETWEEN ? AND ?", [200, 299]),
                  ("captures.text_sha256 IS NOT NULL", []))
    archived = _latest_per_source(db, source_ids, *archive_ok)
    good_or_archive = (f"(captures.verdict IN {in_list(LIVE_GOOD)} OR captures.origin IN {in_list(ARCHIVE_ORIGINS)})",
                       [*LIVE_GOOD, *ARCHIVE_ORIGINS])
    with_wayback = _latest_per_source(db, source_ids, ON_WAYBACK, good_or_archive)
    return last_good, archived, with_wayback


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
        archived = f"archived {dates.day(when)} at {wayback.wayback_url}"
    elif best is not None:
        archived = f"captured {dates.day(best.captured_at)}"
    elif checked:
        archived = "no archived copy with the quote"
    else:
        archived = "not archived yet"
    if proof is not None and proof.body_sha256:
        archived += f", sha256 {proof.body_sha256[:16]}…"
    parts.append(archived)
    return f"{head} ({'; '.join(parts)})"


def _support(source: _Source, quote: str | None, latest_live: Check | None, best: CaptureRef | None) -> str:
    live_page = source.state in (*LIVE_GOOD, "blocked")
    if quote:
        if live_page and latest_live is not None and latest_live.status in PRESENT_STATUSES:
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


def _problems(source: _Source, quote_status: str | None) -> list[str]:
    """What a reader of the report should look at, beyond the support level."""
    found = []
    if source.state in ("deleted", "altered", "unreachable", "blocked"):
        found.append(f"source {source.state}")
    if quote_status == "missing":
        found.append("quote missing")
    return found


def at_risk(citation: CitationReport) -> bool:
    """A citation is at risk when it backs its claim only through archives or not at all, its
    source is deleted or altered, or its quote is missing."""
    return (citation.support in ("archive", "none") or citation.state in RISKY_STATES
            or citation.quote_status == "missing")


def _attach_wayback_copies(db: Reader, checks: list[Check], refs: list[CaptureRef]) -> None:
    """Give each capture its Wayback copy from the sealed "wayback" events about it (a copy
    recovered from the Wayback Machine carries its own, sealed on the capture)."""
    refs = [*refs, *(check.capture for check in checks)]
    copies = wayback_copies(db, [ref.id for ref in refs if ref.wayback_url is None])
    for ref in refs:
        if ref.wayback_url is None and ref.id in copies:
            ref.wayback_url, ref.wayback_timestamp = copies[ref.id]


def _attach_collection(db: Reader, refs: list[CaptureRef]) -> None:
    """Give the captures a report may show as best their screenshots and provenance records."""
    ids = sorted({ref.id for ref in refs})
    if not ids:
        return
    shots = screenshot_keys(db, ids)
    records = {}
    for chunk in chunks(ids):
        for capture_id, record in db.rows(f"SELECT id, provenance FROM captures WHERE id IN {in_list(chunk)}"
                                          " AND provenance IS NOT NULL", chunk):
            records[capture_id] = db.json(record)
    for ref in refs:
        ref.screenshots = shots.get(ref.id, [])
        ref.provenance = records.get(ref.id)


def citation_reports(db: Reader, rows: list[_Cited]) -> list[CitationReport]:
    """The report facts for a batch of citations, with a fixed number of queries per batch."""
    quoted = [c.id for c in rows if c.quote]
    latest_live = _latest_checks(db, quoted, LIVE)
    best = _latest_checks(db, quoted, PRESENT)
    wayback = _latest_checks(db, quoted, PRESENT, ON_WAYBACK)
    missing = [cid for cid in quoted if cid in latest_live and latest_live[cid].status == "missing"]
    missing_since = _missing_since(db, missing) if missing else {}
    unquoted_sources = list({c.source.id: c.source for c in rows if not c.quote}.values())
    last_good, archived, with_wayback = _source_captures(db, unquoted_sources) if unquoted_sources else ({}, {}, {})
    _attach_wayback_copies(db, [*latest_live.values(), *best.values(), *wayback.values()],
                           [*last_good.values(), *archived.values(), *with_wayback.values()])
    _attach_collection(db, [*[c.capture for c in best.values()], *last_good.values(), *archived.values()])
    notes = wayback_notes(db, [c.source.id for c in rows if c.source.state == "blocked"])
    reports = []
    for citation in rows:
        source = citation.source
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
            datapoint=citation.point,
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
            wayback_note=notes.get(source.id),
        ))
    return reports


def wayback_notes(db: Reader, blocked_ids: list[int]) -> dict[int, str]:
    """For each blocked source, what Save Page Now made of it: it fetches pages from its own
    servers, outside the vantage point that got the page, and may be refused as well. Says so
    when its last submission failed (with the error), or when it has no copy of the page."""
    notes: dict[int, str] = {}
    for chunk in chunks(sorted(set(blocked_ids))):
        latest: dict[int, tuple] = {}
        for source_id, status, error, stamp in db.rows(
                "SELECT source_id, status, last_error, wayback_timestamp FROM wayback_jobs"
                f" WHERE source_id IN {in_list(chunk)} AND status IN ('done', 'failed') ORDER BY id", chunk):
            latest[source_id] = (status, error, stamp)
        for source_id in chunk:
            status, error, _stamp = latest.get(source_id, (None, None, None))
            if status == "failed":
                notes[source_id] = ("Save Page Now could not see the page: it fetches it from outside the vantage "
                                    f"point that got it, and failed ({error or 'no reason given'})")
            elif status is None:
                notes[source_id] = ("the page answers only from some vantage points; Save Page Now, which fetches "
                                    "it from its own servers, has made no copy of it yet")
    return notes


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


_CITED_COLUMNS = (
    "citations.id, citations.claim_id, citations.datapoint_id, citations.quote, citations.accessed, citations.note,"
    " sources.id, sources.url, sources.final_url, sources.title, sources.publisher, sources.lang, sources.state,"
    " sources.state_since, sources.state_reason, sources.last_checked_at, sources.unreachable_since,"
    " sources.last_good_capture_id"
)
_DATAPOINT_COLUMNS = (
    "datapoints.id, datapoints.entity, datapoints.country, datapoints.category, datapoints.place, datapoints.latitude,"
    " datapoints.longitude, datapoints.date, datapoints.description, datapoints.claim_id"
)


def _datapoint_ref(row) -> DataPointRef | None:
    return DataPointRef(*row) if row[0] is not None else None


def _rows(db: Reader, condition: Condition) -> list[_Cited]:
    """The citations meeting the condition, with their sources and data points, in the order made."""
    where, values = condition
    rows = db.rows(
        f"SELECT {_CITED_COLUMNS}, {_DATAPOINT_COLUMNS} FROM citations JOIN sources ON sources.id = citations.source_id"
        f" LEFT OUTER JOIN datapoints ON datapoints.id = citations.datapoint_id WHERE {where} ORDER BY citations.id",
        values,
    )
    return [_Cited(r[0], r[1], r[2], r[3], r[4], r[5],
                   _Source(r[6], r[7], r[8], r[9], r[10], r[11], r[12], utc(r[13]), r[14], utc(r[15]),
                           utc(r[16]), r[17]),
                   _datapoint_ref(r[18:28]))
            for r in rows]


def _claim_condition(claim_ids: list[str]) -> Condition:
    """Citations made for the claims, and citations made only for a data point of theirs."""
    ids = in_list(claim_ids)
    return (f"citations.claim_id IN {ids} OR citations.claim_id IS NULL AND citations.datapoint_id IN"
            f" (SELECT datapoints.id FROM datapoints WHERE datapoints.claim_id IN {ids})", [*claim_ids, *claim_ids])


def _for_claim(citation: _Cited) -> str | None:
    return citation.claim_id or (citation.point.claim_id if citation.point is not None else None)


def _claim(db: Reader, claim_id: str) -> tuple[str, str, list[str]] | None:
    """A claim's id, text and tags, or None."""
    found = db.rows("SELECT claims.id, claims.text, claims.tags FROM claims WHERE claims.id = ?", [claim_id])
    return (found[0][0], found[0][1], list(db.json(found[0][2]) or [])) if found else None


def _datapoint(db: Reader, datapoint_id: str) -> DataPointRef | None:
    found = db.rows(f"SELECT {_DATAPOINT_COLUMNS} FROM datapoints WHERE datapoints.id = ?", [datapoint_id])
    return _datapoint_ref(found[0]) if found else None


def claim_source_ids(db: Reader, subject_id: str) -> set[int]:
    """The sources a claim (or a data point) cites: what a WARC/WACZ of its evidence holds."""
    if _claim(db, subject_id) is not None:
        condition = _claim_condition([subject_id])
    elif _datapoint(db, subject_id) is not None:
        condition = ("citations.datapoint_id = ?", [subject_id])
    else:
        raise EvidenceError(f"unknown claim id {subject_id!r} (see `archiver claim list`)")
    return {row[0] for row in db.rows(f"SELECT citations.source_id FROM citations WHERE {condition[0]}", condition[1])}


def claim_report(db: Reader, subject_id: str) -> Report:
    """The citation report of a claim (its citations, and those made only for one of its data
    points), or of a data point when the id names one."""
    claim = _claim(db, subject_id)
    now = datetime.now(UTC)
    if claim is not None:
        claim_id, text, tags = claim
        citations = citation_reports(db, _rows(db, _claim_condition([claim_id])))
        return Report("claim", claim_id, text, tags, None, verdict_of(citations), citations, now,
                      chain_head=read_head(db), datapoints=claim_datapoints(db, [claim_id]).get(claim_id, []))
    point = _datapoint(db, subject_id)
    if point is None:
        raise EvidenceError(f"unknown claim id {subject_id!r} (see `archiver claim list`)")
    citations = citation_reports(db, _rows(db, _datapoint_condition(point)))
    return Report("datapoint", point.id, point.description or point.label, [], point,
                  verdict_of(citations, "data point"), citations, now, chain_head=read_head(db),
                  claim_id=point.claim_id)


def _datapoint_condition(point: DataPointRef) -> Condition:
    """Citations made for the data point, and those of the claim it is linked to: the
    sources that back the claim back its data points."""
    if point.claim_id is None:
        return ("citations.datapoint_id = ?", [point.id])
    return ("citations.datapoint_id = ? OR citations.claim_id = ?", [point.id, point.claim_id])


def claim_datapoints(db: Reader, claim_ids: list[str]) -> dict[str, list[DataPointRef]]:
    """The data points linked to each claim, by id."""
    found: dict[str, list[DataPointRef]] = {}
    for chunk in chunks(claim_ids):
        rows = db.rows(f"SELECT {_DATAPOINT_COLUMNS} FROM datapoints WHERE datapoints.claim_id IN {in_list(chunk)}"
                       " ORDER BY datapoints.id", chunk)
        for row in rows:
            point = _datapoint_ref(row)
            if point is not None and point.claim_id is not None:
                found.setdefault(point.claim_id, []).append(point)
    return found


def risk_key(report: Report) -> tuple:
    """Sort key: at-risk reports first (most unsupported, then archive-only, then other problems)."""
    order = {"at risk": 0, "unsupported": 1, "unchecked": 2, "ok": 3}
    v = report.verdict
    return (order.get(v.level, 4), -v.none, -v.archive, -report.problems, -v.unchecked, report.id)


def all_reports(db: Reader) -> list[Report]:
    """Reports for every claim, and for every cited data point no claim covers, at-risk ones first."""
    now = datetime.now(UTC)
    claims = db.rows("SELECT claims.id, claims.text, claims.tags FROM claims ORDER BY claims.id")
    rows = _rows(db, ("citations.claim_id IS NOT NULL OR citations.datapoint_id IS NOT NULL", []))
    facts = {c.citation_id: c for c in citation_reports(db, rows)}
    by_claim: dict[str, list[CitationReport]] = {}
    by_point: dict[str, tuple[DataPointRef, list[CitationReport]]] = {}
    for citation in rows:
        owner = _for_claim(citation)
        if owner is not None:
            by_claim.setdefault(owner, []).append(facts[citation.id])
        elif citation.point is not None:
            by_point.setdefault(citation.point.id, (citation.point, []))[1].append(facts[citation.id])
    reports = []
    head = read_head(db)
    points = claim_datapoints(db, [row[0] for row in claims])
    for claim_id, text, tags in claims:
        citations = by_claim.get(claim_id, [])
        reports.append(Report("claim", claim_id, text, list(db.json(tags) or []), None, verdict_of(citations),
                              citations, now, chain_head=head, datapoints=points.get(claim_id, [])))
    for point, citations in by_point.values():
        reports.append(Report("datapoint", point.id, point.description or point.label, [], point,
                              verdict_of(citations, "data point"), citations, now, chain_head=head))
    reports.sort(key=risk_key)
    return reports


@dataclass
class ClaimAtRisk:
    """A claim some of whose cited sources are in trouble, counted by kind of trouble."""

    id: str
    text: str
    citations: int
    deleted: int
    altered: int
    other: int
    quote_missing: int


_AT_RISK = """SELECT cl.id, cl.text, count(*),
 sum(CASE WHEN s.state = 'deleted' THEN 1 ELSE 0 END), sum(CASE WHEN s.state = 'altered' THEN 1 ELSE 0 END),
 sum(CASE WHEN s.state IN ('moved', 'unreachable') THEN 1 ELSE 0 END),
 sum(CASE WHEN q.status = 'missing' THEN 1 ELSE 0 END)
 FROM citations ci JOIN claims cl ON cl.id = ci.claim_id JOIN sources s ON s.id = ci.source_id
 LEFT JOIN quote_checks q ON ci.quote IS NOT NULL AND q.citation_id = ci.id AND q.capture_id = s.last_good_capture_id
 WHERE s.state IN ('deleted', 'altered', 'moved', 'unreachable') OR q.status = 'missing'
 GROUP BY cl.id, cl.text"""


def claims_at_risk(db: Reader) -> list[ClaimAtRisk]:
    """The claims with a cited source deleted, altered, moved or unreachable, or a quote missing
    from its source's latest good capture; most deleted sources first, then most missing quotes.

    One grouped query, for overviews of every claim (the web dashboard): all_reports builds
    each claim's full report and takes minutes on 2,000 claims; open one claim's report for the
    details."""
    found = [ClaimAtRisk(*row) for row in db.rows(_AT_RISK)]
    found.sort(key=lambda c: (-c.deleted, -c.quote_missing, -(c.altered + c.other), c.id))
    return found
