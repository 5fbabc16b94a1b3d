"""The main text of a captured page, for change detection and quote checks.

extract() turns a response body into an Extracted record: the article text without
navigation, sidebars, "most read" lists, footers, ads, comments and view counters (so that
only a change of the text itself counts as a change), the visible text of the whole page
(for recognising "not found" pages), title, publication date and a meta-refresh target.
HTML goes through trafilatura, PDFs through pypdf. It never raises: a failure is reported
in Extracted.error. It is a pure function of its arguments, so it can run in a process pool.
Both libraries are imported on first use (together some 45 MB): a capture pass extracts in
its pool's workers, and its main process never loads them.

normalise_text() makes two renderings of the same text compare equal where it can without
changing what a reader sees: markup, whitespace and a change of character encoding leave it
unchanged, while a changed word or number does not. The stored text keeps the page's own
characters (Chinese full-width punctuation ，：（）“” stays as it is, for diffs and the closest
passage of a quote check); fold_text() is the comparison key that also equates full-width and
half-width forms and curly and straight quotes (the verdict compares by it).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from archiver import limits
from archiver.decode import decode_body

LOGGER = logging.getLogger(__name__)

MAX_REFRESH_DELAY = 30
ENCRYPTED_PDF = "PDF is encrypted: its text cannot be read without a password"

HTML_TYPES = {"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"}
PDF_TYPES = {"application/pdf", "application/x-pdf", "application/acrobat"}
TEXT_TYPES = {"application/json", "application/xml", "application/javascript", "application/rss+xml",
              "application/atom+xml", "application/ld+json"}
SNIFFED_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/x-download",
                 "application/force-download", "application/unknown"}

# Elements whose text a reader never sees.
INVISIBLE = {"script", "style", "noscript", "template", "head", "title", "svg", "math", "object",
             "embed", "iframe", "select", "option", "datalist"}
# Page furniture left out of the fallback main text.
FURNITURE = INVISIBLE | {"nav", "header", "footer", "aside", "menu"}
BLOCK = {"address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd",
         "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
         "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
         "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
         "tfoot", "th", "thead", "tr", "ul", "html", "legend", "textarea"}
# Content inside a table cell that shows the table is page layout, not data.
LAYOUT_CELL_CONTENT = {"p", "div", "table", "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6",
                       "form", "iframe", "section", "article", "blockquote", "center"}
TABLE_PARTS = ("thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col")

_FALLBACK_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_REFRESH = re.compile(r"""^\s*(\d+)(?:\.\d*)?\s*(?:[;,]\s*|\s+)?(?:url\s*=\s*)?(.*)$""", re.I | re.S)

# --- normalisation ---------------------------------------------------------------------

# Zero-width characters, soft hyphens and control characters go; odd spaces become spaces.
_INVISIBLE_CHARS: dict[int, str | None] = {
    ord(ch): None for ch in "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"
}
_INVISIBLE_CHARS.update({code: None for code in range(0x20) if chr(code) not in "\t\n\r\v\f\x1c\x1d\x1e\x1f"})
_INVISIBLE_CHARS.update({0x7F: None, 0xA0: " ", 0x202F: " ", 0x2007: " "})
_QUOTES = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u301d": '"',
    "\u301e": '"', "\u301f": '"', "\u300c": '"', "\u300d": '"', "\ufe41": '"', "\ufe42": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u300e": "'",
    "\u300f": "'", "\ufe43": "'", "\ufe44": "'",
})
# Han, kana (without the combining sound marks), bopomofo and CJK punctuation: scripts
# written without spaces, where a space only reflects how the HTML source was wrapped.
_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3041-\u3096\u309d-\u30ff\u3100-\u312f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff60\U00020000-\U0003ffff"
)
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")


def normalise_text(text: str) -> str:
    """The text as a reader sees it, tidied: same text in, same text out.

    NFC (composed characters), zero-width characters and soft hyphens go, no-break spaces
    become spaces, whitespace between two Chinese/Japanese characters goes (it only reflects
    line-wrapping in the HTML source), other runs of whitespace become one space, lines are
    stripped and empty lines dropped. Case, width and punctuation are kept. Idempotent.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text.translate(_INVISIBLE_CHARS))
    lines = []
    for line in text.splitlines():
        line = " ".join(_CJK_GAP.sub("", line).split())
        if line:
            lines.append(line)
    return "\n".join(lines)


