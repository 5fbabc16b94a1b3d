"""Database engine, sessions, and automatic schema upgrades through Alembic.

SQLite is the embedded default: WAL journal and a busy timeout let a second process read
(or a second worker write) while a run is writing. PostgreSQL runs the same code and
migrations; it is the path for several workers on several machines.

Every command opens the database, so opening must be quick: the schema version is checked by
reading `alembic_version` with SQLAlchemy and comparing it with the head revision read from
the migration files' `revision` / `down_revision` lines (archiver.readdb.script_heads). Alembic
itself (half a second of imports) is imported only when the schema has to be created or
upgraded, or when the files cannot be read that simply. The read commands do not come here at
all unless the schema needs work: they read through archiver.readdb, without SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from archiver.readdb import MIGRATIONS_DIR, VERSION_DIRS, DatabaseError, normalise_db_url, script_heads, unwritable
from archiver.redact import mask_url, scrub

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_DISK_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded", "could not extend file")
_READ_ONLY = ("readonly database", "read-only file system", "read-only database", "permission denied")


def storage_problem(exc: BaseException) -> str | None:
    """A sentence for a researcher when `exc` (or what caused it) says the database cannot be
    written: its disk is full, or its file or folder is read-only. None for any other error.

    A transaction that fails this way stores nothing of its batch, and what earlier
    transactions stored stays: the message says so, and that what was not stored stays due.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    texts: list[str] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(str(getattr(current, "orig", None) or current))
        current = current.__cause__ or current.__context__
    text = " ".join(texts).lower()
    detail = scrub(texts[0].splitlines()[0].strip()) if texts and texts[0] else type(exc).__name__
    if any(phrase in text for phrase in _DISK_FULL):
        return (f"the database could not be written: the disk holding it is full ({detail}). What was stored "
                "before is intact; free some space and run again: what was not stored is still due")
    if any(phrase in text for phrase in _READ_ONLY):
        return (f"the database could not be written: its file or folder is read-only, or not writable by this user ({detail}). "
                "Nothing in it was changed; make it writable for the user running the archiver, "
                "or point [database] url elsewhere")
    return None


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, with SQLite tuned for concurrent readers and writers."""
    url = normalise_db_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {mask_url(url)!r}: {scrub(str(exc))}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseError(f"cannot create SQLite database {database}: folder {parent} does not exist")
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(f"cannot use database URL {mask_url(url)!r}: {scrub(str(exc))}") from None


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration pointing at the project's migrations and this engine."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(map(str, VERSION_DIRS)))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise schema upgrades between processes that start at the same moment."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(727274)"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(727274)"))
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_revisions(engine: Engine) -> frozenset[str]:
    """The schema revisions the database is at, one per branch, as Alembic reads them (empty for
    an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def head_revisions(engine: Engine) -> frozenset[str]:
    """The newest migration of each branch, as Alembic finds them."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions in the database's `alembic_version` table, read with plain SQL; None when
    it cannot be read (no such table yet: the database is new). Raises OperationalError when
    the database cannot be reached."""
    with engine.connect() as conn:
        try:
            return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except SQLAlchemyError:
            return None


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there.

    The usual case, a database already at the newest revision, costs one query and no Alembic.
    """
    try:
        heads = script_heads()
        if heads and stored_revisions(engine) == heads:
            return
        from alembic import command

        heads = head_revisions(engine)
        if current_revisions(engine) == heads:
            return
        with _migration_lock(engine):
            if current_revisions(engine) != heads:
                command.upgrade(alembic_config(engine), "heads")
    except OperationalError as exc:
        path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
        reason = unwritable(path) if path and path != ":memory:" else None
        if reason:
            raise DatabaseError(f"cannot open database {path}: {reason}. The archiver writes to it (captures, "
                                "and the -wal and -shm files beside it); nothing in it was changed") from None
        raise DatabaseError(f"cannot reach database {mask_url(engine.url.render_as_string(hide_password=False))}: "
                            f"{scrub(str(exc.orig))}") from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot upgrade database schema: {exc}") from None


def open_database(url: str) -> sessionmaker[Session]:
    """Open (creating and upgrading as needed) the database at `url` and return a session factory."""
    engine = make_engine(url)
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)



def sqlite_path(url: str) -> str | None:
    """The file behind a SQLite URL, or None for other databases."""
    parsed = make_url(normalise_db_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return os.fspath(parsed.database)
    return None
