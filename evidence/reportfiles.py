"""Report files as text: PDF (pypdf), DOCX (python-docx), HTML (Beautiful Soup), Markdown and
plain text, each turned into a body and its endnote list for evidence.citetext to read.

What each format gives exactly, it passes on exactly: a DOCX footnote or endnote reference and
an HTML link to a note become MARK tokens in the body; hyperlinks (DOCX relationships, HTML
`href`, PDF link annotations) are kept with their note. A hyperlink in the body whose text is
not its URL is written after its text as `<URL>`, so a URL cited in running text is found with
its sentence like a printed one. PDF text is read page by page; its lines are wrapped, so URLs
broken across lines are joined again (`wrapped`).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from evidence import EvidenceError
from evidence.citetext import MARK, MARK_RE, Note, find_urls, looks_wrapped, split_notes

REPORT_KINDS = ("pdf", "docx", "html", "text")


@dataclass
class ReportText:
    """A report's body (MARK tokens where the format marks notes exactly) and its notes."""

    kind: str
    body: str
    notes: list[Note] = field(default_factory=list)
    wrapped: bool = False
    exact_marks: bool = False


def kind_of(path: Path, data: bytes) -> str:
    """The report kind from the file's first bytes, else its name."""
    suffix = path.suffix.lower()
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK") and suffix in (".docx", ".docm", ""):
        return "docx"
    head = data[:2048].lstrip().lower()
    if suffix in (".html", ".htm", ".xhtml") or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if suffix in (".docx",):
        raise EvidenceError(f"{path.name} is not a DOCX file (it is not a ZIP package)")
    if suffix == ".pdf":
        raise EvidenceError(f"{path.name} is not a PDF file (it does not start with %PDF)")
    if suffix in (".doc",):
        raise EvidenceError(f"{path.name} is an old Word .doc file: save it as .docx or PDF first")
    return "text"


def read_report(path: str | Path) -> ReportText:
    """Read a report file of any supported kind; EvidenceError when it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"cannot read {path}: {exc.strerror or exc}") from None
    kind = kind_of(path, data)
    reader = {"pdf": read_pdf, "docx": read_docx, "html": read_html, "text": read_text}[kind]
    return reader(data)


def decode_text(data: bytes) -> str:
    """Text of a plain-text file: UTF-8 (with or without BOM, or UTF-16 with one), else detected
    (GB18030, Big5 ...)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise EvidenceError("cannot tell the file's character encoding; save it as UTF-8")
    name = "gb18030" if best.encoding in ("gbk", "gb2312") else best.encoding
    return data.decode(name, "replace")


def read_text(data: bytes) -> ReportText:
    """Markdown or plain text: footnote definitions or an endnote list; marks found by shape."""
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    body, notes = split_notes(text)
    return ReportText("text", body, notes, wrapped=looks_wrapped(text), exact_marks="⟦" in body)


# --- PDF ---------------------------------------------------------------------------------------


def read_pdf(data: bytes) -> ReportText:
    """Text of every page (pypdf), the endnote list found in it, and the targets of link
    annotations attached to the note whose line they sit on."""
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise EvidenceError("the PDF is encrypted with a password") from None
        pages = []
        links = []
        for page in reader.pages:
            lines: list[tuple[float, float, str]] = []
            text = page.extract_text(visitor_text=_line_collector(lines)) or ""
            pages.append(_tidy_pdf_text(text))
            links.extend(_page_links(page, lines))
    except EvidenceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise EvidenceError(f"cannot read the PDF: {exc}") from None
    text = "\n\f\n".join(pages)
    body, notes = split_notes(text)
    _attach_links(notes, links)
    return ReportText("pdf", body, notes, wrapped=True)


def _tidy_pdf_text(text: str) -> str:
    text = text.replace("\u00ad", "").replace("\x00", "")
    return re.sub(r"[ \t\u00a0]{2,}", " ", text)


def _line_collector(lines: list):
    def visit(text, cm, tm, font_dict, font_size):
        if text and text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            lines.append((x, y, text))
    return visit


def _page_links(page, lines: list[tuple[float, float, str]]) -> list[tuple[str, str]]:
    """(URI, text of the line the link sits on) for each URI link annotation of the page."""
    found = []
    for annotation in page.get("/Annots") or []:
        try:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            action = action.get_object() if action is not None else None
            uri = action.get("/URI") if action is not None else None
            if not uri or annotation.get("/Subtype") != "/Link":
                continue
            x0, y0, x1, y1 = (float(v) for v in annotation.get("/Rect"))
        except (AttributeError, TypeError, ValueError):
            continue
        low, high = min(y0, y1) - 2, max(y0, y1) + 2
        on_line = sorted((x, t) for x, y, t in lines if low <= y <= high)
        found.append((str(uri), re.sub(r"\s+", " ", "".join(t for _, t in on_line)).strip()))
    return found


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _attach_links(notes: list[Note], links: list[tuple[str, str]]) -> None:
    """Give each link annotation to the note that holds the text of its line."""
    squashed = [_squash(note.text) for note in notes]
    for uri, line in links:
        key = _squash(line)
        if not key:
            continue
        for note, text in zip(notes, squashed):
            if key in text or (len(key) > 12 and key[-40:] in text):
                if uri not in note.links:
                    note.links.append(uri)
                break


