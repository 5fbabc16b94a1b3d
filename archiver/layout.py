"""Where a text sits in a page: the page's visible text as blocks, its links, and the article's element.

The verdict compares main texts, and the main text is where an extractor draws its line on one
day: a footer, a class name or a teaser list that changes can move that line, and an article
emptied out of its template leaves the extractor to take menus and teasers for the article. To
tell these from real edits and deletions the verdict asks the page itself (archiver.verdict):

- is a line that left the main text still shown on the page (`shows`)? Then the extractor
  dropped it; the page did not;
- where does the previous capture's main text sit in this page (`article_span`): the deepest
  element holding most of it, its article element; is a line that joined the main text inside
  that element (`in_span`), or in the template around it?
- how much of a line is link text (`link_share`): menus and headline lists are links; and is it
  part of a teaser, a small block that holds a headline link besides it (`furniture_share`)?

A PageLayout is made from the lxml tree the extractor already parsed (archiver.extract), and
does its work only when the verdict asks: most captures are judged by their hashes and never
need it. Texts are compared as keys: NFKC, the extractor's quote and invisible-character
normalisation, spacing removed except between two Latin letters or digits (quotes.squeeze_spaces).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from archiver.extract import _INVISIBLE_CHARS, _QUOTES, BLOCK, INVISIBLE
from archiver.quotes import _is_word_char, squeeze_spaces

# How many occurrences of a line are looked at when placing it.
MAX_OCCURRENCES = 8
# A teaser: a block of at most TEASER_CHARS characters and TEASER_RATIO times the line, at most
# TEASER_LEVELS elements above a line, that also holds a link of its own.
TEASER_CHARS = 600
TEASER_RATIO = 3
TEASER_LEVELS = 3


def text_key(text: str) -> str:
    """The form in which page text and main text are compared (see the module notes)."""
    return squeeze_spaces(unicodedata.normalize("NFKC", text.translate(_INVISIBLE_CHARS)).translate(_QUOTES))


_LIST_MARK = re.compile(r"^(?:[-*•·]\s+)+")


def _line_key(line: str) -> str:
    """text_key of a main-text line, without the "- " an extractor puts before a list item."""
    return text_key(_LIST_MARK.sub("", line))


@dataclass
class _Segment:
    start: int
    end: int
    owner: Any  # an lxml element
    link_chars: int


@dataclass
class Span:
    """The article element found for a main text, and where its text lies in the page's key."""

    element: object
    start: int
    end: int
    located: int  # characters of the main text found in the page
    total: int  # characters of the main text


