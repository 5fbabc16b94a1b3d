"""The passage of a text that a search matched, with the matching words marked.

A snippet is a list of (text, is_match) pieces, never markup: the text comes from archived
pages, which may be hostile, and each caller (a terminal table, JSON, an HTML template) escapes
and marks the pieces its own way. The matches are found again in the stored text with the
same terms as the index (archiver.terms), so what is marked is what the index matched: 威视
inside 海康威视, "Surveillance" for surveillance, ＡＢＣ for abc.
"""

from __future__ import annotations

import re
from itertools import islice

from archiver.terms import CJK_CHARACTERS, Phrase, Term, text_terms

Piece = tuple[str, bool]

_SPACE = re.compile(r"\s+")
_CJK_TERM = re.compile(f"[{CJK_CHARACTERS}]")
MAX_ANCHORS = 200
ANCHORS_PER_PHRASE = 4


def match_spans(terms: list[Term], phrases: list[Phrase]) -> list[tuple[int, int, int]]:
    """Where each phrase occurs among `terms`: (start, end, phrase number), in text order."""
    spans = []
    for number, phrase in enumerate(phrases):
        size = len(phrase.terms)
        last = size - 1
        for i in range(len(terms) - size + 1):
            for k, wanted in enumerate(phrase.terms):
                found = terms[i + k].term
                if not (found == wanted or (phrase.prefix and k == last and found.startswith(wanted))):
                    break
            else:
                final = terms[i + last]
                end = final.start + len(phrase.terms[last]) if phrase.prefix and final.cjk else final.end
                spans.append((terms[i].start, end, number))
    return sorted(spans)


def _widened(text: str, low: int, high: int) -> tuple[int, int]:
    """[low, high) grown to whole words and runs (at most 100 characters each way), so that the
    terms at its edges are the text's own."""
    floor, ceiling = max(0, low - 100), min(len(text), high + 100)
    while low > floor and text[low - 1].isalnum():
        low -= 1
    while high < ceiling and text[high].isalnum():
        high += 1
    return low, high


def _written(phrase: Phrase) -> re.Pattern:
    """The phrase as a page most likely writes it: a chain of Chinese pairs as the run itself
    (海康 康威 威视: 海康威视), words apart by anything that is not a letter or digit."""
    written = re.escape(phrase.terms[0])
    previous = phrase.terms[0]
    for term in phrase.terms[1:]:
        if len(previous) == 2 and term[0] == previous[1] and _CJK_TERM.match(term):
            written += re.escape(term[1:])  # the next pair of the run, or its last character alone
        else:
            written += r"[\W_]*" + re.escape(term)
        previous = term
    return re.compile(written, re.IGNORECASE)


def find_spans(text: str, phrases: list[Phrase], width: int) -> list[tuple[int, int, int]]:
    """The phrases' matches in `text` (match_spans), reading only the stretches around the
    first few places where a phrase's first term appears as such (case aside); the whole text
    when that finds nothing (the page wrote it in full-width forms or with accents)."""
    starts: set[int] = set()
    for phrase in phrases:
        pattern = _written(phrase)
        starts.update(m.start() for m in islice(pattern.finditer(text), ANCHORS_PER_PHRASE))
    spans: set[tuple[int, int, int]] = set()
    for low, high in _union([(max(0, s - width // 2), min(len(text), s + width)) for s in starts]):
        low, high = _widened(text, low, high)
        spans.update((s + low, e + low, n) for s, e, n in match_spans(text_terms(text[low:high]), phrases))
    return sorted(spans) if spans else match_spans(text_terms(text), phrases)


def _window(spans: list[tuple[int, int, int]], width: int) -> tuple[int, int]:
    """The stretch of `width` characters holding the most different phrases (the earliest of
    the best), starting a little before its first match."""
    best, best_score = (0, width), -1
    for start, _, _ in spans[:MAX_ANCHORS]:
        low = max(0, start - width // 3)
        high = low + width
        score = len({number for s, e, number in spans if s >= low and e <= high})
        if score > best_score:
            best, best_score = (low, high), score
    return best


def _clean(piece: str) -> str:
    return _SPACE.sub(" ", piece)


def snippet(text: str, phrases: list[Phrase], width: int = 240) -> list[Piece]:
    """About `width` characters of `text` around its best match, as (text, is_match) pieces;
    the beginning of the text, unmarked, when none of `phrases` is found in it."""
    if not text:
        return []
    spans = find_spans(text, phrases, width)
    if not spans:
        head = _clean(text[:width]).strip()
        return [(head + ("…" if len(text) > width else ""), False)]
    low, high = _window(spans, width)
    high = min(high, len(text))
    inside = _union([(s, e) for s, e, _ in spans if s >= low and e <= high])
    if low > 0 and text[low - 1].isalnum():  # do not start inside a word: from the next space
        space = text.find(" ", low, inside[0][0])
        low = space + 1 if space != -1 else low
    pieces: list[Piece] = [("…", False)] if low > 0 else []
    at = low
    for start, end in inside:
        pieces += [(_clean(text[at:start]), False), (_clean(text[start:end]), True)]
        at = end
    pieces.append((_clean(text[at:high]), False))
    if high < len(text):
        pieces.append(("…", False))
    return _merge(pieces)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Adjacent pieces of the same kind as one (the pairs of 海康威视 are one marked run)."""
    merged: list[Piece] = []
    for piece, marked in pieces:
        if merged and merged[-1][1] == marked:
            merged[-1] = (merged[-1][0] + piece, marked)
        elif piece:
            merged.append((piece, marked))
    return merged
