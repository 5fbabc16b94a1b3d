"""Claims, data points and citations: create, edit, validate.

A claim is a statement in a report with a stable id the researcher chooses (or one made from
its text). A data point is a structured fact for a map (entity, country, category, place,
coordinates, date), optionally linked to a claim. A citation links a claim or a data point to
a tracked source, usually with the passage quoted from it. Every check here raises
EvidenceError with a sentence a researcher can act on; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archiver.models import Source, utcnow
from archiver.sources import add_source
from archiver.urls import InvalidURL, normalise_url
from evidence import EvidenceError
from evidence.checks import backfill_checks
from evidence.models import Citation, Claim, DataPoint, QuoteCheck

ID_PATTERN = re.compile(r"^[^\W_][\w.\-]*$")
ID_MAX = 128
SLUG_MAX = 60
DATE_FORMATS = ("YYYY-MM-DD", "YYYY-MM", "YYYY")


def clean(value: str | None) -> str | None:
    """Text with surrounding whitespace removed; None for empty text."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def check_id(value: str, what: str = "id") -> str:
    """A valid claim or data point id: letters, digits, '-', '_', '.', no spaces, at most 128 characters."""
    value = (value or "").strip()
    if not value:
        raise EvidenceError(f"empty {what}")
    if len(value) > ID_MAX:
        raise EvidenceError(f"{what} {value!r} is longer than {ID_MAX} characters")
    if not ID_PATTERN.match(value):
        raise EvidenceError(
            f"{what} {value!r} may only hold letters, digits, '-', '_' and '.', and must start with a letter or digit"
        )
    return value


def slugify(text: str, prefix: str = "", max_length: int = SLUG_MAX) -> str:
    """A readable id made from text: lower-case Latin words joined by '-'.

    Text with fewer than two Latin words (Chinese text, for example) gets a short hash of the
    text added, so two different Chinese claims never share an id.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    if len(words) < 2:
        digest = hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else digest
    return f"{prefix}{slug}" if prefix else slug


def check_date(value: str | None, what: str = "date") -> str | None:
    """A date as YYYY-MM-DD, YYYY-MM or YYYY (a real calendar date), or None when empty."""
    value = clean(value)
    if value is None:
        return None
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if match:
        year, month, day = (int(g) if g else None for g in match.groups())
        try:
            date(year or 0, month or 1, day or 1)
            return value
        except ValueError:
            pass
    raise EvidenceError(f"bad {what} {value!r}: use {', '.join(DATE_FORMATS)}")


def check_coordinates(latitude, longitude) -> tuple[float | None, float | None]:
    """Latitude in [-90, 90] and longitude in [-180, 180], both given or neither."""
    values: list[float | None] = []
    for name, raw, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values.append(None)
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise EvidenceError(f"{name} {raw!r} is not a number") from None
        if number != number or not -limit <= number <= limit:
            raise EvidenceError(f"{name} {raw} is out of range (-{limit} to {limit})")
        values.append(number)
    if (values[0] is None) != (values[1] is None):
        raise EvidenceError("give both latitude and longitude, or neither")
    return values[0], values[1]


def check_url(url: str) -> str:
    """The normalised form of an http(s) URL, or EvidenceError saying what is wrong with it."""
    try:
        return normalise_url(url)
    except InvalidURL as exc:
        raise EvidenceError(f"bad URL: {exc}") from None


def parse_tags(values) -> list[str]:
    """Tags from a list and/or ';'-separated text, stripped, in order, without repeats."""
    if isinstance(values, str):
        values = [values]
    tags: list[str] = []
    for value in values or []:
        for tag in str(value).split(";"):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def get_claim(session: Session, claim_id: str) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise EvidenceError(f"unknown claim id {claim_id!r} (see `archiver claim list`)")
    return claim


def get_datapoint(session: Session, datapoint_id: str) -> DataPoint:
    point = session.get(DataPoint, datapoint_id)
    if point is None:
        raise EvidenceError(f"unknown data point id {datapoint_id!r} (see `archiver datapoint list`)")
    return point


def _free_id(session: Session, model, base: str) -> str:
    candidate, n = base, 1
    while session.get(model, candidate) is not None:
        n += 1
        candidate = f"{base[: ID_MAX - len(str(n)) - 1]}-{n}"
    return candidate


def add_claim(session: Session, text: str, *, claim_id: str | None = None, tags=()) -> tuple[Claim, bool]:
    """Create a claim; returns (claim, created).

    Adding the same text under the same id again is a no-op. Without an id, one is made from the
    text; an existing claim with that exact text is returned rather than duplicated.
    """
    cleaned = clean(text)
    if cleaned is None:
        raise EvidenceError("a claim needs its text")
    text = cleaned
    tags = parse_tags(tags)
    if claim_id:
        claim_id = check_id(claim_id, "claim id")
        existing = session.get(Claim, claim_id)
        if existing is not None:
            if existing.text != text:
                raise EvidenceError(
                    f"claim {claim_id!r} already exists with different text; change it with `archiver claim edit`"
                )
            return existing, False
    else:
        existing = session.scalars(select(Claim).where(Claim.text == text)).first()
        if existing is not None:
            return existing, False
        claim_id = _free_id(session, Claim, slugify(text))
    now = utcnow()
    claim = Claim(id=claim_id, text=text, tags=tags, created_at=now, updated_at=now)
    session.add(claim)
    session.flush()
    return claim, True


def edit_claim(session: Session, claim_id: str, *, text: str | None = None, tags=None) -> Claim:
    """Change a claim's text and/or replace its tags (an empty list clears them)."""
    claim = get_claim(session, claim_id)
    if text is not None:
        text = clean(text)
        if text is None:
            raise EvidenceError("a claim's text cannot be empty")
        claim.text = text
    if tags is not None:
        claim.tags = parse_tags(tags)
    claim.updated_at = utcnow()
    return claim


