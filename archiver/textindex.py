"""The full-text index of every stored text: filled as captures are written, backfilled on demand.

One row of `search_texts` per distinct extracted text (the blob's SHA-256): a page unchanged
for 300 nights is indexed once. Its terms (archiver.terms) go to the database's own index:

- SQLite: the contentless FTS5 table `search_terms` (rowid = search_texts.id; the index only,
  no copy of the terms), tokenizer `ascii`, which splits the space-separated terms computed
  here and nothing else;
- PostgreSQL: the `terms` tsvector column of `search_texts` under a GIN index, written as a
  tsvector literal of the same terms with their positions (no text-search parser involved).

The capture writer, Wayback recovery and WARC import call `index_quietly` in the transaction
that stores the captures; a failure there is logged and never costs a capture. Captures stored
before the index existed (migration 0012 records up to which capture id) and any text missed
are indexed by `reindex` (`archiver search --reindex`). A purge removes the texts it deletes
(`forget_texts`), so purged words cannot be found again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from archiver.models import Capture, Source, SourceText, UTCDateTime
from archiver.readdb import chunks
from archiver.store import MissingBlob, get_texts
from archiver.terms import index_terms

log = logging.getLogger(__name__)

# PostgreSQL keeps positions up to 16383 and at most 256 of them per term, and a tsvector
# under 1 MB; past these the terms are still indexed, at the last position.
PG_MAX_POSITION = 16383
PG_MAX_POSITIONS_PER_TERM = 256
PG_MAX_VECTOR_BYTES = 900_000


def _lexeme(term: str) -> str:
    if "'" in term or "\\" in term:  # never from archiver.terms (letters and digits only), but safe
        term = term.replace("\\", "\\\\").replace("'", "''")
    return "'" + term + "'"


def tsvector_literal(terms: list[str]) -> str:
    """The tsvector (as text) holding `terms` at their positions, within PostgreSQL's limits:
    past position 16,383 a term is kept at that position, and the vector under 1 MB."""
    positions: dict[str, list[int]] = {}
    for number, term in enumerate(terms[:PG_MAX_POSITION], start=1):
        spots = positions.get(term)
        if spots is None:
            positions[term] = [number]
        elif len(spots) < PG_MAX_POSITIONS_PER_TERM:
            spots.append(number)
    for term in set(terms[PG_MAX_POSITION:]) - positions.keys():
        positions[term] = [PG_MAX_POSITION]
    parts, size = [], 0
    for term, spots in positions.items():
        part = _lexeme(term) + ":" + ",".join(map(str, spots))
        size += len(part.encode("utf-8"))
        if size > PG_MAX_VECTOR_BYTES:
            break
        parts.append(part)
    return " ".join(parts)


def _rows_in(session: Session, sql: str, keys: list) -> list:
    """The rows of `sql`, whose "{in_keys}" is a condition on a list of keys, over all `keys`
    (in chunks). PostgreSQL binds the list as one array, and parses a short query rather
    than one with 500 placeholders."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text(sql.format(in_keys="= ANY(:keys)"))
    else:
        statement = text(sql.format(in_keys="IN :keys")).bindparams(bindparam("keys", expanding=True))
    rows: list = []
    for chunk in chunks(keys):
        rows += session.execute(statement, {"keys": list(chunk)}).all()
    return rows


def _indexed(session: Session, keys: list[str]) -> set[str]:
    return {row[0] for row in _rows_in(session, "SELECT text_sha256 FROM search_texts WHERE text_sha256 {in_keys}",
                                       keys)}


def index_texts(session: Session, texts: Mapping[str, str], terms: Mapping[str, str] | None = None) -> int:
    """Index the texts (by their blob SHA-256) not indexed yet, in the caller's transaction;
    returns how many were new. `terms`: the terms of some of them, space-separated, when the
    caller has them already (archiver.tasks.PackedText)."""
    wanted = {key: value for key, value in texts.items() if key}
    known = terms or {}
    if not wanted:
        return 0
    new = [key for key in wanted if key not in _indexed(session, list(wanted))]
    if not new:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("INSERT INTO search_texts (text_sha256, terms) VALUES (:key, CAST(:terms AS tsvector)) "
                 "ON CONFLICT (text_sha256) DO NOTHING"),
            [{"key": key, "terms": tsvector_literal(known[key].split() if key in known else index_terms(wanted[key]))}
             for key in new])
        return len(new)
    session.execute(text("INSERT INTO search_texts (text_sha256) VALUES (:key)"), [{"key": key} for key in new])
    ids = dict(_rows_in(session, "SELECT text_sha256, id FROM search_texts WHERE text_sha256 {in_keys}", new))
    session.execute(text("INSERT INTO search_terms (rowid, terms) VALUES (:id, :terms)"),
                    [{"id": ids[key], "terms": known.get(key) or " ".join(index_terms(wanted[key]))} for key in new])
    return len(new)


