"""Tracking sources: add a URL once, look sources up, list them with their latest state.

Adding and finding sources go through the ORM (an SQLAlchemy session); listing them for
`archiver status` (`list_sources`, `state_counts`, `status_rows`, `wayback_counts`) is plain SQL
on an archiver.readdb.Reader, so that the status command never imports SQLAlchemy. This
module imports SQLAlchemy only inside the functions that take a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from archiver.readdb import Reader, in_list, utc
from archiver.urls import normalise_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archiver.models import Capture, Source

INTERVALS = {"hourly": 1.0, "daily": 24.0, "weekly": 168.0}


def parse_interval(value: str | float | None) -> float | None:
    """Hours between captures from "hourly", "daily", "weekly", "6h", "2d" or a number of hours."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        hours = float(value)
    else:
        text = value.strip().lower()
        if text in INTERVALS:
            return INTERVALS[text]
        factor = 1.0
        if text.endswith("h"):
            text = text[:-1]
        elif text.endswith("d"):
            text, factor = text[:-1], 24.0
        elif text.endswith("w"):
            text, factor = text[:-1], 168.0
        try:
            hours = float(text) * factor
        except ValueError:
            raise ValueError(f"invalid interval {value!r}: use hourly, daily, weekly, or a number with h/d/w") from None
    if hours <= 0:
        raise ValueError(f"invalid interval {value!r}: must be positive")
    return hours


def add_source(
    session: Session,
    url: str,
    *,
    lang: str | None = None,
    title: str | None = None,
    publisher: str | None = None,
    interval_hours: float | None = None,
    no_wayback: bool | None = None,
    render: str | None = None,
    vantage: str | None = None,
    recheck: str | None = None,
) -> tuple[Source, bool]:
    """Track `url` (normalised). Returns (source, created); an existing source gains missing details.

    `no_wayback` True keeps the source away from the Wayback Machine (its submissions still
    waiting are withdrawn), False allows it again, None leaves it as it is.
    `render` ("never", "auto", "always"; archiver.rendering) sets how the source is captured, None
    leaves it as it is ([fetch] render for a new source).
    `vantage` and `recheck` (names checked by archiver.vantages.check_name) set where it is
    captured from and checked again from; None leaves them as they are.
    Raises archiver.urls.InvalidURL for a malformed or non-http(s) URL.
    """
    from sqlalchemy import select

    from archiver.models import Source, utcnow

    normalised = normalise_url(url)
    source = session.scalars(select(Source).where(Source.url == normalised)).first()
    if source is not None:
        for name, value in (("lang", lang), ("title", title), ("publisher", publisher)):
            if value and not getattr(source, name):
                setattr(source, name, value)
        if interval_hours and source.interval_hours != interval_hours:
            source.interval_hours = interval_hours
        if render is not None:
            source.render = render
        if vantage:
            source.vantage = vantage
        if recheck:
            source.recheck_vantage = recheck
        if no_wayback is not None and bool(source.no_wayback) != no_wayback:
            source.no_wayback = no_wayback
            if no_wayback:
                from archiver.submissions import withdraw_jobs

                withdraw_jobs(session, source.id)
        return source, False
    source = Source(
        url=normalised,
        lang=lang or None,
        title=title or None,
        publisher=publisher or None,
        interval_hours=interval_hours,
        no_wayback=bool(no_wayback),
        render=render,
        vantage=vantage or None,
        recheck_vantage=recheck or None,
        added_at=utcnow(),
        next_due_at=utcnow(),
        state="pending",
        capture_count=0,
    )
    session.add(source)
    session.flush()
    return source, True


def find_source(session: Session, url: str) -> Source | None:
    """The tracked source for `url` (any spelling that normalises the same), or None."""
    from sqlalchemy import select

    from archiver.models import Source

    return session.scalars(select(Source).where(Source.url == normalise_url(url))).first()


