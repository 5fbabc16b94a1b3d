"""Reading citations out of report text: URLs, endnote lists, access dates, titles, publishers,
and the sentence that carries each endnote mark.

Works on plain text, the common ground of every report format (evidence.reportfiles turns PDF,
DOCX, HTML and Markdown into text). Endnote marks that the format gives exactly (a DOCX footnote
reference, an HTML link to a note, a Markdown `[^12]`) arrive in the text as MARK tokens,
`⟦12⟧`; in text extracted from a PDF or typed by hand they are found by their shape (`[12]`,
a superscript, digits glued to the end of a word or sentence) and their order (1, 2, 3 ...).

URLs are taken as printed, with the damage reports do to them repaired: a URL broken across
lines by a PDF's line wrapping (`wrapped=True`) is joined again when the next line continues it;
a URL in angle brackets may hold line breaks and spaces, which are dropped; trailing
punctuation (ASCII or full-width) and unbalanced closing brackets are not part of it; a
full-width character ends it (`（https://...）`, `网址：https://...。`), while Chinese words right
after a `/` or `=` stay (an unencoded Chinese path).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

MARK = "⟦{}⟧"
MARK_RE = re.compile(r"⟦([^⟦⟧]{1,16})⟧")

# ASCII characters a URL may hold (RFC 3986 unreserved, reserved and '%').
_URL_ASCII = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
_URL_START = re.compile(r"(?<![\w@/.])(?:https?://|www\.)", re.I)
_ANGLED = re.compile(r"<\s*((?:https?://|www\.)[^<>]{3,2000}?)\s*>", re.I)
_TRAILING = set(".,;:!?'\"*")
_UNFINISHED = set("/-_?=&%#~+@")
# Words that, at the start of the line after a URL, are note text and not the rest of the URL.
_PROSE = set("""
a about accessed according after also an and archived are as at available between but by cited
consulted date downloaded et for from he here in is it its last may no not of on online or original
originally page pdf posted published retrieved see she since the their they this to updated via
viewed was website were which who with
""".split())
_NOTE_START = re.compile(r"^\s*(?:\[(\d{1,4})\]|(\d{1,4})(?:[.)、:]|(?=\s)))\s*(?=\S)")


@dataclass
class FoundURL:
    """A URL as printed in the text (joined again when it was wrapped), and where it was."""

    url: str
    start: int
    end: int


def _cjk_letter(ch: str) -> bool:
    return ord(ch) > 0x2E7F and unicodedata.category(ch).startswith(("L", "N"))


def _is_url_char(ch: str) -> bool:
    return ch in _URL_ASCII


def _line_continues(url: str, next_line: str) -> bool:
    """Whether a URL cut at a line end goes on at the start of `next_line` (PDF line wrapping)."""
    line = next_line.lstrip(" \t")
    if not line or not _is_url_char(line[0]):
        return False
    if _NOTE_START.match(line) or MARK_RE.match(line) or re.fullmatch(r"\d{1,4}\s*", line):
        return False  # the next note, or a page number alone on its line
    last = url[-1]
    if line[0] in "([<'\"" and not (last in _UNFINISHED and re.match(r"\([^\s()]*\)", line)):
        return False
    start = re.match(r"[^\s]*", line)
    token = start.group(0) if start else ""
    core = _take_while(token, _is_url_char).rstrip(".,;:)]'\"") if token[0] != "(" else _take_while(token, _is_url_char)
    if not core:
        return False
    if re.match(r"https?://", core, re.I) or (re.match(r"www\.", core, re.I) and not url.endswith("://")):
        return False
    structural = re.search(r"[/?=&%._#~-]", core)
    if last in _UNFINISHED:
        return True
    if last == ".":
        return core[0].islower() or core[0].isdigit() or bool(structural and not re.fullmatch(r"[A-Z][a-z]+", core))
    if structural:
        return core.lower() not in _PROSE
    if core.lower() in _PROSE:
        return False
    if re.fullmatch(r"[A-Z][a-z]{2,}", core):
        return False
    return True


def _take_while(text: str, predicate) -> str:
    out = []
    for ch in text:
        if not predicate(ch):
            break
        out.append(ch)
    return "".join(out)


def _trim(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        elif last == "]" and url.count("[") < url.count("]"):
            url = url[:-1]
        else:
            break
    return url


def _scan_url(text: str, start: int, wrapped: bool) -> tuple[str, int]:
    """The URL starting at `start` and the index just after it."""
    pieces: list[str] = []
    i = start
    n = len(text)
    current = []
    while i < n:
        ch = text[i]
        if _is_url_char(ch):
            current.append(ch)
            i += 1
            continue
        if _cjk_letter(ch) and current and current[-1] in "/=":
            while i < n and _cjk_letter(text[i]):
                current.append(text[i])
                i += 1
            continue
        if ch == "\n" and wrapped and current:
            so_far = "".join(pieces) + "".join(current)
            rest_end = text.find("\n", i + 1)
            next_line = text[i + 1: rest_end if rest_end >= 0 else n]
            if _line_continues(so_far, next_line):
                pieces.append("".join(current))
                current = []
                i += 1
                while i < n and text[i] in " \t":
                    i += 1
                continue
        break
    pieces.append("".join(current))
    raw = "".join(pieces)
    url = _trim(raw)
    return url, start + _span_length(text, start, len(url))


def _span_length(text: str, start: int, length: int) -> int:
    """How many characters of `text` from `start` hold `length` URL characters (line breaks
    and indentation of a wrapped URL included)."""
    seen = i = 0
    while seen < length and start + i < len(text):
        if text[start + i] not in "\n \t":
            seen += 1
        i += 1
    return i


def find_urls(text: str, *, wrapped: bool = False) -> list[FoundURL]:
    """Every http(s) or www. URL in `text`, in order; see the module notes for what is repaired."""
    found: list[FoundURL] = []
    taken: list[tuple[int, int]] = []
    for match in _ANGLED.finditer(text):
        url = re.sub(r"\s+", "", match.group(1))
        url = _trim(url)
        if _plausible(url):
            found.append(FoundURL(url, match.start(), match.end()))
            taken.append((match.start(), match.end()))
    for match in _URL_START.finditer(text):
        start = match.start()
        if any(a <= start < b for a, b in taken):
            continue
        url, end = _scan_url(text, start, wrapped)
        if _plausible(url):
            found.append(FoundURL(url, start, end))
            taken.append((start, end))
    found.sort(key=lambda f: f.start)
    return found


def _plausible(url: str) -> bool:
    host = re.sub(r"^(?:https?://)", "", url, flags=re.I).split("/", 1)[0]
    return "." in host and len(host) > 3 and not host.endswith(".")


def with_scheme(url: str) -> str:
    """`www.example.com/x` as `http://www.example.com/x`; other URLs unchanged."""
    return url if re.match(r"https?://", url, re.I) else "http://" + url


# --- access dates ----------------------------------------------------------------------------

_MONTHS = {name: i + 1 for i, names in enumerate((
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
    "august aug", "september sep sept", "october oct", "november nov", "december dec",
)) for name in names.split()}
_MONTH = (r"(january|february|march|april|may|june|july|august|september|october|november|december"
          r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?")
_EN_LABEL = r"(?:last\s+)?(?:accessed|retrieved|viewed|consulted|visited|downloaded|checked|access\s+date)(?:\s+on)?\s*:?\s*"
_ZH_LABEL = r"(?:访问|訪問|浏览|瀏覽|检索|檢索|引用|查阅|查閱|获取|獲取|登录|登錄|下载|下載)(?:日期|时间|時間|于|於)?\s*[：:]?\s*"
_DATE_FORMS = (
    # 12 March 2019, 12 Mar. 2019
    (re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})", re.I), ("d", "m", "y")),
    # March 12, 2019
    (re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I), ("m", "d", "y")),
    # 2019-03-12, 2019/3/12, 2019.3.12
    (re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})"), ("y", "m", "d")),
    # 2019年3月12日
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?"), ("y", "m", "d")),
    # March 2019, 2019年3月
    (re.compile(_MONTH + r",?\s+(\d{4})", re.I), ("m", "y")),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月"), ("y", "m")),
)
_LABELLED = re.compile(f"(?:{_EN_LABEL}|{_ZH_LABEL})", re.I)
# GB/T 7714: "[EB/OL]. (2019-03-01)[2019-03-12]. URL": the bracketed date after the
# publication date is the date the page was cited (accessed).
_GBT = re.compile(r"\((\d{4}-\d{1,2}-\d{1,2})\)\s*\[(\d{4}-\d{1,2}-\d{1,2})\]")


def _date_at(text: str) -> tuple[str | None, int]:
    """The date at the start of `text` (after the label), as ISO text, and its length."""
    best = None
    for pattern, order in _DATE_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        parts = dict(zip(order, match.groups()))
        named = parts["m"]
        month = _MONTHS.get(named.lower().rstrip(".")) if not named.isdigit() else int(named)
        if month is None:
            continue
        try:
            year = int(parts["y"])
            if "d" in parts:
                iso = date(year, month, int(parts["d"])).isoformat()
            else:
                iso = date(year, month, 1).isoformat()[:7]
        except (TypeError, ValueError):
            continue
        if best is None or len(match.group(0)) > best[1]:
            best = (iso, len(match.group(0)))
    return best if best else (None, 0)


def access_date(note: str) -> str | None:
    """The date a note says its source was accessed, as YYYY-MM-DD (or YYYY-MM), else None.

    English ("accessed 12 March 2019", "retrieved March 12, 2019", "viewed 2019-03-12") and
    Chinese ("访问日期：2019年3月12日", "浏览时间 2019-03-12", GB/T 7714 "(2019-03-01)[2019-03-12]").
    Only a labelled date counts: a note's publication date is not an access date."""
    text = re.sub(r"\s+", " ", note)
    for match in _LABELLED.finditer(text):
        iso, _ = _date_at(text[match.end():])
        if iso:
            return iso
    gbt = _GBT.search(text)
    if gbt:
        iso, _ = _date_at(gbt.group(2))
        return iso
    return None