# --- DOCX --------------------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def read_docx(data: bytes) -> ReportText:
    """The document's paragraphs with footnote and endnote references as MARK tokens, and the
    footnotes and endnotes (word/footnotes.xml, word/endnotes.xml) with their hyperlinks."""
    import io

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise EvidenceError(f"cannot read the DOCX file: {exc}") from None
    main = document.part
    parts = {kind: _related_part(main, kind) for kind in ("footnotes", "endnotes")}
    order: dict[tuple[str, str], str] = {}
    counters = {"footnotes": 0, "endnotes": 0}
    both = all(parts.values())

    def reference(kind: str, note_id: str) -> str:
        key = (kind, note_id)
        if key not in order:
            counters[kind] += 1
            order[key] = ("e" if kind == "endnotes" and both else "") + str(counters[kind])
        return MARK.format(order[key])

    body = _docx_text(main.element.body, main, reference)
    notes: list[Note] = []
    for kind, part in parts.items():
        if part is None:
            continue
        from lxml import etree

        root = etree.fromstring(part.blob)
        tag = "footnote" if kind == "footnotes" else "endnote"
        by_id = {}
        for element in root.iter(W + tag):
            if element.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            by_id[element.get(W + "id")] = element
        for (ref_kind, note_id), number in sorted(order.items(), key=lambda item: _natural(item[1])):
            if ref_kind != kind or note_id not in by_id:
                continue
            links: list[str] = []
            text = _docx_text(by_id[note_id], part, None, links)
            notes.append(Note(number, text.strip(), links))
    return ReportText("docx", body, notes, wrapped=False, exact_marks=True)


def _natural(number: str) -> tuple:
    return (number.startswith("e"), int(number.lstrip("e")))


def _related_part(main, kind: str):
    for rel in main.rels.values():
        if not rel.is_external and rel.reltype.endswith("/" + kind):
            return rel.target_part
    return None


def _docx_text(root, part, reference, links: list[str] | None = None) -> str:
    """Text of the paragraphs under `root`: runs, tabs, breaks, references as MARK tokens, and a
    hyperlink's target after its text (in notes: collected in `links` too)."""
    paragraphs = []
    for paragraph in root.iter(W + "p"):
        pieces: list[str] = []
        _walk_runs(paragraph, part, reference, links, pieces)
        paragraphs.append("".join(pieces))
    return "\n".join(paragraphs)


def _hyperlink_target(element, part) -> str | None:
    rid = element.get(R_ID)
    if rid and rid in part.rels and part.rels[rid].is_external:
        return part.rels[rid].target_ref
    return None


def _walk_runs(element, part, reference, links, pieces: list[str]) -> None:
    field_code: list[str] = []
    for child in element:
        tag = child.tag
        if tag == W + "hyperlink":
            start = len(pieces)
            _walk_runs(child, part, reference, links, pieces)
            target = _hyperlink_target(child, part)
            if target:
                _add_link(target, "".join(pieces[start:]), links, pieces)
        elif tag == W + "r":
            for node in child:
                if node.tag == W + "t":
                    pieces.append(node.text or "")
                elif node.tag == W + "tab":
                    pieces.append("\t")
                elif node.tag in (W + "br", W + "cr"):
                    pieces.append("\n")
                elif node.tag == W + "instrText":
                    field_code.append(node.text or "")
                elif node.tag == W + "fldChar" and node.get(W + "fldCharType") == "end" and field_code:
                    code = "".join(field_code)
                    field_code = []
                    found = re.search(r'HYPERLINK\s+"([^"]+)"', code)
                    if found:
                        _add_link(found.group(1), "", links, pieces)
                elif node.tag in (W + "footnoteReference", W + "endnoteReference") and reference is not None:
                    kind = "footnotes" if node.tag == W + "footnoteReference" else "endnotes"
                    pieces.append(reference(kind, node.get(W + "id")))
        elif tag in (W + "smartTag", W + "ins", W + "sdt", W + "sdtContent", W + "fldSimple"):
            if tag == W + "fldSimple":
                found = re.search(r'HYPERLINK\s+"([^"]+)"', child.get(W + "instr") or "")
                start = len(pieces)
                _walk_runs(child, part, reference, links, pieces)
                if found:
                    _add_link(found.group(1), "".join(pieces[start:]), links, pieces)
            else:
                _walk_runs(child, part, reference, links, pieces)


def _add_link(target: str, anchor: str, links: list[str] | None, pieces: list[str]) -> None:
    if not re.match(r"(?:https?://|www\.)", target, re.I):
        return
    if links is not None:
        if target not in links:
            links.append(target)
        return
    if target not in anchor:
        pieces.append(f" <{target}>")


# --- HTML --------------------------------------------------------------------------------------

