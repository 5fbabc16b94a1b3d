"""`archiver import-citations`: the citations of a finished report, or of a reference manager's
export, tracked in one step.

`read_citations(path)` finds them (evidence.reportfiles, evidence.citetext, evidence.refmanagers)
without touching the database: one `Found` per cited URL with its endnote number, the note's
text, the access date, title, publisher and the sentence carrying the endnote mark. The CLI
shows these as a preview; `import_citations(session, extraction)` stores them.

What is stored: every URL is tracked as a source (title, publisher and language when known);
each sentence that carries an endnote mark becomes a claim, with id `PREFIX-nN` (N the first
note that backs it) or `PREFIX-lK` for the K-th sentence that holds a URL in its running text;
each URL becomes a citation of that claim, with the note's text ("[N] ...") as its note and
the access date. A note whose mark was not found, and every entry of a reference manager's
file, is cited for one claim standing for the whole file (id PREFIX, "Sources cited in FILE").
The same URL twice for one claim is one citation whose note holds both notes.

Importing the same file again adds and changes nothing: ids come from the file, a claim
already there keeps its text (it may have been edited since), and a citation already there is
found again. The result is ordinary claims and citations, so `archiver export` writes it as
CSV and `archiver import` reads that back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evidence import EvidenceError
from evidence.citetext import (
    MARK_RE,
    access_date,
    find_urls,
    guess_lang,
    inline_sentence,
    mark_body,
    mark_sentences,
    title_and_publisher,
    unwrap,
    with_scheme,
)

REFERENCE_SUFFIXES = {".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".json": "csl-json"}


@dataclass
class Found:
    """One cited URL and what the report says about it."""

    url: str
    number: str | None = None
    note: str | None = None
    accessed: str | None = None
    title: str | None = None
    publisher: str | None = None
    lang: str | None = None
    claim: str | None = None
    claim_id: str | None = None


@dataclass
class Extraction:
    """What a file cites: its citations, and counts for the preview."""

    file: str
    kind: str
    citations: list[Found] = field(default_factory=list)
    notes: int = 0
    notes_without_url: list[str] = field(default_factory=list)
    marks: int = 0

    def counts(self) -> dict:
        """URLs found, access dates parsed, claims matched, and the other figures of a preview."""
        return {
            "urls": len(self.citations),
            "distinct_urls": len({f.url for f in self.citations}),
            "accessed_dates": sum(1 for f in self.citations if f.accessed),
            "claims_matched": sum(1 for f in self.citations if f.claim),
            "titles": sum(1 for f in self.citations if f.title),
            "publishers": sum(1 for f in self.citations if f.publisher),
            "notes": self.notes,
            "notes_without_url": len(self.notes_without_url),
            "marks": self.marks,
        }


def default_prefix(path: str | Path) -> str:
    """The claim id prefix made from a file name: 'aspi-mapping-giants' for 'ASPI Mapping Giants.pdf'."""
    from evidence.claims import slugify

    stem = Path(path).stem
    words = re.findall(r"[A-Za-z0-9]+", stem.lower())
    return "-".join(words)[:40].strip("-") if words else slugify(stem, max_length=40)


def read_citations(path: str | Path, *, prefix: str | None = None) -> Extraction:
    """Every URL a report or reference-manager file cites (see the module notes); EvidenceError
    when the file cannot be read."""
    path = Path(path)
    prefix = prefix or default_prefix(path)
    fmt = REFERENCE_SUFFIXES.get(path.suffix.lower())
    if fmt:
        from evidence.refmanagers import read_references

        found = read_references(path, fmt)
        for item in found:
            item.claim_id = prefix
        return Extraction(path.name, fmt, found, notes=len(found))
    from evidence.reportfiles import read_report, urls_of_note

    report = read_report(path)
    numbers = [note.number for note in report.notes]
    body = report.body if report.exact_marks else mark_body(report.body, numbers or None)
    sentences = mark_sentences(body, wrapped=report.wrapped)
    marks = len({match.group(1) for match in MARK_RE.finditer(body)})
    extraction = Extraction(path.name, report.kind, notes=len(report.notes), marks=marks)
    claim_ids: dict[str, str] = {}
    for note in report.notes:
        urls = urls_of_note(note, report.wrapped)
        if not urls:
            extraction.notes_without_url.append(note.number)
            continue
        text = _note_text(note.text, report.wrapped)
        title, publisher = title_and_publisher(text, urls)
        sentence = sentences.get(note.number)
        claim_id = claim_ids.setdefault(sentence, f"{prefix}-n{note.number}") if sentence else prefix
        for url in urls:
            extraction.citations.append(Found(
                url=with_scheme(url), number=note.number, note=f"[{note.number}] {text}",
                accessed=access_date(text), title=title, publisher=publisher,
                lang=guess_lang(title or text), claim=sentence, claim_id=claim_id,
            ))
    inline = 0
    for found in find_urls(body, wrapped=report.wrapped):
        sentence = inline_sentence(body, found.start, found.end, wrapped=report.wrapped) or None
        if sentence:
            if sentence not in claim_ids:
                inline += 1
                claim_ids[sentence] = f"{prefix}-l{inline}"
            claim_id = claim_ids[sentence]
        else:
            claim_id = prefix
        extraction.citations.append(Found(url=with_scheme(found.url), claim=sentence, claim_id=claim_id,
                                          lang=guess_lang(sentence or "")))
    return extraction


def _note_text(text: str, wrapped: bool) -> str:
    """A note's text on one line, its URLs whole again."""
    pieces, position = [], 0
    for found in find_urls(text, wrapped=wrapped):
        pieces.append(text[position:found.start])
        pieces.append(found.url if not text[found.start] == "<" else f"<{found.url}>")
        position = found.end
    pieces.append(text[position:])
    return re.sub(r"\s+", " ", unwrap("".join(pieces))).strip()