def failed_source_ids(session: Session) -> list[int]:
    """The sources whose last attempt failed: an error was recorded on it (refused, timed out,
    crashed), or the page was unreachable. `archiver run --retry-failed` captures them now."""
    from sqlalchemy import or_, select

    from archiver.models import Source

    query = select(Source.id).where(or_(Source.last_error.is_not(None), Source.state == "unreachable"))
    return list(session.scalars(query.order_by(Source.id)))


@dataclass
class SourceRow:
    """One line of `archiver status`."""

    id: int
    url: str
    state: str
    state_since: datetime | None
    state_reason: str | None
    final_url: str | None
    last_checked: datetime | None
    last_error: str | None
    captures: int
    unreachable_since: datetime | None
    title: str | None
    lang: str | None
    no_wayback: bool = False
    next_due: datetime | None = None
    interval_hours: float | None = None
    untracked_at: datetime | None = None
    untracked_reason: str | None = None
    vantage: str | None = None
    recheck_vantage: str | None = None

    def interval(self, default_hours: float) -> float:
        """Hours between captures: the source's own interval, else the configured default."""
        return self.interval_hours or default_hours

    def as_json(self, default_interval_hours: float | None = None) -> dict:
        def iso(value):
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "state_since": iso(self.state_since),
            "reason": self.state_reason,
            "final_url": self.final_url,
            "last_checked": iso(self.last_checked),
            "last_error": self.last_error,
            "captures": self.captures,
            "unreachable_since": iso(self.unreachable_since),
            "title": self.title,
            "lang": self.lang,
            "no_wayback": self.no_wayback,
            "tracked": self.untracked_at is None,
            "untracked_at": iso(self.untracked_at),
            "untracked_reason": self.untracked_reason,
            "next_due": iso(self.next_due) if self.untracked_at is None else None,
            "interval_hours": self.interval_hours or default_interval_hours,
            "vantage": self.vantage,
            "recheck_vantage": self.recheck_vantage,
        }


_ROW_SELECT = (
    "SELECT id, url, state, state_since, state_reason, final_url, last_checked_at, last_error, capture_count,"
    " unreachable_since, title, lang, no_wayback, next_due_at, interval_hours, untracked_at, untracked_reason,"
    " vantage, recheck_vantage"
    " FROM sources"
)


def _source_rows(db: Reader, where: str, params: list, limit: int | None) -> list[SourceRow]:
    sql = _ROW_SELECT + (f" WHERE {where}" if where else "") + " ORDER BY id"
    if limit:
        sql += " LIMIT ?"
        params = [*params, limit]
    return [_source_row(r) for r in db.rows(sql, params)]


def _source_row(r: tuple) -> SourceRow:
    """A SourceRow from a row of _ROW_SELECT."""
    return SourceRow(r[0], r[1], r[2], utc(r[3]), r[4], r[5], utc(r[6]), r[7], r[8], utc(r[9]), r[10], r[11],
                     bool(r[12]), utc(r[13]), r[14], utc(r[15]), r[16], r[17], r[18])


def list_sources(db: Reader, state: str | None = None, limit: int | None = None) -> list[SourceRow]:
    """Every source (or those in `state`, at most `limit`) with its latest state, in the order added.

    Reads only the columns shown, as plain rows (the `status --json` interface)."""
    return _source_rows(db, "state = ?" if state else "", [state] if state else [], limit)


def status_rows(db: Reader, state: str | None, most: int | None, problems_first: tuple[str, ...]) -> list[SourceRow]:
    """The sources in `state`, or every source with those in the `problems_first` states first
    (in that order) then the others, each group in the order added; at most `most` (None: all).

    One query per group, each stopping at the rows still wanted, each on the state index: a
    table of the first 200 rows of 50,000 sources reads a few hundred rows, not all of them."""
    groups = [("state = ?", [state])] if state else [
        *(("state = ?", [problem]) for problem in problems_first),
        (f"state NOT IN {in_list(problems_first)}", list(problems_first)),
    ]
    rows: list[SourceRow] = []
    for where, params in groups:
        if most is not None and len(rows) >= most:
            break
        rows.extend(_source_rows(db, where, params, None if most is None else most - len(rows)))
    return rows


