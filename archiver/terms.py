"""The terms the full-text index holds for a text, and the terms a search query asks for.

Both databases index the same terms, computed here, so that SQLite (FTS5) and PostgreSQL
(tsvector) find the same captures:

- words of alphabetic scripts and numbers: NFKC (full-width letters and digits become
  half-width), case-folded, accents removed ("Ürümqi" is "urumqi"); every character that is
  not a letter or digit separates words, full-width punctuation included;
- Chinese and Japanese runs: overlapping pairs of characters (海康威视 is 海康 康威 威视), then
  the run's last character alone (视). A query for any two or more characters of a run is the
  phrase of its pairs, so 威视 or 公司 is found inside 海康威视 or 有限公司, wherever it falls.
  A word segmenter (jieba) would not do here: its words depend on their neighbours (云从科技
  is cut 云/从/科技, so a word index has no 云从), while pairs find every substring. A single
  character is a prefix query (视*): the run's last character is indexed alone so that each
  character starts some term.

Mixed text needs nothing special: 海康威视Hikvision is the run 海康威视 then the word hikvision.

Changing how terms are made means indexing every text again (a migration that empties the
index and restarts its backfill): queries must be cut as the texts were, and SQLite removes a
purged text from its index by the same terms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

# Han (with extensions and compatibility forms), kana, and the iteration mark 々: scripts
# written without spaces between words.
CJK_CHARACTERS = ("\u3005\u3007\u3041-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
        "\uff66-\uff9f\U00020000-\U0003134f")
_TOKEN = re.compile(rf"(?P<cjk>[{CJK_CHARACTERS}]+)|(?P<word>[^\W_{CJK_CHARACTERS}]+)")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


class Term(NamedTuple):
    """One indexed term and the characters of the original text it stands for."""

    term: str
    start: int
    end: int
    cjk: bool
    last_of_run: bool = False


def _fold_word(word: str) -> list[str]:
    """A word as the index keeps it; a compatibility character may unfold into several words
    (½ is 1 and 2), each a term."""
    if word.isascii():
        return [word.lower()]
    folded = unicodedata.normalize("NFKC", word).casefold()
    stripped = unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", folded)))
    return [m.group() for m in _TOKEN.finditer(stripped)]


def _fold_run(run: str) -> str:
    """A run of Chinese or Japanese characters as indexed: compatibility ideographs and
    half-width kana folded (NFKC) when that keeps one character for one."""
    folded = unicodedata.normalize("NFKC", run)
    return folded if len(folded) == len(run) else run


def text_terms(text: str) -> list[Term]:
    """The terms of `text`, in order, each with the span of the original text it came from."""
    terms: list[Term] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if match.lastgroup == "word":
            terms.extend(Term(word, start, end, False) for word in _fold_word(match.group()))
            continue
        run = _fold_run(match.group())
        terms.extend(Term(run[i:i + 2], start + i, start + i + 2, True) for i in range(len(run) - 1))
        terms.append(Term(run[-1], end - 1, end, True, True))
    return terms


def index_terms(text: str) -> list[str]:
    """The terms the index keeps for `text`, in order (their positions make phrases): the
    `term`s of text_terms, without their spans (the fast way, for indexing)."""
    terms: list[str] = []
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "word":
            terms.extend(_fold_word(match.group()))
            continue
        run = _fold_run(match.group())
        terms.extend([run[i:i + 2] for i in range(len(run) - 1)])
        terms.append(run[-1])
    return terms


class QueryError(ValueError):
    """A search query with nothing to look for, said in words a researcher understands."""


@dataclass(frozen=True)
class Phrase:
    """Terms that must follow one another; with `prefix`, the last one may be longer (word*).
    `negated`: texts holding it are left out."""

    terms: tuple[str, ...]
    prefix: bool = False
    negated: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query: any of `alternatives` (OR), each a list of phrases all found (AND)."""

    alternatives: tuple[tuple[Phrase, ...], ...]
    text: str

    def phrases(self) -> list[Phrase]:
        """Every phrase the query looks for (not the negated ones): what a snippet marks."""
        return [p for group in self.alternatives for p in group if not p.negated]


MAX_QUERY = 1000
_QUERY_PART = re.compile(r'(?P<neg>-)?"(?P<quoted>[^"]*)"?(?P<qstar>\*)?|(?P<bare>[^\s"]+)')


def phrase_terms(words: str, prefix: bool = False, negated: bool = False) -> Phrase | None:
    """The phrase a piece of query text stands for: its terms as the index has them (None when
    it holds no letter, digit or Chinese character).

    A run of Chinese characters matches anywhere inside a longer run unless the phrase goes on
    after it: then the run must end there, so its last character, indexed alone, follows."""
    found = text_terms(words)
    terms: list[str] = []
    for i, term in enumerate(found):
        is_last = i == len(found) - 1
        if not term.last_of_run or not is_last:
            terms.append(term.term)
        elif i == 0 or not found[i - 1].cjk or found[i - 1].last_of_run:
            terms.append(term.term)  # a one-character run at the end: any term starting with it
            prefix = True
    return Phrase(tuple(terms), prefix, negated) if terms else None


def parse_query(query: str) -> Query:
    """Read a search query: words (all must be found), "a quoted phrase", word* (a prefix),
    -word or -"phrase" (leave out texts holding it), and OR between alternatives.

    Anything else (FTS operators, brackets, colons, NEAR, a lone quote) is read as text: its
    punctuation separates words, as in the index. QueryError when nothing is left to find."""
    if query is None or not query.strip():
        raise QueryError("the search is empty: give at least one word to look for")
    if len(query) > MAX_QUERY:
        raise QueryError(f"the search is too long: at most {MAX_QUERY:,} characters")
    alternatives: list[list[Phrase]] = [[]]
    for part in _QUERY_PART.finditer(query):
        bare = part.group("bare")
        if bare == "OR":
            alternatives.append([])
            continue
        if bare is None:
            phrase = phrase_terms(part.group("quoted"), bool(part.group("qstar")), bool(part.group("neg")))
        else:
            negated = bare.startswith("-")
            phrase = phrase_terms(bare[1:] if negated else bare, bare.endswith("*"), negated)
        if phrase:
            alternatives[-1].append(phrase)
    kept = tuple(tuple(group) for group in alternatives if any(not p.negated for p in group))
    if kept:
        return Query(kept, query)
    if any(alternatives):
        raise QueryError("the search only leaves words out (-word): give at least one word to look for")
    raise QueryError("the search has no letters, digits or Chinese characters to look for")