def fold_text(text: str) -> str:
    """The comparison key of a normalised text: NFKC (full-width letters, digits and punctuation
    become half-width) and curly and corner quotes become straight ones. Two pages that differ
    only in those read as the same page."""
    return unicodedata.normalize("NFKC", text).translate(_QUOTES)


# View counters and "last updated" stamps change on every visit without the text changing.
# Each pattern keeps its named group "keep" (the label) and drops the rest (the number).
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_EN_DATE = rf"(?:\d{{1,4}}[-/.]\d{{1,2}}[-/.]\d{{1,4}}|\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}})"
_EN_TIME = (r"(?:,?\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?"
            r"(?:\s*(?:GMT|UTC|BST|CET|CEST|EST|EDT|PST|PDT|HKT|CST|JST|KST|SGT)\b)?)?")
_COUNTER_LABELS = (
    "浏览次数|浏览量|浏览数|阅读次数|阅读量|阅读数|点击次数|点击数|点击量|点击率|访问次数|访问量|访问人次|"
    "查看次数|瀏覽次數|瀏覽人次|點閱次數|點閱數|點擊數|浏览|阅读|点击|人气|访问|瀏覽|點閱"
)
_VOLATILE = [
    re.compile(rf"(?P<keep>(?:{_COUNTER_LABELS})\s*[:：]\s*)[\[(【]?\s*\d[\d,]*\s*[\])】]?(?:\s*人?次)?"),
    re.compile(r"(?P<keep>浏览|阅读|点击|访问|瀏覽|點閱)\s*\d[\d,]*\s*次"),
    re.compile(r"(?P<keep>是第)\s*\d[\d,]*\s*位(?:访问者|访客|浏览者|訪客|瀏覽者)"),
    re.compile(r"(?P<keep>(?:更新时间|更新日期|最后更新|最近更新|修改时间|更新時間|最後更新)\s*[:：]?\s*)"
               r"\d{2,4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"),
    re.compile(r"\b\d[\d,.]*[kKmM]?\s+(?P<keep>views|page views|reads|hits|visits)\b", re.I),
    re.compile(r"\b(?P<keep>(?:views|page views|hits|reads|visits|viewed)\s*:\s*)\d[\d,]*", re.I),
    re.compile(r"\b(?P<keep>(?:last updated|last modified|updated)(?:\s+on|\s+at)?\s*:?\s*)" + _EN_DATE + _EN_TIME,
               re.I),
]


def _stable_text(raw: str) -> str:
    """normalise_text, then the numbers of view counters and "updated" stamps dropped
    (their labels stay). The patterns expect normalised text: half-width colons and digits."""
    text = normalise_text(raw)
    for pattern in _VOLATILE:
        text = pattern.sub(lambda match: match.group("keep").rstrip(), text)
    return normalise_text(text)


# --- result ---------------------------------------------------------------------------


@dataclass
class Extracted:
    """What extract() found in a response body.

    kind: "html", "pdf", "text" or "other". text: the main text, normalised, paragraphs
    separated by "\\n", with the numbers of view counters and "updated" stamps dropped.
    full_text: all visible text (the <title> first), normalised the same way.
    published: YYYY-MM-DD when found. meta_refresh: absolute target of a
    <meta http-equiv="refresh"> with a delay of at most 30 seconds. error: why extraction
    failed, or what it left out (a page read from a bounded prefix), in words a researcher
    understands; extract() never raises. error_kind: "extraction" when the page passed the
    worker's time or memory limit (archiver.limits), so the text is missing, not empty. tree: the
    page's parsed lxml tree, only when asked for (keep_tree) and never sent between processes (it
    does not pickle): the verdict looks up where texts sit in the page (archiver.layout).
    """

    kind: str
    text: str
    title: str | None = None
    published: str | None = None
    charset: str | None = None
    meta_refresh: str | None = None
    full_text: str = ""
    error: str | None = None
    error_kind: str | None = None
    tree: object = field(default=None, repr=False, compare=False)


def preload_fallback_stoplists() -> None:
    """Load the stop-word lists of trafilatura's last-resort extractor (justext) now.

    On a short or unusual page trafilatura falls back to justext with the stop words of every
    language it knows: about 150,000 words, 27 MB, loaded on first use in each process. Loaded
    once in the extraction pool's fork server instead, they are shared by all its workers.
    An optimisation only: if the libraries no longer work this way, nothing is loaded.
    """
    try:
        from justext.core import define_stoplist
        from trafilatura import external
    except ImportError:
        return
    init = getattr(external, "jt_stoplist_init", None)
    if callable(init):
        define_stoplist(getattr(external, "JT_STOPLIST", None) or init())


