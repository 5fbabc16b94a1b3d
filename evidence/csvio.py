"""The bibliography as CSV: import a file of sources, claims, data points and citations; export it back.

Columns (only `url` is required; any order; unknown columns are ignored with a warning):
    url, lang, title, publisher, claim_id, claim, tags, quote, accessed, note,
    datapoint_id, entity, country, category, place, latitude, longitude, date, description
`tags` are separated by ';'. One row is one citation: the source at `url` backs the claim
and/or the data point on that row with the quote. A row with only source columns just tracks
the URL.

Import is idempotent: a second import of the same file adds nothing. Each row is validated
completely before anything is written, so a rejected row leaves no trace and the good rows
still land; every rejection names its line number and reason. Files may be UTF-8 (with or
without a byte-order mark, as Excel writes it), UTF-16 with a BOM, or a legacy Chinese
encoding (GBK/GB18030, Big5), which is detected; comma, semicolon and tab separators are
recognised from the header line.

Export writes one row per citation (then one row per source without citations) with the
same columns, so import -> export -> import gives the same rows.

Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return before them) as a
formula, and a page title or quote can be made to start that way. Export writes such a cell with
a ' in front (`protect_cell`), which Excel and LibreOffice show as text; a plain number such as a
negative longitude is left alone. Import takes the ' off again (`unprotect_cell`): a cell that
starts with one or more ' followed by one of those characters loses one ', so every text
round-trips, one that itself began with ' included.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from charset_normalizer import from_bytes
from sqlalchemy import select
from sqlalchemy.orm import Session

from archiver.config import VANTAGE_NAME
from archiver.models import Source, utcnow
from archiver.sources import add_source
from evidence.checks import backfill_checks
from evidence.claims import (
    DataPointInput,
    EvidenceError,
    Target,
    check_date,
    check_id,
    check_url,
    clean,
    datapoint_slug,
    find_citation,
    parse_tags,
    slugify,
)
from evidence.models import Citation, Claim, DataPoint

COLUMNS = (
    "url", "lang", "title", "publisher", "claim_id", "claim", "tags", "quote", "accessed", "note",
    "datapoint_id", "entity", "country", "category", "place", "latitude", "longitude", "date", "description",
    "no_wayback", "render", "vantage", "recheck",
)
SOURCE_COLUMNS = ("url", "lang", "title", "publisher", "no_wayback", "render", "vantage", "recheck")
_TRIGGERS = "=+\\-@\t\r"
_FORMULA = re.compile(f"'*[{_TRIGGERS}]")
_PROTECTED = re.compile(f"'+[{_TRIGGERS}]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_YES = ("yes", "y", "true", "1", "x")
_NO = ("no", "n", "false", "0")
DATAPOINT_FIELDS = ("entity", "country", "category", "place", "latitude", "longitude", "date", "description")
_LEGACY_ENCODINGS = ("gb18030", "big5", "utf_16", "cp1252", "latin_1")


class CSVFileError(Exception):
    """The file cannot be used at all: unreadable, undecodable, or without a `url` column."""


@dataclass
class CSVRow:
    """One record of the file, its values keyed by column name, with the line it starts on."""

    line: int
    values: dict[str, str]

    def get(self, name: str) -> str | None:
        return clean(self.values.get(name))


@dataclass
class CSVFile:
    rows: list[CSVRow]
    encoding: str
    delimiter: str
    unknown_columns: list[str]


def decode_csv_bytes(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Text of a CSV file and the encoding it was read with (given, BOM, UTF-8, else detected)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise CSVFileError(f"cannot read the file as {encoding}: {exc}") from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=list(_LEGACY_ENCODINGS)).best()
    if best is not None and best.encoding:
        name = "gb18030" if best.encoding in ("gbk", "gb2312", "gb18030") else best.encoding
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            pass
    raise CSVFileError("cannot tell the file's character encoding; save it as UTF-8 or give --encoding")


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(text: str, encoding: str = "utf-8") -> CSVFile:
    """Records of a CSV text, each with the line number it starts on; header names are matched
    case-insensitively."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise CSVFileError("the file is empty") from None
    except csv.Error as exc:
        raise CSVFileError(f"cannot parse the header line: {exc}") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    if "url" not in names:
        raise CSVFileError(f"no `url` column in the header line (found: {', '.join(n for n in names if n) or 'nothing'})")
    unknown = [n for n in names if n and n not in COLUMNS]
    rows = []
    line = reader.line_num + 1
    while True:
        start = line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CSVFileError(f"line {start}: {exc}") from None
        line = reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        values = {}
        for name, cell in zip(names, record):
            if name in COLUMNS and name not in values:
                values[name] = unprotect_cell(cell)
        if len(record) > len(names) and any(cell.strip() for cell in record[len(names):]):
            values["__extra__"] = str(len(record) - len(names))
        rows.append(CSVRow(start, values))
    return CSVFile(rows, encoding, delimiter, unknown)


