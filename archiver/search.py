"""Search the text of every capture ever stored, deleted pages included.

"What did any of our sources ever say about 海康威视?" `search_captures` answers with one hit
per distinct text of a source: the passage that matches, and the first and last capture dates
at which the page said it (a page unchanged for 300 nights is one hit, not 300). It runs on
the database's own full-text index (archiver.textindex: SQLite FTS5, PostgreSQL tsvector under
GIN) over the terms of archiver.terms, so Chinese is found by any two characters of a word and
English by its words, case and accents aside.

The query language (archiver.terms.parse_query): words (all must be found), "a phrase",
word* (prefix), -word (leave out), OR between alternatives. Everything else is text, never
database syntax: a hostile query cannot reach the SQL or the FTS parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from archiver.models import UTCDateTime
from archiver.snippets import Piece, snippet
from archiver.terms import Phrase, Query, QueryError, parse_query
from archiver.textindex import backlog

__all__ = ["MAX_LIMIT", "Piece", "QueryError", "SearchHit", "count_hits", "parse_query", "search_captures",
           "unindexed_upto"]

MAX_LIMIT = 500


@dataclass
class SearchHit:
    """One distinct text of one source that matches: where, when, and the passage.

    `capture_id` is the latest capture holding this text, `first_capture_id` the earliest;
    `captures` how many hold it. `current` is true when the page still says it: the source is
    not deleted and its last good capture holds this text (false: edited or deleted since). `snippet` is the passage
    as (text, is_match) pieces, for the caller to escape and mark up as it needs.
    """

    source_id: int
    url: str
    title: str | None
    source_state: str
    capture_id: int
    first_capture_id: int
    first_captured_at: datetime
    last_captured_at: datetime
    captures: int
    current: bool
    text_sha256: str
    snippet: list[Piece] = field(default_factory=list)

    @property
    def captured_at(self) -> datetime:
        """The date of the capture the hit names (`capture_id`): the last that said it."""
        return self.last_captured_at


def _fts5(query: Query) -> str:
    def phrase(p: Phrase) -> str:
        return '"' + " ".join(p.terms) + '"' + (" *" if p.prefix else "")

    groups = []
    for group in query.alternatives:
        wanted = " AND ".join(phrase(p) for p in group if not p.negated)
        unwanted = "".join(" NOT " + phrase(p) for p in group if p.negated)
        groups.append(f"({wanted}{unwanted})")
    return " OR ".join(groups)


def _tsquery(query: Query) -> str:
    def lexeme(term: str, prefix: bool) -> str:
        return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")

    def phrase(p: Phrase) -> str:
        last = len(p.terms) - 1
        inner = " <-> ".join(lexeme(t, p.prefix and i == last) for i, t in enumerate(p.terms))
        return ("!" if p.negated else "") + f"({inner})"

    return " | ".join("(" + " & ".join(phrase(p) for p in group) + ")" for group in query.alternatives)


def _matching_texts(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT text_sha256 FROM search_texts WHERE terms @@ CAST(:match AS tsquery)"
    return ("SELECT text_sha256 FROM search_texts WHERE id IN "
            "(SELECT rowid FROM search_terms WHERE search_terms MATCH :match)")


def _where(session: Session, query: Query, source_id: int | None) -> tuple[str, dict]:
    """The condition on source_texts (alias t) that keeps the rows matching `query`, and its
    parameters."""
    dialect = session.get_bind().dialect.name
    match = _tsquery(query) if dialect == "postgresql" else _fts5(query)
    where = f"t.text_sha256 IN ({_matching_texts(dialect)})"
    if source_id is not None:
        where += " AND t.source_id = :source_id"
    return where, {"match": match, "source_id": source_id}


def _page(session: Session, query: Query, limit: int, offset: int, source_id: int | None) -> list:
    """One page of matching source_texts rows, newest first, with their source and the title
    of their last capture."""
    where, params = _where(session, query, source_id)
    sql = text(
        "SELECT t.source_id, t.text_sha256, t.first_at, t.last_at, t.captures, t.first_capture_id, "
        "t.last_capture_id, s.url, s.title, s.state, c.page_title, g.text_sha256 AS current_text "
        "FROM (SELECT * FROM source_texts t WHERE " + where + " "
        "ORDER BY t.last_at DESC, t.last_capture_id DESC LIMIT :limit OFFSET :offset) t "
        "JOIN sources s ON s.id = t.source_id "
        "LEFT JOIN captures c ON c.id = t.last_capture_id "
        "LEFT JOIN captures g ON g.id = s.last_good_capture_id "
        "ORDER BY t.last_at DESC, t.last_capture_id DESC"
    ).columns(first_at=UTCDateTime(), last_at=UTCDateTime())
    return list(session.execute(sql, {**params, "limit": limit, "offset": offset}).all())


def count_hits(session: Session, query: str, *, source_id: int | None = None) -> int:
    """How many hits search_captures would list for `query` over all its pages (QueryError as
    there)."""
    where, params = _where(session, parse_query(query), source_id)
    return session.execute(text("SELECT COUNT(*) FROM source_texts t WHERE " + where), params).scalar() or 0


def _texts(session: Session, keys: set[str]) -> dict[str, str]:
    """The stored texts of the hits; one whose blob is missing shows no passage."""
    from archiver.store import MissingBlob, get_texts

    try:
        return get_texts(session, keys)
    except MissingBlob:
        texts = {}
        for key in keys:
            try:
                texts.update(get_texts(session, [key]))
            except MissingBlob:
                continue
        return texts


def search_captures(session: Session, query: str, *, limit: int = 50, offset: int = 0,
                    source_id: int | None = None, width: int = 240) -> list[SearchHit]:
    """Every distinct stored text matching `query`, most recently seen first, one hit per
    source and text, with the matching passage (`width` characters or so) and its dates.

    `limit`/`offset` page through the hits (limit at most MAX_LIMIT); `source_id` keeps one
    source's. Raises QueryError (a ValueError with a message for the researcher) for a query
    with nothing to look for, or limits out of range. Captures stored before the index existed
    are found once `archiver search --reindex` has run (see unindexed_upto).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise QueryError("offset cannot be negative")
    parsed = parse_query(query)
    rows = _page(session, parsed, limit, offset, source_id)
    texts = _texts(session, {row.text_sha256 for row in rows})
    hits = []
    for row in rows:
        hits.append(SearchHit(
            source_id=row.source_id, url=row.url, title=row.page_title or row.title, source_state=row.state,
            capture_id=row.last_capture_id, first_capture_id=row.first_capture_id, first_captured_at=row.first_at,
            last_captured_at=row.last_at, captures=row.captures,
            current=row.state != "deleted" and row.current_text == row.text_sha256, text_sha256=row.text_sha256,
            snippet=snippet(texts.get(row.text_sha256, ""), parsed.phrases(), width=width)))
    return hits


def unindexed_upto(session: Session) -> int | None:
    """The last capture id of those stored before the search index existed, when they are not
    all indexed yet (`archiver search --reindex` indexes them); None when every capture is."""
    state = backlog(session)
    return state.upto if state.pending else None