def extract(
    body: bytes, content_type: str | None, url: str, *, main_text: bool = True, keep_tree: bool = False
) -> Extracted:
    """Extract the main text, title, date and meta refresh of a response body.

    The kind is chosen from the Content-Type, with sniffing when it is missing or
    generic (and a body starting with %PDF- is always a PDF). Never raises.

    main_text=False leaves the main text of an HTML page empty, its date unknown and its title
    as the <title> element has it: for a page only compared as a whole with others (a site's
    not-found and home pages), whose visible text is all that is wanted; finding the main text
    and the metadata is three quarters of the cost of extracting a page.

    keep_tree=True keeps the parsed tree of an HTML page in Extracted.tree.
    """
    kind = _kind(body or b"", content_type)
    try:
        if kind == "html":
            return _extract_html(body, content_type, url, main_text, keep_tree)
        if kind == "pdf":
            return _extract_pdf(body)
        if kind == "text":
            body, note = bounded_markup(body, limits.current().html_bytes, set_aside=False)
            decoded = decode_body(body, content_type)
            text = normalise_text(decoded.text)
            return Extracted("text", text, charset=decoded.charset, full_text=text, error=note)
        return Extracted("other", "")
    except limits.PageTooCostly as exc:
        LOGGER.warning("%s: %s", url, exc.message)
        return Extracted(kind, "", error=exc.message, error_kind="extraction")
    except MemoryError:
        message = limits.memory_message()
        LOGGER.warning("%s: %s", url, message)
        return Extracted(kind, "", error=message, error_kind="extraction")
    except Exception as exc:  # noqa: BLE001 - one odd page must never stop a run
        LOGGER.exception("text extraction failed for %s", url)
        return Extracted(kind, "", error=f"could not extract text: {type(exc).__name__}: {exc}")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _kind(body: bytes, content_type: str | None) -> str:
    media = _media_type(content_type)
    start = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n\x0c")
    if media in PDF_TYPES or start.startswith(b"%PDF-"):
        return "pdf"
    if media in HTML_TYPES:
        return "html"
    if media.startswith("text/") or media in TEXT_TYPES or media.endswith(("+xml", "+json")):
        return "text"
    if media in SNIFFED_TYPES:
        lowered = start[:512].lower()
        if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or any(
            tag in lowered for tag in (b"<html", b"<head", b"<body", b"<title", b"<meta")
        ):
            return "html"
        if b"\x00" not in body[:1024] and body:
            return "text"
    return "other"


def visible_text(body: bytes, content_type: str | None) -> str:
    """All the text a reader sees on an HTML page (title first), normalised like Extracted.full_text;
    "" for other kinds, whose main text is all their text, and for a page that cannot be parsed.

    Quote checks look here for a quote the main text lacks. Made with lxml alone (no trafilatura),
    so the process that stores captures can call it for the few quotes that need it. Never raises.
    """
    try:
        if _kind(body or b"", content_type) != "html":
            return ""
        decoded = decode_body(body, content_type)
        markup = _XML_DECL.sub("", decoded.text, count=1)
        if not markup.strip():
            return ""
        tree = lxml.html.document_fromstring(markup, parser=_FALLBACK_PARSER)
        title = _clean_title(tree.findtext(".//title"))
        return _stable_text("\n".join(filter(None, [title, _visible_text(tree, INVISIBLE)])))
    except Exception:  # noqa: BLE001 - a quote check must never fail on an odd page
        LOGGER.exception("could not read the visible text of a page")
        return ""


# --- HTML -----------------------------------------------------------------------------


def _extract_html(
    body: bytes, content_type: str | None, url: str, main_text: bool = True, keep_tree: bool = False
) -> Extracted:
    body, note = bounded_markup(body, limits.current().html_bytes)
    decoded = decode_body(body, content_type)
    tree = _parse_html(decoded.text)
    if tree is None:
        return Extracted("html", "", charset=decoded.charset, error=note)

    page_title = _clean_title(tree.findtext(".//title"))
    full_text = _stable_text("\n".join(filter(None, [page_title, _visible_text(tree, INVISIBLE)])))
    refresh = _meta_refresh(tree, url)
    if not main_text:
        return Extracted("html", "", page_title, None, decoded.charset, refresh, full_text, note)

    _unwrap_layout_tables(tree)
    import trafilatura  # imported on first use: a pass extracts in its worker processes, not in the main one
    from trafilatura.settings import set_date_params

    document: Any = trafilatura.bare_extraction(
        tree,
        url=url or None,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        with_metadata=True,
        date_extraction_params=set_date_params(False),
    )
    text = _stable_text(document.text or "") if document is not None else ""
    if not text:
        text = _stable_text(_visible_text(tree, FURNITURE))
    title = _clean_title(document.title if document is not None else None) or page_title
    published = _publication_date(text, full_text, document.date if document is not None else None)
    return Extracted("html", text, title, published, decoded.charset, refresh, full_text, note,
                     tree=tree if keep_tree else None)