def _file_bytes(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CSVFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_csv(path: str | os.PathLike, encoding: str | None = None) -> CSVFile:
    """Read and parse a CSV file (see the module notes for encodings and separators)."""
    text, used = decode_csv_bytes(_file_bytes(path), encoding)
    return parse_csv(text, used)


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class ImportSummary:
    """What an import did, row by row (`added`, `updated`, `already`, `rejected`) and in total."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    already: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new_sources: int = 0
    new_claims: int = 0
    new_datapoints: int = 0
    new_citations: int = 0
    sources_already_tracked: int = 0
    checks: int = 0
    encoding: str = "utf-8"

    @property
    def all_rejected(self) -> bool:
        """Every row of a file that had rows was rejected: nothing was imported."""
        return self.rows > 0 and len(self.rejected) == self.rows

    def as_json(self) -> dict:
        return {
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "already_tracked": self.already,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "warnings": self.warnings,
            "new": {"sources": self.new_sources, "claims": self.new_claims, "datapoints": self.new_datapoints,
                    "citations": self.new_citations},
            "quote_checks": self.checks,
            "encoding": self.encoding,
            "sources_already_tracked": self.sources_already_tracked,
        }


@dataclass
class _Checked:
    """A row after validation: everything needed to write it."""

    line: int
    url: str
    source: dict
    claim_id: str | None
    claim_text: str | None
    tags: list[str]
    datapoint_id: str | None
    datapoint: dict | None
    quote: str | None
    accessed: str | None
    note: str | None


class _Importer:
    """Validates every row against the database and the valid rows before it, then writes them.

    Within one file the first row that gives a claim's text or a data point's fields wins (later
    rows that differ get a warning); a claim's tags are the union of the tags on all its rows.
    """

    def __init__(self, session: Session, summary: ImportSummary, vantages: Iterable[str] | None = None) -> None:
        self.session = session
        self.summary = summary
        self.vantages = None if vantages is None else list(vantages)
        self.defined_claims: set[str] = set()
        self.defined_points: set[str] = set()
        self.generated_claims: dict[str, str] = {}
        self.generated_points: dict[tuple, str] = {}

    def _vantage(self, name: str | None, column: str) -> str | None:
        """A vantage cell: a name the configuration defines (when known), or None when empty."""
        if not name:
            return None
        if not VANTAGE_NAME.fullmatch(name) or (self.vantages is not None and name not in self.vantages):
            known = f": the configuration defines {', '.join(self.vantages)}" if self.vantages is not None else ""
            raise EvidenceError(f"{column}: unknown vantage {name!r}{known}")
        return name

    def _claim_exists(self, claim_id: str) -> bool:
        return claim_id in self.defined_claims or self.session.get(Claim, claim_id) is not None

    def _point_exists(self, point_id: str) -> bool:
        return point_id in self.defined_points or self.session.get(DataPoint, point_id) is not None

    def _claim_id_for_text(self, text: str) -> str:
        if text not in self.generated_claims:
            existing = self.session.scalars(select(Claim.id).where(Claim.text == text)).first()
            if existing is None:
                base = slugify(text)
                existing, n = base, 1
                while self._claim_exists(existing):
                    n += 1
                    existing = f"{base}-{n}"
            self.generated_claims[text] = existing
        return self.generated_claims[text]

    def _point_id(self, point: dict) -> str:
        key = tuple(point[name] for name in DATAPOINT_FIELDS)
        if key not in self.generated_points:
            base = datapoint_slug(point)
            candidate, n = base, 1
            while self._point_exists(candidate):
                existing = self.session.get(DataPoint, candidate)
                if existing is not None and all(getattr(existing, k) == point[k] for k in DATAPOINT_FIELDS):
                    break
                n += 1
                candidate = f"{base}-{n}"
            self.generated_points[key] = candidate
        return self.generated_points[key]

    def validate(self, row: CSVRow) -> _Checked:
        """The row's values checked and completed (generated ids), or EvidenceError."""
        if "__extra__" in row.values:
            raise EvidenceError(f"{row.values['__extra__']} more cells than the header has columns")
        url = row.get("url")
        if url is None:
            raise EvidenceError("no url")
        url = check_url(url)
        no_wayback = _yes_no(row.get("no_wayback"), "no_wayback")
        render = _render_mode(row.get("render"))
        where = {column: self._vantage(row.get(column), column) for column in ("vantage", "recheck")}
        accessed = check_date(row.get("accessed"), "accessed date")
        claim_id, claim_text = row.get("claim_id"), row.get("claim")
        tags = parse_tags(row.get("tags"))
        if claim_id:
            claim_id = check_id(claim_id, "claim id")
            if claim_text is None and not self._claim_exists(claim_id):
                raise EvidenceError(f"unknown claim id {claim_id!r}: give its text in the `claim` column")
        elif claim_text:
            claim_id = self._claim_id_for_text(claim_text)
        elif tags:
            raise EvidenceError("tags given without a claim")
        point = None
        datapoint_id = row.get("datapoint_id")
        if datapoint_id:
            datapoint_id = check_id(datapoint_id, "data point id")
        if any(row.get(name) for name in DATAPOINT_FIELDS):
            values = {name: row.get(name) for name in DATAPOINT_FIELDS}
            point = DataPointInput(**values).validated()
            point.pop("claim_id")
            datapoint_id = datapoint_id or self._point_id(point)
        elif datapoint_id and not self._point_exists(datapoint_id):
            raise EvidenceError(f"unknown data point id {datapoint_id!r}: give at least its `entity`")
        quote, note = row.get("quote"), row.get("note")
        if (quote or accessed or note) and not (claim_id or datapoint_id):
            raise EvidenceError("quote, accessed or note given without a claim or data point to cite it for")
        if claim_id and claim_text:
            self.defined_claims.add(claim_id)
        if datapoint_id and point:
            self.defined_points.add(datapoint_id)
        return _Checked(
            line=row.line, url=url,
            source={name: row.get(name) for name in ("lang", "title", "publisher")} | {"no_wayback": no_wayback,
                                                                                       "render": render} | where,
            claim_id=claim_id, claim_text=claim_text, tags=tags,
            datapoint_id=datapoint_id, datapoint=point,
            quote=quote, accessed=accessed, note=note,
        )

    def write_all(self, rows: list[_Checked]) -> list[Citation]:
        """Store validated rows, counting each as added, updated or already there; returns the new
        citations of sources that were already tracked (their quotes can be checked at once)."""
        self.claim_tags: dict[str, list[str]] = {}
        for checked in rows:
            if checked.claim_id and checked.tags:
                merged = self.claim_tags.setdefault(checked.claim_id, [])
                if merged and checked.tags != merged and not set(checked.tags) <= set(merged):
                    self.summary.warnings.append(
                        f"line {checked.line}: claim {checked.claim_id!r} has other tags on an earlier line; "
                        "the tags of all its lines are merged"
                    )
                merged.extend(tag for tag in checked.tags if tag not in merged)
        self.claim_seen: dict[str, str] = {}
        self.point_seen: dict[str, dict] = {}
        self.seen_sources: set[int] = set()
        self.new_source_ids: set[int] = set()
        to_check = []
        for checked in rows:
            outcome, citations = self._write(checked)
            to_check.extend(citations)
            if outcome == "added":
                self.summary.added += 1
            elif outcome == "updated":
                self.summary.updated += 1
            else:
                self.summary.already += 1
        return to_check

    def _write(self, checked: _Checked) -> tuple[str, list[Citation]]:
        outcomes = set()
        before = None
        existing = self.session.scalars(select(Source).where(Source.url == checked.url)).first()
        if existing is not None:
            before = (bool(existing.no_wayback), existing.render, existing.vantage, existing.recheck_vantage)
        source, created = add_source(self.session, checked.url, **checked.source)
        if created:
            self.summary.new_sources += 1
            outcomes.add("added")
        else:
            if source.id not in self.seen_sources and source.id not in self.new_source_ids:
                self.summary.sources_already_tracked += 1
            if before is not None and before != (bool(source.no_wayback), source.render, source.vantage,
                                                 source.recheck_vantage):
                outcomes.add("updated")
        (self.new_source_ids if created else self.seen_sources).add(source.id)
        if checked.claim_id:
            outcomes.add(self._write_claim(checked, checked.claim_id))
        if checked.datapoint is not None and checked.datapoint_id:
            outcomes.add(self._write_point(checked, checked.datapoint_id, checked.datapoint))
        new_citations = []
        if checked.claim_id or checked.datapoint_id:
            target = Target(checked.claim_id, checked.datapoint_id)
            citation = find_citation(self.session, target, source.id, checked.quote)
            if citation is None:
                citation = Citation(claim_id=checked.claim_id, datapoint_id=checked.datapoint_id, source_id=source.id,
                                    quote=checked.quote, accessed=checked.accessed, note=checked.note,
                                    created_at=utcnow())
                self.session.add(citation)
                self.session.flush()
                self.summary.new_citations += 1
                outcomes.add("added")
                if not created:
                    new_citations.append(citation)
            else:
                for name in ("accessed", "note"):
                    value = getattr(checked, name)
                    if getattr(citation, name) != value:
                        setattr(citation, name, value)
                        outcomes.add("updated")
        outcome = "added" if "added" in outcomes else "updated" if "updated" in outcomes else "already"
        return outcome, new_citations

    def _write_claim(self, checked: _Checked, claim_id: str) -> str:
        text = checked.claim_text
        tags = self.claim_tags.get(claim_id)
        if claim_id in self.claim_seen:
            if text is not None and text != self.claim_seen[claim_id]:
                self.summary.warnings.append(
                    f"line {checked.line}: claim {claim_id!r} has another text on an earlier line; the first is kept"
                )
            return "already"
        claim = self.session.get(Claim, claim_id)
        if claim is None:
            now = utcnow()
            self.session.add(Claim(id=claim_id, text=text, tags=list(tags or []), created_at=now, updated_at=now))
            self.session.flush()
            self.claim_seen[claim_id] = text or ""
            self.summary.new_claims += 1
            return "added"
        outcome = "already"
        if text is not None and text != claim.text:
            claim.text = text
            outcome = "updated"
        if tags is not None and list(claim.tags or []) != tags:
            claim.tags = list(tags)
            outcome = "updated"
        if outcome == "updated":
            claim.updated_at = utcnow()
        self.claim_seen[claim_id] = claim.text
        return outcome

    def _write_point(self, checked: _Checked, point_id: str, fields: dict) -> str:
        if point_id in self.point_seen:
            if fields != self.point_seen[point_id]:
                self.summary.warnings.append(
                    f"line {checked.line}: data point {point_id!r} has other fields on an earlier line; "
                    "the first ones are kept"
                )
            return "already"
        self.point_seen[point_id] = fields
        point = self.session.get(DataPoint, point_id)
        if point is None:
            now = utcnow()
            self.session.add(DataPoint(id=point_id, claim_id=checked.claim_id, created_at=now, updated_at=now, **fields))
            self.session.flush()
            self.summary.new_datapoints += 1
            return "added"
        changed = [name for name, value in fields.items() if getattr(point, name) != value]
        for name in changed:
            setattr(point, name, fields[name])
        if point.claim_id is None and checked.claim_id:
            point.claim_id = checked.claim_id
            changed.append("claim_id")
        if changed:
            point.updated_at = utcnow()
            return "updated"
        return "already"


def import_rows(session: Session, rows: list[CSVRow], *, encoding: str = "utf-8",
                vantages: Iterable[str] | None = None) -> ImportSummary:
    """Import parsed rows into the session (the caller commits); see the module notes.
    `vantages`: the vantage names the configuration defines (the `vantage` and `recheck`
    columns must name one of them); None accepts any well-formed name."""
    summary = ImportSummary(rows=len(rows), encoding=encoding)
    importer = _Importer(session, summary, vantages)
    valid = []
    for row in rows:
        try:
            valid.append(importer.validate(row))
        except EvidenceError as exc:
            summary.rejected.append(Rejected(row.line, str(exc)))
    to_check = importer.write_all(valid)
    summary.checks = backfill_checks(session, to_check)
    return summary


def import_file(session: Session, path: str | os.PathLike, *, encoding: str | None = None,
                vantages: Iterable[str] | None = None) -> ImportSummary:
    """Read, validate and import a CSV file into the session (the caller commits)."""
    return import_bytes(session, _file_bytes(path), encoding=encoding, vantages=vantages)


def import_bytes(session: Session, data: bytes, *, encoding: str | None = None,
                 vantages: Iterable[str] | None = None) -> ImportSummary:
    """Import a CSV file's bytes (an upload) like import_file (the caller commits)."""
    text, used = decode_csv_bytes(data, encoding)
    parsed = parse_csv(text, used)
    summary = import_rows(session, parsed.rows, encoding=parsed.encoding, vantages=vantages)
    if parsed.unknown_columns:
        summary.warnings.insert(0, f"columns ignored (not known): {', '.join(parsed.unknown_columns)}")
    return summary


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return repr(float(value))


def export_rows(session: Session) -> list[dict[str, str]]:
    """Every citation as a row (with its source, claim and data point), then every source that has
    no citation as a row of its own."""
    sources = {s.id: s for s in session.scalars(select(Source).order_by(Source.id))}
    claims = {c.id: c for c in session.scalars(select(Claim))}
    points = {p.id: p for p in session.scalars(select(DataPoint))}
    rows = []
    cited: set[int] = set()
    for citation in session.scalars(select(Citation).order_by(Citation.id)):
        source = sources[citation.source_id]
        cited.add(source.id)
        claim = claims.get(citation.claim_id) if citation.claim_id else None
        point = points.get(citation.datapoint_id) if citation.datapoint_id else None
        row = _source_row(source)
        row.update({
            "claim_id": claim.id if claim else "",
            "claim": claim.text if claim else "",
            "tags": ";".join(claim.tags or []) if claim else "",
            "quote": citation.quote or "",
            "accessed": citation.accessed or "",
            "note": citation.note or "",
        })
        if point is not None:
            row.update({
                "datapoint_id": point.id, "entity": point.entity or "", "country": point.country or "",
                "category": point.category or "", "place": point.place or "",
                "latitude": _number(point.latitude), "longitude": _number(point.longitude),
                "date": point.date or "", "description": point.description or "",
            })
        rows.append(row)
    rows.extend(_source_row(source) for source_id, source in sources.items() if source_id not in cited)
    return rows


def _source_row(source: Source) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update({"url": source.url, "lang": source.lang or "", "title": source.title or "",
                "publisher": source.publisher or "", "no_wayback": "yes" if source.no_wayback else "",
                "render": source.render or "", "vantage": source.vantage or "",
                "recheck": source.recheck_vantage or ""})
    return row


def _render_mode(value: str | None) -> str | None:
    """A render cell: always, auto or never (yes means always, no never); None when empty."""
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word in _YES:
        return "always"
    if word in _NO:
        return "never"
    if word in ("always", "auto", "never"):
        return word
    raise EvidenceError(f"render must be always, auto or never (or yes/no), not {value!r}")


def _yes_no(value: str | None, column: str) -> bool | None:
    """A yes/no cell: True, False, or None when empty (the source keeps what it has)."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise EvidenceError(f"{column} must be yes or no (or empty), not {value!r}")


def protect_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (see the module notes)."""
    if _FORMULA.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def unprotect_cell(value: str) -> str:
    """The cell `protect_cell` was given: one leading ' taken off a protected cell."""
    if value.startswith("'") and _PROTECTED.match(value):
        return value[1:]
    return value


def write_csv(rows: list[dict[str, str]], handle, *, bom: bool = False) -> None:
    """Write rows with the standard columns (RFC 4180: comma, double quotes, CRLF), every cell
    safe from spreadsheet formulas (protect_cell)."""
    if bom:
        handle.write("\ufeff")
    writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({name: protect_cell(value or "") for name, value in row.items()} for row in rows)