def state_counts(db: Reader) -> dict[str, int]:
    """How many sources are in each state."""
    return dict(db.rows("SELECT state, count(*) FROM sources GROUP BY state"))


def wayback_counts(db: Reader) -> dict[str, int]:
    """How many Wayback Machine submissions are in each status (pending, running, done, failed)."""
    return dict(db.rows("SELECT status, count(*) FROM wayback_jobs GROUP BY status"))


def source_captures(session: Session, source: Source) -> list[Capture]:
    """A source's captures, oldest first."""
    from sqlalchemy import select

    from archiver.models import Capture

    return list(session.scalars(select(Capture).where(Capture.source_id == source.id).order_by(Capture.id)))


# The columns the sources table can be sorted by, by the names its links use.
SORTS = {"added": "id", "url": "url", "title": "title", "state": "state", "since": "state_since",
         "checked": "last_checked_at", "captures": "capture_count", "lang": "lang"}


@dataclass
class SourceQuery:
    """Which sources to list, in what order, which page: the web interface's sources table.

    `site` is a host name: its pages and its subdomains' (gov.cn finds www.gov.cn). `text` is
    found in the URL or the title, case aside. `extra` holds SQL conditions on `sources` with
    their parameters (a plugin's filters, such as the claims' tags)."""

    state: str | None = None
    lang: str | None = None
    site: str | None = None
    text: str | None = None
    extra: list[tuple[str, list]] = field(default_factory=list)
    sort: str = "added"
    descending: bool = False
    limit: int = 50
    offset: int = 0


def like_pattern(value: str) -> str:
    """`value` with LIKE's wildcards taken literally, for `LIKE ? ESCAPE '#'` (the same on SQLite and PostgreSQL)."""
    return value.replace("#", "##").replace("%", "#%").replace("_", "#_")


def _conditions(query: SourceQuery) -> tuple[list[str], list]:
    where: list[str] = []
    params: list = []
    if query.state:
        where.append("state = ?")
        params.append(query.state)
    if query.lang:
        where.append("lang = ?")
        params.append(query.lang)
    if query.site:
        host = like_pattern(query.site.strip().lower().rstrip("/"))
        where.append("(" + " OR ".join(["url LIKE ? ESCAPE '#'"] * 4) + ")")
        params += [f"{scheme}://{sub}{host}/%" for scheme in ("http", "https") for sub in ("", "%.")]
    if query.text:
        pattern = f"%{like_pattern(query.text.strip().lower())}%"
        where.append("(lower(url) LIKE ? ESCAPE '#' OR lower(title) LIKE ? ESCAPE '#')")
        params += [pattern, pattern]
    for sql, values in query.extra:
        where.append(f"({sql})")
        params += values
    return where, params


def find_sources(db: Reader, query: SourceQuery) -> tuple[list[SourceRow], int]:
    """One page of the sources matching `query`, in its order, and how many match in all.

    Two statements (the page, the count); on 50,000 sources each reads the table once at most."""
    where, params = _conditions(query)
    clause = " AND ".join(where)
    direction = " DESC" if query.descending else ""
    order = f"{SORTS.get(query.sort, 'id')}{direction}, id{direction}"
    # The page's ids are sorted first, on narrow rows; then only those rows are read whole.
    page = f"SELECT id FROM sources{f' WHERE {clause}' if clause else ''} ORDER BY {order} LIMIT ? OFFSET ?"
    sql = f"{_ROW_SELECT} WHERE id IN ({page}) ORDER BY {order}"
    rows = [_source_row(r) for r in db.rows(sql, [*params, query.limit, query.offset])]
    [(total,)] = db.rows("SELECT count(*) FROM sources" + (f" WHERE {clause}" if clause else ""), params)
    return rows, total


def language_counts(db: Reader) -> dict[str, int]:
    """How many sources are in each language ("" for those without one)."""
    return {lang or "": count for lang, count in db.rows("SELECT lang, count(*) FROM sources GROUP BY lang")}