# Elements set aside before a page over the limit is cut: a reader never sees their content,
# and they make up most of the bytes of many large pages (inline scripts and styles, JSON).
_SET_ASIDE = re.compile(rb"<!--|<(script|style|svg|template)(?=[\s/>])", re.I)
_CLOSERS = {name: re.compile(rb"</" + name + rb"\s*>", re.I) for name in (b"script", b"style", b"svg", b"template")}
# Bytes a cut may fall just before: ASCII bytes that are never part of a GBK, GB18030, Big5,
# Shift_JIS or UTF-8 multi-byte character, so the prefix stays valid in the page's encoding.
_CUT_BEFORE = re.compile(rb"[<\s>]")
_CUT_SEARCH = 64 * 1024


def bounded_markup(body: bytes, limit: int, set_aside: bool = True) -> tuple[bytes, str | None]:
    """The part of a page the extractor reads, at most `limit` bytes, and a note saying what
    was left out (None when the page is within the limit).

    A larger HTML page first loses its scripts, styles, SVG, templates and comments (with
    `set_aside`); what is still over the limit is cut just before a tag or a space, so that no
    character is split. Linear in the size of the page, and stops reading once it has enough.
    """
    if len(body) <= limit:
        return body, None
    size = len(body)
    kept = body
    if set_aside:
        parts, length, pos = [], 0, 0
        while True:
            match = _SET_ASIDE.search(body, pos)
            stop = match.start() if match else size
            take = min(stop, pos + limit + 1 - length)
            parts.append(body[pos:take])
            length += take - pos
            if length > limit or match is None:
                pos = take
                break
            if match.group(1) is None:
                end = body.find(b"-->", match.end())
                pos = size if end < 0 else end + 3
            else:
                close = _CLOSERS[match.group(1).lower()].search(body, match.end())
                pos = size if close is None else close.end()
            if pos >= size:
                break
        kept = b"".join(parts)
        if len(kept) <= limit and pos >= size:
            return kept, (f"this page's {_size(size)} of HTML is {_size(len(kept))} without its scripts, styles "
                          "and comments; its text was extracted from that ([capture] extract_max_bytes)")
    cut = limit
    window = kept[max(0, limit - _CUT_SEARCH):limit]
    found = [m.start() for m in _CUT_BEFORE.finditer(window)]
    if found:
        cut = max(0, limit - _CUT_SEARCH) + found[-1]
    what = "HTML" if set_aside else "text"
    aside = " (scripts, styles and comments set aside)" if set_aside else ""
    return kept[:cut], (f"text extracted from the first {_size(limit)} of this page's {_size(size)} of {what}"
                        f"{aside}, to keep extraction bounded ([capture] extract_max_bytes)")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _parse_html(markup: str):
    """The lxml tree of a page, or None if there is no markup at all.

    The XML declaration goes first (lxml refuses a str that declares an encoding, and
    would otherwise re-read the bytes with it, undoing our charset decision). Fragments
    that trafilatura's loader rejects as "not HTML" (a bare "Not Found" body) are parsed
    as documents all the same.
    """
    from trafilatura.utils import load_html

    markup = _XML_DECL.sub("", markup, count=1)
    if not markup.strip():
        return None
    tree = load_html(markup)
    if tree is None:
        try:
            tree = lxml.html.document_fromstring(markup, parser=_FALLBACK_PARSER)
        except (etree.ParserError, ValueError):
            return None
    return tree


def _clean_title(title: str | None) -> str | None:
    if not title:
        return None
    return " ".join(title.split()) or None


def _visible_text(root, skip: set[str]) -> str:
    """The text a reader sees, one line per block element; skip lists the element
    names whose content is left out. Works on the lxml tree already parsed."""
    parts: list[str] = []

    def walk(element) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is not None and tag not in skip:
            block = tag in BLOCK
            if block:
                parts.append("\n")
            if element.text:
                parts.append(element.text)
            for child in element:
                walk(child)
            if block:
                parts.append("\n")
        if element.tail:
            parts.append(element.tail)

    body = root.find(".//body")
    walk(body if body is not None else root)
    return "".join(parts)


