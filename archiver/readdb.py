"""Reading the archive without SQLAlchemy: a DB-API connection for the read commands.

`archiver status` and `archiver report` run a handful of indexed queries that take a few
milliseconds, but importing SQLAlchemy and its ORM takes a third of a second, which was most
of their run time. They read through this module instead, which imports only the driver:
the standard library's sqlite3, or psycopg 3 for a PostgreSQL URL.

- `connect(url)` opens a `Reader` on its own connection, after checking that the schema is at
  the newest migration the way archiver.db does (the `alembic_version` row against the head
  read from the migration files). A database that is missing, empty, at an older revision or
  unreadable goes through archiver.db.open_database first, which creates or upgrades it (and
  imports SQLAlchemy and Alembic: only then).
- `Reader.of_session(session)` reads on an SQLAlchemy session's own DB-API connection, inside
  its transaction, so code that holds a session runs the same queries and sees its writes.
- Queries are written once for both drivers, with `?` placeholders (`in_list` and `chunks`
  for IN lists); `utc()` and `Reader.json()` turn stored timestamps and JSON into what the ORM
  returns.

The head revision reading (`script_heads`) and `DatabaseError` live here so that this module
needs nothing from archiver.db; archiver.db imports them.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import overload
from urllib.parse import parse_qsl, unquote

import migrations
from archiver.redact import mask_url, scrub

MIGRATIONS_DIR = Path(migrations.__file__).parent
VERSION_DIRS: tuple[Path, ...] = migrations.VERSION_DIRS
SQLITE_TIMEOUT = 30.0


class DatabaseError(Exception):
    """The database cannot be opened, reached or upgraded."""


_REVISION_LINE = re.compile(r"^revision\s*(?::[^=]*)?=\s*(.*?)\s*(?:#.*)?$", re.MULTILINE)
_DOWN_REVISION_LINE = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.*?)\s*(?:#.*)?$", re.MULTILINE)
_QUOTED = r"""(?:'([^'\\]+)'|"([^"\\]+)")"""
_ONE = re.compile(rf"^{_QUOTED}$")
_MANY = re.compile(rf"^[(\[]\s*{_QUOTED}(?:\s*,\s*{_QUOTED})*\s*,?\s*[)\]]$")


def _revision_ids(value: str) -> tuple[str, ...] | None:
    """The revision ids of a `revision = ...` or `down_revision = ...` value written on one line
    (None, 'a', ("a", "b")); None when it is written any other way."""
    if value == "None":
        return ()
    if _ONE.match(value) or _MANY.match(value):
        return tuple(a or b for a, b in re.findall(_QUOTED, value))
    return None


def script_heads(*version_dirs: Path) -> frozenset[str] | None:
    """The head revisions of the migrations (one per branch) in `version_dirs` (by default every
    branch's folder, migrations.VERSION_DIRS), read from the files' `revision` and `down_revision`
    lines without importing Alembic; None when the files do not say it that simply (then ask Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        paths = sorted(p for folder in (version_dirs or VERSION_DIRS) for p in folder.glob("*.py")
                       if not p.name.startswith("_"))
        for path in paths:
            source = path.read_text(encoding="utf-8")
            found, down = _REVISION_LINE.findall(source), _DOWN_REVISION_LINE.findall(source)
            if len(found) != 1 or len(down) != 1:
                return None
            revision, down_revisions = _revision_ids(found[0]), _revision_ids(down[0])
            if revision is None or len(revision) != 1 or down_revisions is None or revision[0] in revisions:
                return None
            revisions.add(revision[0])
            parents.update(down_revisions)
    except (OSError, UnicodeDecodeError):
        return None
    if not revisions or not parents <= revisions:
        return None
    return frozenset(revisions - parents)


@overload
def utc(value: datetime | str) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as the ORM's UTCDateTime returns it: timezone-aware, in UTC.

    SQLite keeps SQLAlchemy's naive UTC text ("2026-01-01 02:00:00.000000"); PostgreSQL's
    `timestamp with time zone` comes back aware, in the session's time zone."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def in_list(values: Sequence) -> str:
    """The placeholders of an IN list of len(values) items: "(?, ?, ?)"."""
    return "(" + ", ".join("?" * len(values)) + ")"


def chunks(items: Sequence, size: int = 500):
    """`items` in slices of `size`: IN lists stay well under both drivers' parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


_PYFORMAT: dict[str, str] = {}


def _pyformat(sql: str) -> str:
    """A qmark query in psycopg's format paramstyle (the queries here hold no ? in strings)."""
    converted = _PYFORMAT.get(sql)
    if converted is None:
        converted = _PYFORMAT[sql] = sql.replace("%", "%%").replace("?", "%s")
    return converted