@dataclass
class DataPointInput:
    """The fields of a data point as given by a user or a CSV row, before validation."""

    entity: str | None
    country: str | None = None
    category: str | None = None
    place: str | None = None
    latitude: str | float | None = None
    longitude: str | float | None = None
    date: str | None = None
    description: str | None = None
    claim_id: str | None = None

    def validated(self) -> dict:
        """The values to store, or EvidenceError."""
        entity = clean(self.entity)
        if entity is None:
            raise EvidenceError("a data point needs an entity (the company or organisation)")
        latitude, longitude = check_coordinates(self.latitude, self.longitude)
        return {
            "entity": entity,
            "country": clean(self.country),
            "category": clean(self.category),
            "place": clean(self.place),
            "latitude": latitude,
            "longitude": longitude,
            "date": check_date(self.date),
            "description": clean(self.description),
            "claim_id": clean(self.claim_id),
        }


def datapoint_slug(values: dict) -> str:
    """A readable data point id from its entity, country and place."""
    parts = " ".join(v for v in (values["entity"], values.get("country"), values.get("place")) if v)
    return slugify(parts, prefix="dp-")


def add_datapoint(session: Session, fields: DataPointInput, *, datapoint_id: str | None = None) -> tuple[DataPoint, bool]:
    """Create a data point; returns (point, created). The same fields under the same id again is a no-op."""
    values = fields.validated()
    if values["claim_id"]:
        get_claim(session, values["claim_id"])
    if datapoint_id:
        datapoint_id = check_id(datapoint_id, "data point id")
        existing = session.get(DataPoint, datapoint_id)
        if existing is not None:
            if any(getattr(existing, k) != v for k, v in values.items()):
                raise EvidenceError(f"data point {datapoint_id!r} already exists with different fields")
            return existing, False
    else:
        datapoint_id = _free_id(session, DataPoint, datapoint_slug(values))
    now = utcnow()
    point = DataPoint(id=datapoint_id, created_at=now, updated_at=now, **values)
    session.add(point)
    session.flush()
    return point, True