# --- titles and publishers ---------------------------------------------------------------------

_QUOTED = re.compile(r"“([^”]{3,300})”|‘((?:[^’]|’(?=\w)){3,300})’|\"([^\"]{3,300})\""
                     r"|《([^》]{1,200})》|「([^」]{1,200})」|『([^』]{1,200})』")
_DATEISH = re.compile(r"\d{4}|\b(?:" + _MONTH[1:-4] + r")\b|\d\s*[年月日]", re.I)


def title_and_publisher(note: str, urls: list[str] | None = None) -> tuple[str | None, str | None]:
    """The title of a cited work when the note quotes it (“...”, ‘...’, "...", 《...》, 「...」),
    and its publisher: the short segment after the title (ASPI and Chicago styles: 'Author,
    “Title”, Publisher, date'), or in a Chinese note the one before it ('新华社：《标题》')."""
    text = re.sub(r"\s+", " ", note)
    for url in urls or []:
        text = text.replace(url, " ")
    match = _QUOTED.search(text)
    if not match:
        return None, None
    title = next(g for g in match.groups() if g).strip().rstrip(",，.;")
    after = text[match.end():].lstrip(" ,，.;:：")
    segment = re.split(r"[,，;；]|\s\(|（|\. ", after, maxsplit=1)[0].strip().rstrip(".。")
    publisher = segment if _publisher_like(segment) else None
    if publisher is None and match.group(4):
        before = re.split(r"[,，;；。]", text[:match.start()])[-1].strip().rstrip("：:").strip()
        publisher = before if _publisher_like(before) else None
    return title, publisher


