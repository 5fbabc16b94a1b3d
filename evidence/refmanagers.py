"""Bibliographies from reference managers: Zotero's CSL-JSON, BibTeX/BibLaTeX (bibtexparser) and
RIS (rispy), read into the same citations as a report's endnotes (evidence.citeimport.Found):
URL, title, publisher, access date, language, and a note naming the entry.

Entries without a URL cite nothing to archive and are left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from evidence import EvidenceError
from evidence.citetext import access_date, find_urls, guess_lang


def read_references(path: Path, fmt: str):
    """The entries of a CSL-JSON, BibTeX or RIS file that have a URL, as Found items."""
    from evidence.reportfiles import decode_text

    try:
        text = decode_text(path.read_bytes())
    except OSError as exc:
        raise EvidenceError(f"cannot read {path}: {exc.strerror or exc}") from None
    reader = {"csl-json": csl_json, "bibtex": bibtex, "ris": ris}[fmt]
    return reader(text)


def _date(value) -> str | None:
    """An access date from a CSL date object, an ISO string or a written date."""
    if not value:
        return None
    if isinstance(value, dict):
        parts = (value.get("date-parts") or [[]])[0]
        if parts and all(str(p).isdigit() for p in parts):
            numbers = [int(p) for p in parts[:3]]
            return "-".join([f"{numbers[0]:04d}", *(f"{n:02d}" for n in numbers[1:])])
        value = value.get("raw") or value.get("literal") or ""
    return access_date(f"accessed {value}")


def _note(kind: str, key: str | None, *parts: str | None) -> str:
    described = ", ".join(p for p in parts if p)
    return f"[{kind} {key}] {described}" if key else f"[{kind}] {described}"


def _found(url: str, *, title, publisher, accessed, lang, note):
    from evidence.citeimport import Found

    title = _clean(title)
    return Found(url=url, title=title, publisher=_clean(publisher), accessed=accessed,
                 lang=_lang(lang) or guess_lang(title or ""), note=note)


def _lang(value) -> str | None:
    value = (value or "").strip().lower()
    if not value:
        return None
    if value.startswith(("zh", "chi", "中文", "汉语", "chinese")):
        return "zh"
    if value.startswith(("en", "eng")):
        return "en"
    return value[:16]


def _clean(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else ""
    value = re.sub(r"\s+", " ", str(value)).strip()
    return value or None


def csl_json(text: str) -> list:
    """Zotero's "CSL JSON" export: a list of items (or {"items": [...]})."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvidenceError(f"not a CSL-JSON file: {exc}") from None
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise EvidenceError("not a CSL-JSON file: expected a list of items")
    found = []
    for item in items:
        if not isinstance(item, dict) or not item.get("URL"):
            continue
        publisher = item.get("publisher") or item.get("container-title")
        found.append(_found(
            str(item["URL"]).strip(), title=item.get("title"), publisher=publisher,
            accessed=_date(item.get("accessed")), lang=item.get("language"),
            note=_note("CSL", item.get("id"), _clean(item.get("title")), _clean(publisher), _clean(item.get("note"))),
        ))
    return found


_LATEX = [(r"\\url\{([^}]*)\}", r"\1"), (r"\\href\{([^}]*)\}\{[^}]*\}", r"\1"), (r"\\&", "&"), (r"\\%", "%"),
          (r"\\_", "_"), (r"\\#", "#"), (r"\\textendash\s*", "–"), (r"\\textemdash\s*", "—"), (r"--", "–")]


def _untex(value: str | None) -> str | None:
    if not value:
        return None
    for pattern, replacement in _LATEX:
        value = re.sub(pattern, replacement, value)
    return value.replace("{", "").replace("}", "").strip() or None


def bibtex(text: str) -> list:
    """BibTeX or BibLaTeX: `url` (or a \\url in `howpublished`/`note`), `title`, `publisher` /
    `organization` / `institution` / `journal`, `urldate` or an "Accessed ..." note."""
    import bibtexparser

    library = bibtexparser.parse_string(text)
    if not library.entries and library.failed_blocks:
        raise EvidenceError(f"not a BibTeX file: {len(library.failed_blocks)} entries could not be parsed")
    found = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        url = _untex(fields.get("url"))
        if not url:
            for name in ("howpublished", "note"):
                urls = find_urls(_untex(fields.get(name)) or "")
                if urls:
                    url = urls[0].url
                    break
        if not url:
            continue
        title = _untex(fields.get("title"))
        publisher = _untex(next((fields[n] for n in ("publisher", "organization", "institution", "journal",
                                                      "journaltitle", "howpublished") if fields.get(n)
                                 and "http" not in fields[n]), None))
        accessed = _date(fields.get("urldate")) or access_date(_untex(fields.get("note")) or "")
        found.append(_found(url, title=title, publisher=publisher, accessed=accessed, lang=fields.get("language")
                            or fields.get("langid"), note=_note("BibTeX", entry.key, title, publisher,
                                                                  _untex(fields.get("note")))))
    return found


def ris(text: str) -> list:
    """RIS (EndNote, Zotero, Mendeley): UR, TI/T1, PB (else T2/JO), Y2 (access date), LA, N1."""
    import rispy

    try:
        entries = rispy.loads(text)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise EvidenceError(f"not a RIS file: {exc}") from None
    found = []
    for entry in entries:
        urls = entry.get("urls") or []
        if isinstance(urls, str):
            urls = [urls]
        if not urls:
            continue
        title = entry.get("title") or entry.get("primary_title")
        publisher = entry.get("publisher") or entry.get("secondary_title") or entry.get("journal_name")
        notes = entry.get("notes")
        notes = "; ".join(notes) if isinstance(notes, list) else notes
        accessed = _date(entry.get("access_date")) or access_date(notes or "")
        for url in urls:
            found.append(_found(url.strip(), title=title, publisher=publisher, accessed=accessed,
                                lang=entry.get("language"),
                                note=_note("RIS", entry.get("id"), _clean(title), _clean(publisher), _clean(notes))))
    return found
