"""Is the passage a researcher quoted still on the page?

`check_quote(quote, text)` answers "present" or "missing". `check_quote_on_page(quote, text,
visible)` adds a third answer, "present (outside the main text)": the quote is not in the main
text the archiver extracted, but the page shows it (a post further down a multi-post blog page,
a boxed table in a lesson page), so only a real removal reads missing. The decision is an exact substring
match on a canonical key (`quote_key`) of both the quote and the page text, so an edited
number or word always makes the quote missing, however similar the rest. Fuzzy matching
(rapidfuzz) is used only to report the nearest passage and how close it is, so the researcher
sees what the page says now.

What the canonical key ignores, and why each is safe:
- Unicode width and compatibility forms (NFKC): full-width letters, digits and punctuation
  (２０１８，ＡＢＣ) equal their half-width forms.
- Letter case (casefold).
- Quotation marks of every kind and apostrophes (" ' “ ” ‘ ’ 「 」 『 』 « » ‹ › „ 《 》 〈 〉):
  quoting changes them (a quote inside a quote, curly vs straight), they carry no facts.
- CJK punctuation is mapped to its ASCII twin: 。→ . 、→ , 【】→ [] and every dash (— – ― －,
  also "——") to "-".
- Whitespace and line breaks: dropped entirely except one space between two Latin letters or
  digits (kept so that "in 2018" never matches "in2018" and word edges stay visible). Chinese
  has no spaces, so spaces and line breaks inside Chinese text, or inserted by markup, vanish.
- Invisible characters: zero-width spaces and joiners, soft hyphens, byte-order marks.

How a quote is read:
- An ellipsis ("...", ". . .", "…", "……", "⋯") marks an elision, and so does a square-bracketed
  editorial insertion ("[the company]", "[sic]", "[…]"): the quote is cut there into pieces and
  each piece must be present, in the quoted order.
- Punctuation at either end of a piece (. , ; : ! ?) is ignored: quoting often drops or adds it.
- A piece that begins or ends with a Latin letter or digit must not continue a longer word or
  number in the text: "killed 12" is missing from "killed 120 people", "rose to 3" from "rose
  to 3.5".
- An empty quote (nothing left after the rules above) is reported "present" with detail "no
  quote to check": there is nothing that could have gone missing. Callers that show quote status
  should skip citations without a quote rather than display this result.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from archiver.diff import CJK_CLASS, describe_changes, diff_texts, is_cjk

_QUOTE_MARKS = frozenset("\"'`´“”‘’‚‛„‟«»‹›「」『』《》〈〉〝〞〟＂＇")
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_PUNCT_MAP = {
    "。": ".",
    "｡": ".",
    "、": ",",
    "【": "[",
    "】": "]",
    "〔": "[",
    "〕": "]",
    "〖": "[",
    "〗": "]",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "﹣": "-",
    "・": "·",
    "•": "·",
    "‧": "·",
}
_EDGE_PUNCT = ".,;:!?·"
_TRIM = _EDGE_PUNCT + "。，、；：！？ "
_ELISION = re.compile(r"\[[^\]]*\]|［[^］]*］|(?:\.\s*){2,}\.|[…⋯]+")
_CLOSEST_MAX_CHANGES = 3
_WORD_CHAR = f"[^\\W_{CJK_CLASS}]"
_SPACE_NOT_BETWEEN_WORDS = re.compile(f" (?:(?!{_WORD_CHAR})|(?<!{_WORD_CHAR} ))")


PRESENT = "present"
PRESENT_OUTSIDE = "present (outside the main text)"
MISSING = "missing"
# The statuses that say the page shows the quote.
PRESENT_STATUSES = (PRESENT, PRESENT_OUTSIDE)


@dataclass
class QuoteMatch:
    """The result of checking one quote against one text.

    status: "present", "present (outside the main text)" or "missing". score: 1.0 when present; when missing, how close (0..1) the
    nearest passage is to the missing part of the quote. detail: a sentence for the report; its
    changes read quoted -> on the page ("'2019' -> '2018'"). closest: that nearest passage as it
    stands in the text, or None.
    """

    status: str
    score: float
    detail: str
    closest: str | None


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() and not is_cjk(ch)


def _units(text: str):
    """Yield (index, unit): a character with the combining marks that follow it."""
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not unicodedata.combining(text[i]):
            yield start, text[start:i]
            start = i


def _keyed(text: str) -> tuple[str, list[int]]:
    """The canonical key of text and, for each key character, its index in text."""
    chars: list[str] = []
    where: list[int] = []
    space_pending = False
    for index, unit in _units(text):
        for ch in unicodedata.normalize("NFKC", unit).casefold():
            if ch in _QUOTE_MARKS or ch in _INVISIBLE:
                continue
            if ch.isspace():
                space_pending = True
                continue
            ch = _PUNCT_MAP.get(ch, ch)
            if ch == "-" and chars and chars[-1] == "-":
                continue
            if space_pending and chars and _is_word_char(chars[-1]) and _is_word_char(ch):
                chars.append(" ")
                where.append(index)
            space_pending = False
            chars.append(ch)
            where.append(index)
    return "".join(chars), where


def quote_key(text: str) -> str:
    """The canonical form used to match quotes (see the module notes for what it ignores)."""
    return _keyed(text)[0]


def squeeze_spaces(text: str) -> str:
    """Text with whitespace dropped except one space between two Latin letters or digits.

    Unlike quote_key it keeps case, punctuation and quotation marks: it only makes a comparison
    blind to line breaks and spacing, which markup and extraction change freely.
    """
    # str.split and one substitution that starts at a literal space run in C, instead of a
    # Python call per whitespace run (a page has thousands).
    return _SPACE_NOT_BETWEEN_WORDS.sub("", " ".join(text.split()))


def _pieces(quote: str) -> list[tuple[str, str]]:
    """Cut a quote at its elisions: a list of (piece as written, piece key), empty keys dropped."""
    pieces = []
    for raw in _ELISION.split(quote):
        key = quote_key(raw).strip(_EDGE_PUNCT + " ")
        if key:
            pieces.append((raw.strip(), key))
    return pieces


def _bounded(key: str, start: int, end: int) -> bool:
    """True when key[start:end] does not cut a Latin word or a number in two."""
    first, last = key[start], key[end - 1]
    if start > 0 and _is_word_char(first) and _is_word_char(key[start - 1]):
        return False
    if end < len(key) and _is_word_char(last) and _is_word_char(key[end]):
        return False
    if first.isdigit() and start >= 2 and key[start - 1] in ".," and key[start - 2].isdigit():
        return False
    if last.isdigit() and end + 1 < len(key) and key[end] in ".," and key[end + 1].isdigit():
        return False
    return True


def _find(piece: str, key: str, start: int) -> int:
    """Index of the first whole-word occurrence of piece in key at or after start, or -1."""
    at = key.find(piece, start)
    while at != -1 and not _bounded(key, at, at + len(piece)):
        at = key.find(piece, at + 1)
    return at


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend a slice of text so it does not begin or end in the middle of a Latin word."""
    while start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
        start -= 1
    while end < len(text) and _is_word_char(text[end - 1]) and _is_word_char(text[end]):
        end += 1
    return start, end