_SPANS_UPSERT = (
    "INSERT INTO source_texts (source_id, text_sha256, first_capture_id, first_at, last_capture_id, last_at, captures) "
    "VALUES (:source_id, :text_sha256, :first_capture_id, :first_at, :last_capture_id, :last_at, :captures) "
    "ON CONFLICT (source_id, text_sha256) DO UPDATE SET "
    "first_capture_id = CASE WHEN excluded.first_at < source_texts.first_at "
    "THEN excluded.first_capture_id ELSE source_texts.first_capture_id END, "
    "first_at = {earliest}(source_texts.first_at, excluded.first_at), "
    "last_capture_id = CASE WHEN excluded.last_at >= source_texts.last_at "
    "THEN excluded.last_capture_id ELSE source_texts.last_capture_id END, "
    "last_at = {latest}(source_texts.last_at, excluded.last_at), "
    "captures = source_texts.captures + excluded.captures"
)


def _spans_upsert(dialect: str):
    """An INSERT of source_texts rows that merges into an existing row: earliest first, latest
    last, captures added up (plain SQL, run as one executemany)."""
    earliest, latest = ("LEAST", "GREATEST") if dialect == "postgresql" else ("MIN", "MAX")
    return text(_SPANS_UPSERT.format(earliest=earliest, latest=latest)).bindparams(
        bindparam("first_at", type_=UTCDateTime()), bindparam("last_at", type_=UTCDateTime()))


def record_spans(session: Session, captures) -> None:
    """Count new captures in source_texts: each (source, text) pair's first and last capture and
    how many hold it. `captures`: objects with id, source_id, started_at and text_sha256."""
    spans: dict[tuple[int, str], dict] = {}
    for capture in captures:
        if not capture.text_sha256:
            continue
        key = (capture.source_id, capture.text_sha256)
        span = spans.get(key)
        if span is None:
            spans[key] = {"source_id": key[0], "text_sha256": key[1], "first_capture_id": capture.id,
                          "first_at": capture.started_at, "last_capture_id": capture.id,
                          "last_at": capture.started_at, "captures": 1}
            continue
        span["captures"] += 1
        if capture.started_at < span["first_at"]:
            span["first_capture_id"], span["first_at"] = capture.id, capture.started_at
        if capture.started_at >= span["last_at"]:
            span["last_capture_id"], span["last_at"] = capture.id, capture.started_at
    if spans:
        session.execute(_spans_upsert(session.get_bind().dialect.name), list(spans.values()))


def rebuild_spans(session: Session, source_ids) -> None:
    """source_texts of these sources computed again from their captures (after a purge, or to
    repair the index)."""
    for chunk in chunks(sorted(set(source_ids))):
        session.execute(delete(SourceText).where(SourceText.source_id.in_(chunk)))
        rows = session.execute(
            select(Capture.id, Capture.source_id, Capture.started_at, Capture.text_sha256)
            .where(Capture.source_id.in_(chunk), Capture.text_sha256.is_not(None)).order_by(Capture.id)).all()
        record_spans(session, rows)


def index_captures(session: Session, captures, texts: Mapping[str, str], terms: Mapping[str, str] | None = None) -> int:
    """Make new captures searchable: their texts (by blob SHA-256) in the full-text index, and
    each capture counted in source_texts; returns how many texts were new to the index.
    `terms`: see index_texts."""
    added = index_texts(session, texts, terms)
    record_spans(session, captures)
    return added


def index_quietly(session: Session, captures, texts: Mapping[str, str], terms: Mapping[str, str] | None = None) -> int:
    """index_captures inside a savepoint: a failure is logged and leaves the caller's captures
    intact (`archiver search --reindex-all` indexes them later)."""
    try:
        with session.begin_nested():
            return index_captures(session, captures, texts, terms)
    except Exception as exc:  # the index is derived data: it must never cost a capture
        log.warning("the search index could not take %d captures (archiver search --reindex-all adds them): %s",
                    len(captures), exc)
        return 0