@dataclass
class Rejected:
    number: str | None
    url: str
    reason: str


@dataclass
class ImportResult:
    """What an import stored."""

    citations: int = 0
    new_sources: int = 0
    new_claims: int = 0
    new_citations: int = 0
    updated_citations: int = 0
    unchanged: int = 0
    quote_checks: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def as_json(self) -> dict:
        data = asdict(self)
        data["rejected"] = [asdict(r) for r in self.rejected]
        return data


def merged(citations: list[Found]) -> list[Found]:
    """One Found per (claim, URL): the notes of repeats joined, the first access date kept."""
    from evidence.claims import check_url

    out: dict[tuple, Found] = {}
    for item in citations:
        try:
            key = (item.claim_id, check_url(item.url))
        except EvidenceError:
            key = (item.claim_id, item.url)
        if key not in out:
            out[key] = Found(**asdict(item))
            continue
        kept = out[key]
        if item.note and item.note not in (kept.note or ""):
            kept.note = f"{kept.note}\n{item.note}" if kept.note else item.note
        for name in ("accessed", "title", "publisher", "lang"):
            if not getattr(kept, name) and getattr(item, name):
                setattr(kept, name, getattr(item, name))
    return list(out.values())


def import_citations(session, extraction: Extraction, *, tags=()) -> ImportResult:
    """Store an extraction (the caller commits): sources, claims and citations, idempotently."""
    from evidence.claims import Target, add_claim, check_id, check_url, cite
    from evidence.models import Claim

    result = ImportResult()
    for item in merged(extraction.citations):
        result.citations += 1
        try:
            check_url(item.url)
            claim_id = check_id(item.claim_id or "", "claim id")
            if session.get(Claim, claim_id) is None:
                text = item.claim or f"Sources cited in {extraction.file}"
                add_claim(session, text, claim_id=claim_id, tags=tags)
                result.new_claims += 1
            outcome = cite(session, Target(claim_id=claim_id), item.url, accessed=item.accessed, note=item.note,
                           lang=item.lang, title=item.title, publisher=item.publisher)
        except EvidenceError as exc:
            result.rejected.append(Rejected(item.number, item.url, str(exc)))
            continue
        result.new_sources += outcome.source_created
        result.quote_checks += outcome.checks
        if outcome.created:
            result.new_citations += 1
        elif outcome.updated:
            result.updated_citations += 1
        else:
            result.unchanged += 1
    return result