class PageLayout:
    """The visible text of one HTML page, block by block, ready to be searched (module notes)."""

    def __init__(self, root) -> None:
        self._root = root

    @functools.cached_property
    def _built(self) -> tuple[str, list[_Segment], list[int]]:
        pieces: list[tuple[object, str, bool]] = []

        def walk(element, owner, in_link: bool) -> None:
            tag = element.tag if isinstance(element.tag, str) else None
            if tag is not None and tag not in INVISIBLE:
                inner = element if tag in BLOCK else owner
                link = in_link or tag == "a"
                if tag in BLOCK:
                    pieces.append((element, "", False))
                if element.text:
                    pieces.append((inner, element.text, link))
                for child in element:
                    walk(child, inner, link)
                if tag in BLOCK:
                    pieces.append((owner, "", False))
            if element.tail:
                pieces.append((owner, element.tail, in_link))

        body = self._root.find(".//body")
        start = body if body is not None else self._root
        walk(start, start, False)
        key_parts: list[str] = []
        segments: list[_Segment] = []
        length = 0
        last_char = ""
        current_owner: Any = None
        raw: list[str] = []
        links = 0

        def close() -> None:
            nonlocal length, last_char, raw, links
            key = text_key("".join(raw))
            if key:
                if last_char and _is_word_char(last_char) and _is_word_char(key[0]):
                    key_parts.append(" ")
                    length += 1
                segments.append(_Segment(length, length + len(key), current_owner, min(links, len(key))))
                key_parts.append(key)
                length += len(key)
                last_char = key[-1]
            raw, links = [], 0

        for owner, text, in_link in pieces:
            if owner is not current_owner or not text:
                close()
                current_owner = owner
            if text:
                raw.append(text)
                if in_link:
                    links += len(text_key(text))
        close()
        return "".join(key_parts), segments, [s.start for s in segments]

    @property
    def key(self) -> str:
        """The whole visible text of the page, as one key."""
        return self._built[0]

    def shows(self, line: str) -> bool:
        """Whether the page shows this line (spacing, width forms and quote marks aside)."""
        key = _line_key(line)
        return bool(key) and key in self.key

    def _occurrences(self, key: str) -> list[int]:
        found: list[int] = []
        at = self.key.find(key)
        while at != -1 and len(found) < MAX_OCCURRENCES:
            found.append(at)
            at = self.key.find(key, at + 1)
        return found

    def _segments_over(self, start: int, end: int) -> list[_Segment]:
        _, segments, starts = self._built
        first = max(0, bisect.bisect_right(starts, start) - 1)
        out = []
        for segment in segments[first:]:
            if segment.start >= end:
                break
            if segment.end > start:
                out.append(segment)
        return out

    def link_share(self, line: str) -> float:
        """The share of the line's text that the page shows as link text (0 when not found)."""
        key = _line_key(line)
        occurrences = self._occurrences(key) if key else []
        if not occurrences:
            return 0.0
        segments = self._segments_over(occurrences[0], occurrences[0] + len(key))
        total = sum(s.end - s.start for s in segments)
        return sum(s.link_chars for s in segments) / total if total else 0.0

    @functools.cached_property
    def _sizes(self) -> dict[int, int]:
        """Characters of visible text held by each element (by id), for the elements that hold any."""
        sizes: dict[int, int] = {}
        for segment in self._built[1]:
            length = segment.end - segment.start
            for element in (segment.owner, *segment.owner.iterancestors()):
                sizes[id(element)] = sizes.get(id(element), 0) + length
        return sizes

    def furniture_share(self, line: str) -> float:
        """How much of the line is page furniture: 1.0 for a line in a teaser (a small block that
        also holds a link outside the line: a headline link, "read more"; small means at most
        TEASER_RATIO times the line and TEASER_CHARS characters, so an article's paragraphs, which
        sit together in a larger block, are no teasers), else its link share. 0.0 when the page
        does not show the line."""
        key = _line_key(line)
        occurrences = self._occurrences(key) if key else []
        if not occurrences:
            return 0.0
        owner = self._segments_over(occurrences[0], occurrences[0] + 1)[0].owner
        sizes = self._sizes
        most = min(TEASER_CHARS, TEASER_RATIO * len(key))
        for ancestor in itertools.islice(owner.iterancestors(), TEASER_LEVELS):
            if sizes.get(id(ancestor), 0) > most:
                break
            if any(not _owned_by(a, owner) for a in ancestor.iter("a") if a.get("href")):
                return 1.0
        return self.link_share(line)

    def article_span(self, lines: list[str]) -> Span | None:
        """Where a main text sits in this page: the element whose text is most nearly that main
        text, and the span of the page's key it covers. The element holds as much of the text and
        as little else as possible: it scores the located characters it holds minus half of the
        other characters it shows (so a wrapper that adds a lead paragraph and a byline to the
        article body wins over the body, and the page's whole body, mostly menus, loses). Each
        line counts at its first occurrence. None when under half of the text is on the page."""
        weight: dict[int, int] = {}
        elements: dict[int, object] = {}
        located = total = 0
        for line in lines:
            key = _line_key(line)
            if not key:
                continue
            total += len(key)
            at = self.key.find(key)
            if at == -1:
                continue
            located += len(key)
            owner = self._segments_over(at, at + 1)[0].owner
            for element in (owner, *owner.iterancestors()):
                weight[id(element)] = weight.get(id(element), 0) + len(key)
                elements[id(element)] = element
        if not total or located < total / 2:
            return None
        sizes = self._sizes
        best, best_score = None, None
        for ident, inside in weight.items():
            score = 3 * inside - sizes.get(ident, inside)
            if best_score is None or score > best_score:
                best, best_score = elements[ident], score
        _, segments, _ = self._built
        covered = [s for s in segments if _owned_by(s.owner, best)]
        if not covered:
            return None
        return Span(best, covered[0].start, covered[-1].end, located, total)

    def distance(self, line: str, span: Span) -> int | None:
        """How many characters of the page's key lie between the line and the span (0 inside it);
        None when the page does not show the line."""
        key = _line_key(line)
        occurrences = self._occurrences(key) if key else []
        if not occurrences:
            return None
        return min(max(0, span.start - (at + len(key)), at - span.end) for at in occurrences)

    def in_span(self, line: str, span: Span) -> bool | None:
        """Whether the line lies inside the span (any of its occurrences); None when the page does
        not show it."""
        key = _line_key(line)
        occurrences = self._occurrences(key) if key else []
        if not occurrences:
            return None
        return any(span.start <= at < span.end for at in occurrences)


def _owned_by(owner, element) -> bool:
    return owner is element or any(a is element for a in owner.iterancestors())