def _unwrap_layout_tables(tree) -> None:
    """Turn tables used for page layout into plain blocks.

    Older Chinese government sites lay out the whole page (banner, menu, sidebar,
    article, footer) in nested tables; trafilatura would keep such a table whole as if it
    were data. A table is layout when it nests another table, a cell holds paragraphs or
    other blocks, or no row has two cells. Real data tables are left alone.
    """
    for table in reversed(list(tree.iter("table"))):
        parts = [el for el in table.iterdescendants(*TABLE_PARTS) if _owner_table(el) is table]
        cells = [el for el in parts if el.tag in ("td", "th")]
        rows = [el for el in parts if el.tag == "tr"]
        nested = any(True for _ in table.iterdescendants("table"))
        blocks = any(child.tag in LAYOUT_CELL_CONTENT for cell in cells for child in cell.iterdescendants())
        single_column = all(sum(1 for c in row if c.tag in ("td", "th")) < 2 for row in rows)
        if nested or blocks or single_column or table.get("role") == "presentation":
            for element in [table, *parts]:
                element.tag = "div"
                for attribute in ("colspan", "rowspan"):
                    element.attrib.pop(attribute, None)


def _owner_table(element):
    for ancestor in element.iterancestors():
        if ancestor.tag == "table":
            return ancestor
    return None


def _meta_refresh(tree, url: str) -> str | None:
    """Absolute target of <meta http-equiv="refresh" content="N; url=..."> when N <= 30."""
    for meta in tree.iter("meta"):
        if (meta.get("http-equiv") or "").strip().lower() != "refresh":
            continue
        match = _REFRESH.match(meta.get("content") or "")
        if not match or int(match.group(1)) > MAX_REFRESH_DELAY:
            continue
        target = match.group(2).strip().strip("'\"").strip()
        if target:
            return urljoin(url, target)
    return None


# Publication dates as Chinese pages label them ("发布时间：2023-11-08 09:30"). trafilatura's
# "extensive" date search is off: it turns "2022年06月15日" into 2022-01-01. A bare
# 时间/日期 counts only when it is not the end of a longer label such as 更新时间 or 会议时间.
_DATE_VALUE = r"\s*[:：]\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})"
_LABELLED_DATES = (
    re.compile(r"(?:发布|发表|发稿|公开|印发|刊发|发文|成文|發佈|發布|發表|刊登|公告)(?:时间|日期|時間)" + _DATE_VALUE),
    re.compile(r"(?<![\u3400-\u9fff])(?:时间|日期|時間)" + _DATE_VALUE),
)


def _labelled_date(text: str, pattern: re.Pattern) -> str | None:
    for match in pattern.finditer(text):
        year, month, day = (int(g) for g in match.groups())
        if 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def _publication_date(text: str, full_text: str, found_by_trafilatura: str | None) -> str | None:
    """An explicit 发布时间-style label wins (trafilatura may take an "updated" or meeting
    date next to it), then trafilatura's date, then a bare 时间/日期 label."""
    specific, generic = _LABELLED_DATES
    return (
        _labelled_date(text, specific)
        or _labelled_date(full_text, specific)
        or found_by_trafilatura
        or _labelled_date(text, generic)
        or _labelled_date(full_text, generic)
    )


# --- PDF ------------------------------------------------------------------------------


def _extract_pdf(body: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            try:
                unlocked = bool(reader.decrypt(""))
            except DependencyError:
                unlocked = False
            if not unlocked:
                return Extracted("pdf", "", error=ENCRYPTED_PDF)
        title = _clean_title(reader.metadata.title) if reader.metadata else None
        pages = list(reader.pages)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds of errors on damaged files
        reason = str(exc) or type(exc).__name__
        return Extracted("pdf", "", error=f"could not parse PDF (damaged or incomplete file): {reason}")

    texts, failed = [], []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # noqa: BLE001 - one damaged page must not lose the others
            failed.append(number)
    text = normalise_text("\n".join(texts))
    error = None
    if failed:
        error = f"could not read the text of PDF page(s) {', '.join(map(str, failed))} of {len(pages)}"
    elif not text and pages:
        error = "PDF has no text layer (probably scanned images)"
    return Extracted("pdf", text, title, None, None, None, text, error)
