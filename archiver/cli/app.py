"""Shared pieces of the CLI: the lazily opened configuration and database, errors, JSON output.

`console` and `err_console`, the rich consoles, are made on first use (`from archiver.cli.app
import console` is a use): importing rich costs ~40 ms that `status` and `report` do without.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn

import click

from archiver.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from rich.console import Console

    from archiver.readdb import Reader

_CONSOLES = {"console": {}, "err_console": {"stderr": True}}


def _console(name: str) -> Console:
    made = globals().get(name)
    if made is None:
        made = globals()[name] = make_console(**_CONSOLES[name])
    return made


def make_console(stderr: bool = False) -> Console:
    """A rich console; piped or redirected, it never breaks a line of text (scripts grep them)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, soft_wrap=not stream.isatty())


def print_table(console: Console, table) -> None:
    """Print a rich table: fitted to a terminal's width, and piped at its natural width, so
    that no cell (an id, a URL, a date) is ever cut over two lines in a file or a pipe."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    widest = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    saved = console.width
    console.width = max(widest, saved)
    try:
        console.print(table, soft_wrap=False)
    finally:
        console.width = saved


def __getattr__(name: str):
    if name in _CONSOLES:
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class App:
    """What every command needs: the configuration and the database, opened on first use."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            fail(f"configuration error: {exc}")

    @cached_property
    def sessions(self):
        """SQLAlchemy sessions on the database (created or upgraded on first use; a new SQLite
        file is announced in the log, on stderr, so nobody fills a database they did not mean to use)."""
        from archiver.db import DatabaseError, open_database

        missing = self.missing_file()
        try:
            made = open_database(self.config.database.url)
        except DatabaseError as exc:
            fail(str(exc))
        if missing:  # a log line on stderr: seen in a terminal and in a cron log, never mixed into --json output
            logging.getLogger("archiver").warning("created a new database: %s", self.database)
        return made

    @property
    def database(self) -> str:
        """The database in use, as shown to people (password masked), and where that setting came from."""
        from archiver.readdb import sqlite_file
        from archiver.redact import mask_url

        path = sqlite_file(self.config.database.url)
        shown = f"{path} (SQLite)" if path else mask_url(self.config.database.url)
        return f"{shown}, from {database_origin(self.config)}"

    def missing_file(self) -> str | None:
        """The SQLite file of the configured database when it does not exist yet, else None."""
        from archiver.readdb import sqlite_file

        path = sqlite_file(self.config.database.url)
        return path if path and not os.path.exists(path) else None

    def existing(self) -> None:
        """Fail, creating nothing, when the configured SQLite database does not exist: a command
        that only reads (status, show, report ...) run in the wrong folder must say so."""
        path = self.missing_file()
        if path:
            fail(f"no archive database at {path} ({database_origin(self.config)}). Run this in the folder that "
                 "holds your archive, or give --config FILE or ARCHIVER_DATABASE_URL; `archiver add` or "
                 "`archiver import` start a new one here.")

    @contextlib.contextmanager
    def reader(self) -> Iterator[Reader]:
        """A read connection without SQLAlchemy (archiver.readdb), for the commands that only
        read and must start fast: `status`, `report`. Closed when the block ends. Never creates
        a database (see `existing`)."""
        from archiver.readdb import DatabaseError, connect

        self.existing()
        try:
            db = connect(self.config.database.url)
        except DatabaseError as exc:
            fail(str(exc))
        with db:
            yield db


def database_origin(config: Config) -> str:
    """Where the database setting came from, in words."""
    if os.environ.get("ARCHIVER_DATABASE_URL"):
        return "ARCHIVER_DATABASE_URL"
    if config.path:
        return f"the settings file {config.path}"
    return "the default, ./archive.db in the current folder"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """'1 new body', '3 new bodies': a count with the noun in the right number."""
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error and exit with `code`."""
    from rich.markup import escape

    from archiver.redact import scrub

    _console("err_console").print(f"[bold red]error:[/] {escape(scrub(message))}", highlight=False, soft_wrap=True)
    sys.exit(code)


def tracked_source(session, url: str):
    """The tracked source for `url`, or a one-line error: exit 2 for a malformed URL, 1 when untracked."""
    from archiver.sources import find_source
    from archiver.urls import InvalidURL

    try:
        source = find_source(session, url)
    except InvalidURL as exc:
        fail(str(exc), code=2)
    if source is None:
        fail(f"not tracked: {url} (add it with `archiver add URL` first)")
    return source


def print_json(data) -> None:
    """JSON for scripts: UTF-8, Chinese left readable, secrets masked (archiver.redact)."""
    from archiver.redact import scrub

    click.echo(scrub(json.dumps(data, ensure_ascii=False, indent=2, default=str)))


pass_app = click.make_pass_decorator(App)