def _publisher_like(segment: str) -> bool:
    if not segment or len(segment) > 80 or _DATEISH.search(segment) or "http" in segment or "www." in segment:
        return False
    if re.match(r"(?:online|accessed|retrieved|viewed|available|in|see|p\.|pp\.|vol\.|no\.)\b", segment, re.I):
        return False
    if re.search(r"[访訪]问|浏览|引用|检索", segment):
        return False
    return bool(re.search(r"\w", segment))


def guess_lang(text: str) -> str | None:
    """'zh' when the text is mostly Chinese characters, else None (unknown: not guessed)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    han = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")
    return "zh" if han >= max(4, len(letters) * 0.3) else None


# --- endnote lists -----------------------------------------------------------------------------

NOTE_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\d+\.?\s+)?(?:notes|endnotes|footnotes|references|sources|bibliography|works cited|"
    r"citations|注释|註釋|注解|註解|尾注|脚注|腳註|参考文献|參考文獻|参考资料|參考資料|资料来源|資料來源|引用)\s*[:：]?\s*$",
    re.I,
)


@dataclass
class Note:
    """One endnote: its number as printed, its text, and hyperlink targets the format gave
    (an HTML or DOCX link, a PDF link annotation) besides the URLs printed in its text."""

    number: str
    text: str
    links: list[str] = field(default_factory=list)


def _note_start(line: str) -> tuple[int, str] | None:
    match = _NOTE_START.match(line)
    if not match:
        return None
    number = int(match.group(1) or match.group(2))
    return number, line[match.end():]


def split_notes(text: str) -> tuple[str, list[Note]]:
    """The body of a plain-text report and its endnote list.

    Markdown footnote definitions (`[^12]: text`) are taken wherever they are. Otherwise the
    list is found after the last "Notes" / "Endnotes" / "References" / "注释" / "参考文献" heading
    that is followed by note 1, or else as the longest run of lines numbered 1, 2, 3 ... (a
    line starting "N " or "N." or "[N]", N one more than the last, a skipped number or two
    allowed); lines that start no note continue the one before."""
    md = _markdown_notes(text)
    if md is not None:
        return md
    lines = text.split("\n")
    heading_at = None
    for index, line in enumerate(lines):
        if NOTE_HEADING.match(line) and _first_numbered(lines, index + 1) is not None:
            heading_at = index
    if heading_at is not None:
        start = _first_numbered(lines, heading_at + 1)
        notes, _ = _collect(lines, start or 0)
        return "\n".join(lines[:heading_at]), notes
    if "\f" in text:
        paged = _page_footnotes(text)
        if paged is not None:
            return paged
    best: tuple[int, int, list[Note], int] | None = None
    for index, line in enumerate(lines):
        begun = _note_start(line)
        if begun and begun[0] == 1:
            notes, end = _collect(lines, index)
            if len(notes) >= 2 and (best is None or len(notes) >= len(best[2])):
                best = (index, end, notes, end)
    if best is None:
        return text, []
    index, end, notes, _ = best
    return "\n".join(lines[:index] + lines[end:]), notes


def _page_footnotes(text: str) -> tuple[str, list[Note]] | None:
    """Footnotes at the foot of each page of a PDF's text (pages separated by form feeds): on
    each page, the lines from the first one that starts the next note number, whose mark is in
    the page's text above it, to the end of the page. None unless notes are found on at least
    two pages (then the text has an endnote list, or no notes)."""
    bodies: list[str] = []
    notes: list[Note] = []
    pages_with_notes = 0
    expected = 1
    for page in text.split("\f"):
        lines = page.split("\n")
        start = None
        for index, line in enumerate(lines):
            begun = _note_start(line)
            if begun and begun[0] == expected and _find_mark("\n".join(lines[:index]), str(expected), 0, False):
                start = index
                break
        if start is None:
            bodies.append(page)
            continue
        pages_with_notes += 1
        bodies.append("\n".join(lines[:start]))
        for line in lines[start:]:
            if re.fullmatch(r"\s*\d{1,4}\s*", line):
                continue  # the page number
            begun = _note_start(line)
            if begun and expected <= begun[0] <= expected + 2:
                notes.append(Note(str(begun[0]), begun[1]))
                expected = begun[0] + 1
            elif line.strip():
                notes[-1].text += "\n" + line
    if pages_with_notes < 2:
        return None
    return "\f".join(bodies), notes


def _first_numbered(lines: list[str], start: int) -> int | None:
    for index in range(start, min(len(lines), start + 8)):
        if not lines[index].strip():
            continue
        begun = _note_start(lines[index])
        return index if begun and begun[0] == 1 else None
    return None


def _collect(lines: list[str], start: int) -> tuple[list[Note], int]:
    """Notes numbered from 1 starting at lines[start]; returns them and the index after the last."""
    notes: list[Note] = []
    expected = 1
    current: list[str] = []
    end = start
    blank_run = 0
    for index in range(start, len(lines)):
        line = lines[index]
        begun = _note_start(line)
        if begun and expected <= begun[0] <= expected + 2:
            if notes:
                notes[-1].text = "\n".join(current).strip()
            notes.append(Note(str(begun[0]), ""))
            current = [begun[1]]
            expected = begun[0] + 1
            end = index + 1
            blank_run = 0
            continue
        if not line.strip():
            blank_run += 1
            if blank_run >= 3:
                break
            continue
        if not notes:
            break
        if blank_run and _note_start(line) is None and len(notes) > 0 and not _looks_continued(current):
            # A blank line, then text that starts no note: the list is over.
            break
        current.append(line)
        end = index + 1
        blank_run = 0
    if notes:
        notes[-1].text = "\n".join(current).strip()
    return notes, end


def _looks_continued(current: list[str]) -> bool:
    last = current[-1].rstrip() if current else ""
    return bool(last) and last[-1] not in ".。)）]】"


def _markdown_notes(text: str) -> tuple[str, list[Note]] | None:
    definition = re.compile(r"^\[\^([^\]\s]{1,16})\]:[ \t]?(.*)$")
    lines = text.split("\n")
    if not any(definition.match(line) for line in lines):
        return None
    body, notes = [], []
    current: Note | None = None
    for line in lines:
        match = definition.match(line)
        if match:
            current = Note(match.group(1), match.group(2))
            notes.append(current)
        elif current is not None and line.startswith(("    ", "\t")):
            current.text += "\n" + line.strip()
        else:
            current = None
            body.append(line)
    body_text = re.sub(r"\[\^([^\]\s]{1,16})\]", lambda m: MARK.format(m.group(1)), "\n".join(body))
    return body_text, notes


# --- endnote marks and their sentences ---------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def mark_body(body: str, numbers: list[str] | None) -> str:
    """The body with the marks of the given note numbers replaced by MARK tokens, found in order
    (numbers None: the marks 1, 2, 3 ... of a text whose note list is missing, until nine
    numbers in a row are not found).

    A mark is `[N]`, `[^N]`, `^N`, superscript digits, or the digits N glued to the end of a
    word, a closing quote or bracket, or sentence punctuation ("network.52", "Interpol42",
    "雪亮工程),80") and not followed by another digit; a decimal ("1.5") or a hyphenated number
    ("COVID-19") is not a mark. Each mark is looked for after the previous one, so the numbers
    of the list decide which digits are marks."""
    if MARK_RE.search(body):
        return body
    text = body.translate(_SUPERSCRIPTS) if any(ch in body for ch in "⁰¹²³⁴⁵⁶⁷⁸⁹") else body
    superscripted = text is not body
    out = []
    position = 0
    misses = 0
    for number in numbers if numbers is not None else (str(n) for n in range(1, 10000)):
        if not number.isdigit():
            continue
        found = _find_mark(text, number, position, superscripted)
        if found is None:
            misses += 1
            if numbers is None and misses > 8:
                break
            continue
        misses = 0
        start, end = found
        out.append(text[position:start])
        out.append(MARK.format(number))
        position = end
    out.append(text[position:])
    return "".join(out)


def _find_mark(text: str, number: str, position: int, superscripted: bool) -> tuple[int, int] | None:
    pattern = re.compile(
        r"\[\^?" + number + r"\]"
        r"|\^" + number + r"(?!\d)"
        r"|(?<=[^\s\d\-/:#$.,+\[(])" + number + r"(?![\d%/])"
        r"|(?<=[.,;:!?。，；：！？”’\"')）\]】])" + number + r"(?![\d%])"
        r"|(?<=[.!?。！？”’\"')）]\n)" + number + r"(?![\d%])"
        r"|(?<=[.!?”’)] )" + number + r"(?=[ \t]*\n|[ \t]*$| [A-Z“‘])"
    )
    for match in pattern.finditer(text, position):
        start = match.start()
        before = text[start - 1] if start else ""
        if before in ".," and start >= 2 and text[start - 2].isdigit() and not re.match(
                r"\s*(?:$|\n|[A-Z\u4e00-\u9fff“‘\"'(（])", text[match.end(): match.end() + 3]):
            continue  # a decimal or a thousands group (1.5 million, 1,013), not "in 2019.12 The"
        after = text[match.end(): match.end() + 3]
        if re.match(r"[.,]\d", after):
            continue
        if before.isalpha() and before.isascii() and re.match(r"[A-Za-z]", after):
            continue  # inside a word or code: "H264x", "5G2B"
        token = re.split(r"\s", text[max(0, start - 200):start])[-1]
        if re.search(r"https?://|www\.|\w\.[a-z]{2,}/", token):
            continue  # digits ending a URL or a domain path: pic.twitter.com/X46AStITz4
        if before and _cjk_letter(before) and after.strip() and _cjk_letter(after.strip()[0]):
            continue  # a number in Chinese text: 第12号, 2019年3月
        unit = re.match(r"\s*(?:%|percent|per cent|million|billion|km|kg|m\b|years?\b)", after, re.I)
        if unit and not match.group(0).startswith(("[", "^")):
            continue
        return start, match.end()
    return None


_ABBREVIATIONS = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Col|Lt|St|Co|Ltd|Inc|Corp|No|Vol|vs|etc|e\.g|i\.e|al|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
    r"|\b[A-Z](?:\.[A-Z])*)\.$"
)


def _sentence_bounds(text: str, position: int) -> tuple[int, int]:
    """Start and end of the sentence around `position` in `text` (a paragraph)."""
    start = 0
    for match in re.finditer(r"[.!?。！？…](?:[”’\"')）]*)(?:⟦[^⟧]*⟧)*(?=\s|[^\s\w]|$)|[。！？]|\n\s*\n", text[:position]):
        end_of_stop = match.end()
        piece = text[max(0, match.start() - 12): match.start() + 1]
        if match.group(0)[:1] == "." and _ABBREVIATIONS.search(piece):
            continue
        if match.group(0)[:1] == "." and match.start() + 1 < len(text) and text[match.start() + 1: match.start() + 2].isdigit():
            continue
        start = end_of_stop
    end = len(text)
    for match in re.finditer(r"[.!?。！？][”’\"')）]*(?=\s|$|⟦)|[。！？]|\n\s*\n", text[position:]):
        piece = text[max(0, position + match.start() - 12): position + match.start() + 1]
        if match.group(0)[:1] == "." and _ABBREVIATIONS.search(piece):
            continue
        end = position + match.end()
        break
    return start, end


def mark_sentences(body: str, *, wrapped: bool = True) -> dict[str, str]:
    """For each MARK token in `body`, the sentence that carries it, marks and line breaks removed.

    A mark after sentence punctuation belongs to the sentence it ends; a mark inside a sentence
    to the sentence around it. In text that is not `wrapped`, each line is a paragraph."""
    paragraphs = unwrap(_paragraphed(body, wrapped))
    sentences: dict[str, str] = {}
    for match in MARK_RE.finditer(paragraphs):
        number = match.group(1)
        if number in sentences:
            continue
        position = match.start()
        while position > 0 and (paragraphs[position - 1] in "”’\"')）] " or paragraphs[position - 1] == "⟧"):
            if paragraphs[position - 1] == "⟧":
                position = paragraphs.rfind("⟦", 0, position)
            else:
                position -= 1
        if position > 0 and paragraphs[position - 1] in ".!?。！？…":
            position -= 1
        else:
            position = match.start()
        start, end = _sentence_bounds(paragraphs, position)
        if end < match.end():
            end = match.end()
        sentence = clean_sentence(paragraphs[start:end])
        if sentence:
            sentences[number] = sentence
    return sentences


def clean_sentence(text: str) -> str:
    """Sentence text without marks, bullets and extra spaces."""
    text = MARK_RE.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = text.lstrip("-•*>#· ").strip()
    return text if len(text) >= 8 else ""


def looks_wrapped(text: str) -> bool:
    """Whether plain text is hard-wrapped (lines cut at a width, as text copied out of a PDF is)
    rather than one paragraph per line: many lines go on in the next line with a lower-case word."""
    lines = [line.rstrip() for line in text.split("\n")]
    full = [(a, b) for a, b in zip(lines, lines[1:]) if a.strip() and b.strip()]
    if len(full) < 3:
        return False
    going_on = sum(1 for a, b in full if a[-1] not in ".!?。！？:：" and (b.lstrip()[:1].islower() or b.lstrip()[:1].isdigit()))
    return going_on >= max(2, 0.15 * len(full))


def unwrap(text: str) -> str:
    """Lines joined into paragraphs: a single line break becomes a space (none between two
    Chinese characters), a word hyphenated at a line end is joined, blank lines stay."""
    text = text.replace("\r\n", "\n").replace("\n\f\n", "\n").replace("\f", "\n")
    text = re.sub(r"(?<=[a-z])-\n(?=[a-z])", "", text)
    text = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef])\n(?=\S)|(?<=\S)\n(?=[\u3000-\u9fff\uff00-\uffef])", "", text)
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


def inline_sentence(text: str, start: int, end: int, *, wrapped: bool = False) -> str:
    """The sentence a URL printed in running text supports: the sentence it stands in, with the
    URL left out; or, when the URL follows a finished sentence ("... first place?https://t.co/x",
    "... 'unicorns.' https://t.co/y"), that sentence. In text that is not `wrapped`, each line
    is a paragraph."""
    separator = "\n\n" if wrapped else "\n"
    paragraph_start = text.rfind(separator, 0, start)
    paragraph_start = 0 if paragraph_start < 0 else paragraph_start + len(separator)
    before = text[paragraph_start:start].rstrip()
    if not before.strip():
        return ""
    if re.search(r"[.!?。！？…][”’\"')）]*$", before):
        s, _ = _sentence_bounds(before, len(before.rstrip("”’\"')）")) - 1)
        return clean_sentence(before[s:])
    paragraph_end = text.find(separator, end)
    after = text[end: paragraph_end if paragraph_end >= 0 else len(text)]
    joined = before + " " + after
    s, e = _sentence_bounds(joined, len(before))
    return clean_sentence(joined[s:e])


def _paragraphed(text: str, wrapped: bool) -> str:
    """Text whose paragraphs are separated by blank lines: in text that is not wrapped (typed,
    or from DOCX and HTML), each line is a paragraph."""
    return text if wrapped else re.sub(r"\n+", "\n\n", text)