def forget_texts(session: Session, keys) -> int:
    """Remove texts from the index, before their blobs are purged; returns how many were indexed.

    SQLite's index keeps no copy of the terms (a contentless FTS5 table): removing a text takes
    its terms again, computed from its blob as when it was indexed."""
    rows = _rows_in(session, "SELECT id, text_sha256 FROM search_texts WHERE text_sha256 {in_keys}",
                    sorted({key for key in keys if key}))
    if session.get_bind().dialect.name == "sqlite" and rows:
        texts = _readable_texts(session, [key for _, key in rows], Reindexed())
        session.execute(text("INSERT INTO search_terms (search_terms, rowid, terms) VALUES ('delete', :id, :terms)"),
                        [{"id": row_id, "terms": " ".join(index_terms(texts[key]))}
                         for row_id, key in rows if key in texts])
    for chunk in chunks([row_id for row_id, _ in rows]):
        session.execute(text("DELETE FROM search_texts WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
                        {"ids": list(chunk)})
    return len(rows)


@dataclass
class Backlog:
    """Captures stored before the index existed: those up to `upto` are indexed once `done`
    reaches it."""

    upto: int
    done: int

    @property
    def pending(self) -> bool:
        return self.done < self.upto


def backlog(session: Session) -> Backlog:
    """How far the backfill of captures older than the index has gone (one row, read cheaply)."""
    row = session.execute(text("SELECT capture_id_upto, done_upto FROM search_backfill")).first()
    return Backlog(row[0], row[1]) if row else Backlog(0, 0)


@dataclass
class Reindexed:
    """What a reindex did: texts read and newly indexed, and those that could not be read."""

    texts_seen: int = 0
    texts_added: int = 0
    unreadable: int = 0


def _captures_after(session: Session, after: int, upto: int | None, batch: int) -> list:
    query = (select(Capture.id, Capture.source_id, Capture.started_at, Capture.text_sha256)
             .where(Capture.id > after, Capture.text_sha256.is_not(None)).order_by(Capture.id).limit(batch))
    if upto is not None:
        query = query.where(Capture.id <= upto)
    return list(session.execute(query).all())


def _index_missing(session: Session, rows, result: Reindexed) -> None:
    keys = sorted({row.text_sha256 for row in rows})
    result.texts_seen += len(keys)
    missing = sorted(set(keys) - _indexed(session, keys))
    result.texts_added += index_texts(session, _readable_texts(session, missing, result))


def reindex(sessions: sessionmaker, *, everything: bool = False, batch: int = 500,
            progress: Callable[[Reindexed, int], None] | None = None) -> Reindexed:
    """Index the captures stored before the index existed, one transaction per batch of
    `batch` captures, so that an interrupted reindex resumes where it stopped.

    With `everything`, every capture's text missing from the index is added, and source_texts
    is computed again from the captures, source by source (a repair, after a failed write).
    `progress(done, last_id)` after each batch: last_id is a capture id, then a source id."""
    result = Reindexed()
    with sessions() as session:
        state = backlog(session)
    after, upto = (0, None) if everything else (state.done, state.upto)
    while rows := _in_session(sessions, _captures_after, after, upto, batch):
        with sessions.begin() as session:
            _index_missing(session, rows, result)
            if not everything:
                record_spans(session, rows)
                session.execute(text("UPDATE search_backfill SET done_upto = :after"), {"after": rows[-1].id})
        after = rows[-1].id
        if progress:
            progress(result, after)
    if everything:
        after = 0
        while ids := _in_session(sessions, _sources_after, after, batch):
            with sessions.begin() as session:
                rebuild_spans(session, ids)
            after = ids[-1]
            if progress:
                progress(result, after)
    with sessions.begin() as session:
        session.execute(text("UPDATE search_backfill SET done_upto = capture_id_upto"))
    return result


def _in_session(sessions: sessionmaker, read, *args):
    with sessions() as session:
        return read(session, *args)


def _sources_after(session: Session, after: int, batch: int) -> list[int]:
    return list(session.scalars(select(Source.id).where(Source.id > after).order_by(Source.id).limit(batch)))


def _readable_texts(session: Session, keys: list[str], result: Reindexed) -> dict[str, str]:
    """The stored texts of `keys`; a text that is not UTF-8 or missing is counted, not indexed."""
    try:
        return get_texts(session, keys)
    except (MissingBlob, UnicodeDecodeError):
        texts = {}
        for key in keys:
            try:
                texts.update(get_texts(session, [key]))
            except (MissingBlob, UnicodeDecodeError):
                result.unreadable += 1
        return texts
