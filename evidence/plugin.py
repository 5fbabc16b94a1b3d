"""The evidence package as an archiver plugin: its commands, and a quote check after every capture."""

from __future__ import annotations

from evidence.checks import record_checks
from evidence.cli import commands as _cli_commands
from evidence.demo import demo_command

commands = [*_cli_commands, demo_command]


def after_capture(session, source, capture, text: str) -> None:
    """Check the quote of every citation of `source` against the capture just stored (see evidence.checks)."""
    record_checks(session, source, capture, text)