@dataclass
class Target:
    """What a citation supports: a claim or a data point."""

    claim_id: str | None = None
    datapoint_id: str | None = None

    @property
    def label(self) -> str:
        return f"claim {self.claim_id}" if self.claim_id else f"data point {self.datapoint_id}"


def resolve_target(session: Session, name: str) -> Target:
    """A claim or data point by id; 'claim:ID' or 'datapoint:ID' settles an id used by both."""
    name = (name or "").strip()
    kind, _, rest = name.partition(":")
    if rest and kind in ("claim", "datapoint", "dp"):
        if kind == "claim":
            return Target(claim_id=get_claim(session, rest).id)
        return Target(datapoint_id=get_datapoint(session, rest).id)
    claim = session.get(Claim, name)
    point = session.get(DataPoint, name)
    if claim is not None and point is not None:
        raise EvidenceError(f"{name!r} is both a claim and a data point: write claim:{name} or datapoint:{name}")
    if claim is not None:
        return Target(claim_id=claim.id)
    if point is not None:
        return Target(datapoint_id=point.id)
    raise EvidenceError(f"unknown claim or data point id {name!r} (see `archiver claim list`, `archiver datapoint list`)")


def find_citation(session: Session, target: Target, source_id: int, quote: str | None) -> Citation | None:
    """The citation of source_id by target with this exact quote, if there is one."""
    query = select(Citation).where(Citation.source_id == source_id)
    for column, value in ((Citation.claim_id, target.claim_id), (Citation.datapoint_id, target.datapoint_id),
                          (Citation.quote, quote)):
        query = query.where(column.is_(None) if value is None else column == value)
    return session.scalars(query.order_by(Citation.id)).first()


@dataclass
class CiteResult:
    """What `cite` did: the citation, whether it or its source is new, and what was updated."""

    citation: Citation
    source: Source
    created: bool
    source_created: bool
    updated: list[str]
    checks: int


def cite(
    session: Session,
    target: Target,
    url: str,
    *,
    quote: str | None = None,
    accessed: str | None = None,
    note: str | None = None,
    lang: str | None = None,
    title: str | None = None,
    publisher: str | None = None,
) -> CiteResult:
    """Cite url for target: track the URL if needed, record the citation once, and check its
    quote at once against the captures the source already has."""
    check_url(url)
    accessed = check_date(accessed, "accessed date")
    quote, note = clean(quote), clean(note)
    source, source_created = add_source(session, url, lang=clean(lang), title=clean(title), publisher=clean(publisher))
    existing = find_citation(session, target, source.id, quote)
    updated = []
    created = existing is None
    if existing is None:
        citation = Citation(claim_id=target.claim_id, datapoint_id=target.datapoint_id, source_id=source.id,
                            quote=quote, accessed=accessed, note=note, created_at=utcnow())
        session.add(citation)
        session.flush()
    else:
        citation = existing
        for name, value in (("accessed", accessed), ("note", note)):
            if value is not None and getattr(citation, name) != value:
                setattr(citation, name, value)
                updated.append(name)
    checks = backfill_checks(session, [citation]) if not source_created else 0
    return CiteResult(citation, source, created, source_created, updated, checks)


def _claim_filter(query, text: str | None):
    """`query` on claims narrowed to those whose id, text or tags hold `text` (case aside)."""
    if not text:
        return query
    from sqlalchemy import String, cast, or_

    from archiver.sources import like_pattern

    pattern = f"%{like_pattern(text.strip().lower())}%"
    return query.where(or_(func.lower(Claim.id).like(pattern, escape="#"), func.lower(Claim.text).like(pattern, escape="#"),
                           func.lower(cast(Claim.tags, String)).like(pattern, escape="#")))