_NOTE_ID = re.compile(r"(?:^|[_\-:])(?:fn|ftn|edn|footnote|endnote|note|cite_note|ref|en)[_\-:]?(\d+)", re.I)


def read_html(data: bytes) -> ReportText:
    """An HTML report: links to notes on the same page (`<a href="#fn12">12</a>`, often in
    `<sup>`) are marks, their targets the notes; without such links, an ordered list after a
    "Notes" heading is the note list. Navigation, headers, footers, scripts are left out."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for element in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "form"]):
        element.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    notes_by_target: dict[int, Note] = {}
    notes: list[Note] = []
    holders: list = []  # the element holding each note, in the order of `notes`
    for anchor in root.find_all("a", href=True):
        href = str(anchor["href"])
        if not href.startswith("#") or len(href) < 2:
            continue
        label = anchor.get_text(" ", strip=True).strip("[]()^ ")
        if not re.fullmatch(r"\d{1,4}|[ivxlc]{1,6}|\*{1,3}|[a-z]", label):
            continue
        target = soup.find(id=href[1:]) or soup.find("a", attrs={"name": href[1:]})
        if target is None:
            continue
        blocks = ("li", "p", "div", "aside", "section", "dd")
        holder = target if target.name in blocks else target.find_parent(["li", "p", "div", "dd"])
        if holder is None or holder is anchor or anchor in holder.parents or holder in anchor.parents:
            continue
        if id(holder) not in notes_by_target:
            note = Note(label, "")
            notes_by_target[id(holder)] = note
            notes.append(note)
            holders.append(holder)
        anchor.replace_with(soup.new_string(MARK.format(notes_by_target[id(holder)].number)))
    for note, holder in zip(notes, holders):
        for back in holder.find_all("a", href=True):
            if back["href"].startswith("#"):
                back.decompose()
        note.links = [a["href"] for a in holder.find_all("a", href=True)
                      if re.match(r"(?:https?://|www\.)", a["href"], re.I)]
        text = MARK_RE.sub("", _html_text(holder, links_inline=False)).strip()
        lead = re.match(r"\[?(\w{1,4})[.)\]]?\s+", text)
        note.text = text[lead.end():] if lead and lead.group(1) == note.number else text
        holder.decompose()
    if not notes:
        return _html_by_heading(soup, root)
    body = _html_text(root, links_inline=True)
    return ReportText("html", body, notes, wrapped=False, exact_marks=True)


def _html_by_heading(soup, root) -> ReportText:
    from evidence.citetext import NOTE_HEADING

    notes: list[Note] = []
    for heading in root.find_all(re.compile(r"^h[1-6]$|^p$|^strong$")):
        if not NOTE_HEADING.match(heading.get_text(" ", strip=True)):
            continue
        listing = heading.find_next("ol")
        if listing is None:
            continue
        start = int(listing.get("start", "1")) if str(listing.get("start", "1")).isdigit() else 1
        notes = []
        for offset, item in enumerate(listing.find_all("li", recursive=False)):
            links = [a["href"] for a in item.find_all("a", href=True) if re.match(r"(?:https?://|www\.)", a["href"], re.I)]
            notes.append(Note(str(start + offset), _html_text(item, links_inline=False), links))
        listing.decompose()
        heading.decompose()
        break
    body = _html_text(root, links_inline=True)
    if not notes:
        body, notes = split_notes(body)
    return ReportText("html", body, notes, wrapped=False)


_BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "section", "article",
           "dd", "dt", "figcaption", "pre", "ol", "ul", "table", "aside", "main"}


def _html_text(element, *, links_inline: bool) -> str:
    """Visible text with a blank line between blocks; with links_inline, an outside link whose
    text is not its URL is written after its text as <URL>."""
    from bs4 import NavigableString, Tag

    out: list[str] = []

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if child.__class__.__name__ in ("Comment", "Doctype", "Declaration", "ProcessingInstruction"):
                    continue
                out.append(re.sub(r"\s+", " ", str(child)))
            elif isinstance(child, Tag):
                if child.name == "br":
                    out.append("\n")
                    continue
                block = child.name in _BLOCKS
                if block:
                    out.append("\n\n")
                walk(child)
                if links_inline and child.name == "a":
                    href = str(child.get("href") or "")
                    if href.lower().startswith(("http://", "https://")) and href not in child.get_text():
                        out.append(f" <{href}>")
                if block:
                    out.append("\n\n")

    walk(element)
    text = "".join(out)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def urls_of_note(note: Note, wrapped: bool) -> list[str]:
    """The URLs a note cites: those printed in its text, then its hyperlinks not printed."""
    printed = [found.url for found in find_urls(note.text, wrapped=wrapped)]
    seen = {_comparable(u) for u in printed}
    urls = list(printed)
    for link in note.links:
        if _comparable(link) not in seen and not any(_comparable(link).startswith(s) for s in seen if len(s) > 20):
            urls.append(link)
            seen.add(_comparable(link))
    return list(dict.fromkeys(urls))


def _comparable(url: str) -> str:
    return re.sub(r"^https?://", "", url.strip().rstrip("/"), flags=re.I).lower()