class Reader:
    """A read connection: rows of plain tuples from `?`-style queries on SQLite or PostgreSQL.

    `statements` counts the queries run, for tests and benchmarks that check how many a
    command needs. Used as a context manager, it closes a connection it opened itself.
    """

    def __init__(self, connection, dialect: str, close=None) -> None:
        self.connection = connection
        self.dialect = dialect
        self.statements = 0
        self._close = close
        if dialect == "sqlite":
            self.errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        else:
            import psycopg

            self.errors = (psycopg.Error,)

    @classmethod
    def of_session(cls, session) -> Reader:
        """Read on an SQLAlchemy session's own connection, inside its transaction (its pending
        changes are flushed first, as the ORM's autoflush would before a query)."""
        session.flush()
        raw = session.connection().connection.driver_connection
        return cls(raw, "sqlite" if isinstance(raw, sqlite3.Connection) else "postgresql")

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Every row of a query with `?` placeholders."""
        if self.dialect == "postgresql":
            sql = _pyformat(sql)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            self.statements += 1
            return cursor.fetchall()
        finally:
            cursor.close()

    def json(self, value):
        """A JSON column's value as the ORM returns it (SQLite stores the text, psycopg decodes it)."""
        if self.dialect == "sqlite" and isinstance(value, (str, bytes)):
            return json.loads(value)
        return value

    def close(self) -> None:
        """Close the connection if this reader opened it (a session's connection stays the session's)."""
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def unwritable(path: str) -> str | None:
    """Why SQLite cannot write the database file at `path`, or None: a read-only file system,
    file or folder (SQLite also writes FILE-wal and FILE-shm beside it)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except OSError:
        return None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is read-only (SQLite writes {os.path.basename(path)}-wal and -shm beside it)"
    return None


def normalise_db_url(url: str) -> str:
    """A database URL as SQLAlchemy and this module read it: a bare path means SQLite, and
    postgres:// and postgresql:// mean psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def sqlite_file(url: str) -> str | None:
    """The absolute path of a SQLite database URL's file (a bare path counts), else None (another
    database, or SQLite in memory)."""
    scheme, _, rest = normalise_db_url(url).partition("://")
    if scheme.split("+", 1)[0].lower() != "sqlite":
        return None
    path = unquote(rest.partition("?")[0])
    if not path.startswith("/") or path in ("/", "/:memory:"):
        return None
    return os.path.abspath(path[1:])


def _sqlite_target(url: str) -> tuple[str, dict] | None:
    """The sqlite3.connect arguments for a SQLite URL, resolved as SQLAlchemy's pysqlite dialect
    does (a relative path is relative to the working directory); None for an in-memory database."""
    rest = url.split("://", 1)[1]
    path, _, query = rest.partition("?")
    if not path:
        return None
    if not path.startswith("/"):
        raise DatabaseError(f"invalid SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute.db")
    database = unquote(path[1:])
    options = dict(parse_qsl(query))
    kwargs: dict = {"timeout": float(options.pop("timeout", SQLITE_TIMEOUT))}
    if options.pop("uri", "").lower() in ("true", "1"):
        kwargs["uri"] = True
        if options:
            database += "?" + "&".join(f"{k}={options[k]}" for k in sorted(options))
        return database, kwargs
    if not database or database == ":memory:":
        return None
    return os.path.abspath(database), kwargs


def _open_sqlite(target: tuple[str, dict]) -> Reader | None:
    """A reader on an existing SQLite file, or None when there is no file there yet."""
    database, kwargs = target
    if not kwargs.get("uri") and not os.path.isfile(database):
        return None
    connection = sqlite3.connect(database, **kwargs)
    try:
        connection.execute("PRAGMA query_only=ON")
    except sqlite3.Error:
        connection.close()
        raise
    return Reader(connection, "sqlite", close=connection.close)


def _open_postgresql(url: str) -> Reader:
    import psycopg

    conninfo = re.sub(r"^[\w+]+://", "postgresql://", url, count=1)
    try:
        connection = psycopg.connect(conninfo)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot reach database {mask_url(url)}: {scrub(str(exc))}") from None
    return Reader(connection, "postgresql", close=connection.close)


def _at_head(reader: Reader) -> bool:
    """Whether the schema is at the newest migration: `alembic_version` holds exactly the heads of
    the migration files. False when that cannot be told without Alembic (no such table yet, not a
    database, migration files written in a way script_heads does not read)."""
    heads = script_heads()
    if not heads:
        return False
    try:
        stored = frozenset(row[0] for row in reader.rows("SELECT version_num FROM alembic_version"))
    except reader.errors:
        if reader.dialect == "postgresql":
            reader.connection.rollback()
        return False
    return stored == heads


def connect(url: str) -> Reader:
    """A reader on the database at `url` (a bare path means SQLite), its schema at the newest
    migration: a database that is missing, empty or older is created or upgraded first.

    Raises DatabaseError when the database cannot be reached, created or upgraded."""
    url = normalise_db_url(url)
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    open_file: Callable[[], Reader | None]
    if scheme == "sqlite":
        target = _sqlite_target(url)
        if target is None:
            return _in_memory(url)
        open_file = partial(_open_sqlite, target)
    elif scheme in ("postgres", "postgresql"):
        open_file = partial(_open_postgresql, url)
    else:
        raise DatabaseError(f"cannot use database URL {mask_url(url)!r}: "
                            "use sqlite:///FILE or postgresql://user@host/db")
    try:
        reader = open_file()
        if reader is not None and _at_head(reader):
            return reader
    except sqlite3.Error:
        reader = None
    if reader is not None:
        reader.close()
    from archiver.db import open_database

    open_database(url).kw["bind"].dispose()
    try:
        reader = open_file()
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open database {url}: {exc}") from None
    if reader is None:
        raise DatabaseError(f"cannot open database {url}: no such file")
    return reader


def _in_memory(url: str) -> Reader:
    """An in-memory SQLite database lives in one connection: read on the connection of the
    engine that created its schema."""
    from archiver.db import open_database

    engine = open_database(url).kw["bind"]
    raw = engine.raw_connection()
    return Reader(raw.driver_connection, "sqlite", close=raw.close)