def claim_rows(session: Session, *, text: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
    """Every claim (or those whose id, text or tags hold `text`; at most `limit` from `offset`),
    in id order, with the number of citations made directly for it."""
    claims = list(session.scalars(_claim_filter(select(Claim), text).order_by(Claim.id).offset(offset).limit(limit)))
    ids = [claim.id for claim in claims]
    direct = dict(session.execute(
        select(Citation.claim_id, func.count()).where(Citation.claim_id.in_(ids)).group_by(Citation.claim_id)
    ).all()) if ids else {}
    rows = []
    for claim in claims:
        rows.append({
            "id": claim.id,
            "text": claim.text,
            "tags": list(claim.tags or []),
            "citations": direct.get(claim.id, 0),
            "created_at": claim.created_at.isoformat() if claim.created_at else None,
            "updated_at": claim.updated_at.isoformat() if claim.updated_at else None,
        })
    return rows


def count_claims(session: Session, *, text: str | None = None) -> int:
    """How many claims claim_rows lists with this `text` and no limit."""
    return session.scalar(_claim_filter(select(func.count()).select_from(Claim), text))


def datapoint_rows(session: Session) -> list[dict]:
    """Every data point with its fields and number of citations."""
    counts = dict(session.execute(
        select(Citation.datapoint_id, func.count()).where(Citation.datapoint_id.is_not(None))
        .group_by(Citation.datapoint_id)
    ).all())
    return [
        {
            "id": p.id, "entity": p.entity, "country": p.country, "category": p.category, "place": p.place,
            "latitude": p.latitude, "longitude": p.longitude, "date": p.date, "description": p.description,
            "claim_id": p.claim_id, "citations": counts.get(p.id, 0),
        }
        for p in session.scalars(select(DataPoint).order_by(DataPoint.id))
    ]


def _drop_checks(session: Session, citation_ids: list[int]) -> None:
    """Delete the quote checks of these citations: derived from the captures, which stay, so
    they can be made again (backfill_checks)."""
    from sqlalchemy import delete

    if citation_ids:
        session.execute(delete(QuoteCheck).where(QuoteCheck.citation_id.in_(citation_ids)))


def _citations_of(session: Session, *, claim_id: str | None = None, datapoint_id: str | None = None) -> list[Citation]:
    query = select(Citation).order_by(Citation.id)
    query = query.where(Citation.claim_id == claim_id) if claim_id else query.where(Citation.datapoint_id == datapoint_id)
    return list(session.scalars(query))


def remove_citations(session: Session, citations: list[Citation]) -> int:
    """Delete citations and their quote checks (the sources and their captures stay)."""
    _drop_checks(session, [c.id for c in citations])
    for citation in citations:
        session.delete(citation)
    session.flush()
    return len(citations)


def remove_claim(session: Session, claim_id: str, *, with_citations: bool = False) -> dict:
    """Delete a claim. Its data points stay, no longer linked to it. A claim with citations is
    only deleted `with_citations` (they go with it); otherwise EvidenceError says how many."""
    claim = get_claim(session, claim_id)
    citations = _citations_of(session, claim_id=claim.id)
    if citations and not with_citations:
        raise EvidenceError(f"claim {claim_id!r} has {len(citations)} citation(s): remove them first "
                            "(`archiver cite remove`), or give --with-citations to remove them with it")
    points = list(session.scalars(select(DataPoint).where(DataPoint.claim_id == claim.id)))
    for point in points:
        point.claim_id = None
        point.updated_at = utcnow()
    removed = remove_citations(session, citations)
    session.delete(claim)
    session.flush()
    return {"claim_id": claim_id, "citations_removed": removed, "datapoints_unlinked": [p.id for p in points]}


def edit_datapoint(session: Session, datapoint_id: str, changes: dict) -> DataPoint:
    """Change some fields of a data point (a value of "" clears a field); the result is checked
    like a new data point."""
    point = get_datapoint(session, datapoint_id)
    current = {name: getattr(point, name) for name in ("entity", "country", "category", "place", "latitude",
                                                       "longitude", "date", "description", "claim_id")}
    current.update({name: value for name, value in changes.items() if value is not None})
    values = DataPointInput(**current).validated()
    if values["claim_id"]:
        get_claim(session, values["claim_id"])
    for name, value in values.items():
        setattr(point, name, value)
    point.updated_at = utcnow()
    return point


def remove_datapoint(session: Session, datapoint_id: str, *, with_citations: bool = False) -> dict:
    """Delete a data point; like remove_claim, its citations go only `with_citations`."""
    point = get_datapoint(session, datapoint_id)
    citations = _citations_of(session, datapoint_id=point.id)
    if citations and not with_citations:
        raise EvidenceError(f"data point {datapoint_id!r} has {len(citations)} citation(s): remove them first "
                            "(`archiver cite remove`), or give --with-citations to remove them with it")
    removed = remove_citations(session, citations)
    session.delete(point)
    session.flush()
    return {"datapoint_id": datapoint_id, "citations_removed": removed}


def get_citation(session: Session, citation_id: int) -> Citation:
    citation = session.get(Citation, citation_id)
    if citation is None:
        raise EvidenceError(f"unknown citation {citation_id} (see `archiver cite list`)")
    return citation


def edit_citation(session: Session, citation_id: int, *, quote: str | None = None, accessed: str | None = None,
                  note: str | None = None, target: Target | None = None) -> tuple[Citation, list[str]]:
    """Change a citation's quote, access date, note or what it supports ("" clears a field).
    A new quote is checked again against every capture of the source."""
    citation = get_citation(session, citation_id)
    changed: list[str] = []
    if accessed is not None:
        value = check_date(accessed, "accessed date")
        if value != citation.accessed:
            citation.accessed, changed = value, [*changed, "accessed"]
    if note is not None and clean(note) != citation.note:
        citation.note, changed = clean(note), [*changed, "note"]
    if target is not None and (target.claim_id, target.datapoint_id) != (citation.claim_id, citation.datapoint_id):
        citation.claim_id, citation.datapoint_id = target.claim_id, target.datapoint_id
        changed.append("target")
    if quote is not None and clean(quote) != citation.quote:
        citation.quote = clean(quote)
        changed.append("quote")
        _drop_checks(session, [citation.id])
        session.flush()
        backfill_checks(session, [citation])
    session.flush()
    return citation, changed


def citation_rows(session: Session, *, target: Target | None = None, source_id: int | None = None) -> list[dict]:
    """Citations (all, or of one claim, data point or source) with their ids, for `cite list`."""
    query = select(Citation, Source.url).join(Source, Source.id == Citation.source_id).order_by(Citation.id)
    if target is not None:
        query = query.where(Citation.claim_id == target.claim_id) if target.claim_id else \
            query.where(Citation.datapoint_id == target.datapoint_id)
    if source_id is not None:
        query = query.where(Citation.source_id == source_id)
    return [
        {"id": c.id, "claim_id": c.claim_id, "datapoint_id": c.datapoint_id, "url": url, "quote": c.quote,
         "accessed": c.accessed, "note": c.note}
        for c, url in session.execute(query)
    ]


def tagged_sources_condition(tag: str) -> tuple[str, list]:
    """An SQL condition on `sources` (with its parameters): the source is cited by a claim tagged
    `tag`. Tags are stored as a JSON list, so the tag is looked for as a JSON string in its text."""
    from archiver.sources import like_pattern

    pattern = "%" + like_pattern(json.dumps(tag.strip())) + "%"
    return ("id IN (SELECT citations.source_id FROM citations JOIN claims ON claims.id = citations.claim_id"
            " WHERE CAST(claims.tags AS TEXT) LIKE ? ESCAPE '#')", [pattern])