def _closest(piece_key: str, text: str, key: str, where: list[int]) -> tuple[float, str]:
    """The passage of text nearest to the piece, and its partial-match score (0..1)."""
    found = fuzz.partial_ratio_alignment(piece_key, key)
    if found is None or found.dest_end <= found.dest_start:
        return 0.0, ""
    start, end = where[found.dest_start], where[found.dest_end - 1] + 1
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    start, end = _widen(text, start, end)
    return found.score / 100, " ".join(text[start:end].split()).strip(_TRIM)


def _punctuation_only(removed: str, added: str) -> bool:
    return quote_key(removed).strip(_EDGE_PUNCT + " ") == quote_key(added).strip(_EDGE_PUNCT + " ")


def _describe_changes(quoted: str, closest: str) -> str:
    """Name the differences between the quoted piece and the closest passage: 'a' -> 'b'."""
    quoted = " ".join(quoted.split()).strip(_TRIM)
    changes = describe_changes(diff_texts(quoted, closest, chinese_words=False), ignore=_punctuation_only)
    if not changes:
        return "closest passage differs"
    shown = ", ".join(changes[:_CLOSEST_MAX_CHANGES])
    more = len(changes) - _CLOSEST_MAX_CHANGES
    return f"closest passage differs: {shown}" + (f" and {more} more" if more > 0 else "")


def format_score(value: float | None) -> str:
    """A 0..1 score with two decimals, rounded down, so that a near match never reads 1.00
    ("n/a" when there is nothing to compare with)."""
    if value is None:
        return "n/a"
    return f"{math.floor(value * 100) / 100:.2f}"


def _ordinal_piece(index: int, count: int) -> str:
    if count == 1:
        return "the quote"
    return f"part {index + 1} of {count} of the quote"


def check_quote(quote: str, text: str) -> QuoteMatch:
    """Check whether quote is present in text (see the module notes for the matching rules)."""
    pieces = _pieces(quote or "")
    if not pieces:
        return QuoteMatch("present", 1.0, "no quote to check", None)
    key, where = _keyed(text or "")
    if not key:
        return QuoteMatch("missing", 0.0, "the page has no text", None)
    position = 0
    for index, (_, piece) in enumerate(pieces):
        at = _find(piece, key, position)
        if at == -1:
            return _missing(pieces, index, key, where, text, out_of_order=_find(piece, key, 0) != -1)
        position = at + len(piece)
    if len(pieces) > 1:
        detail = f"all {len(pieces)} parts found, in order (the quote has elisions)"
    elif _ELISION.search(quote):
        detail = "found, leaving out the quote's elision marks and bracketed insertions"
    elif quote.strip() in text:
        detail = "found verbatim"
    else:
        detail = "found after normalising whitespace, punctuation, quotation marks and case"
    return QuoteMatch("present", 1.0, detail, None)


def _missing(pieces, index, key, where, text, out_of_order: bool) -> QuoteMatch:
    raw, piece = pieces[index]
    which = _ordinal_piece(index, len(pieces))
    if out_of_order:
        detail = f"{which} is on the page, but not after the part before it"
        return QuoteMatch("missing", 1.0, detail, None)
    score, closest = _closest(piece, text, key, where)
    if not closest:
        return QuoteMatch("missing", 0.0, f"{which} is not on the page", None)
    detail = f"{_describe_changes(raw, closest)} (score {format_score(score)})"
    if len(pieces) > 1:
        detail = f"{which} is missing; {detail}"
    return QuoteMatch("missing", round(score, 4), detail, closest)


def check_quote_on_page(quote: str, text: str, visible: str | None) -> QuoteMatch:
    """check_quote against the main text, then, when the quote is missing there, against the
    page's visible text (`visible`; None or "" when there is none to look in). Found there, the
    status is "present (outside the main text)"; otherwise the main text's answer stands, with
    its closest passage."""
    found = check_quote(quote, text)
    if found.status != MISSING or not visible:
        return found
    elsewhere = check_quote(quote, visible)
    if elsewhere.status != PRESENT:
        return found
    return QuoteMatch(
        PRESENT_OUTSIDE, 1.0,
        "found on the page, outside the main text the archiver extracted (in a sidebar, another post "
        f"or a box): {elsewhere.detail}", None,
    )
