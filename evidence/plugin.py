"""The evidence package as an archiver plugin: its commands, and a quote check after every capture.

The archiver's CLI imports this module to learn which commands it provides, so it imports
nothing: each command's module is imported when that command runs (`lazy_commands`), and the
quote checks when the first capture is stored.
"""

from __future__ import annotations

lazy_commands = {
    "claim": "evidence.cli:claim",
    "datapoint": "evidence.cli:datapoint",
    "cite": "evidence.cli:cite_command",
    "import": "evidence.cli:import_command",
    "import-citations": "evidence.cli:import_citations_command",
    "move-url": "evidence.cli:move_url_command",
    "export": "evidence.cli:export_command",
    "report": "evidence.cli:report_command",
    "demo": "evidence.demo:demo_command",
}


def after_capture(session, source, capture, text: str) -> None:
    """Check the quote of every citation of `source` against the capture just stored (see evidence.checks)."""
    after_captures(session, [(source, capture, text)])


def after_captures(session, stored: list[tuple]) -> None:
    """after_capture for a batch of (source, capture, text): the batch's citations in one query."""
    from evidence.checks import record_checks_many

    record_checks_many(session, stored)


def before_purge(session, capture_ids: list[int]) -> None:
    """Captures are being purged on purpose (archiver.custody): their quote checks go with them."""
    from sqlalchemy import delete

    from archiver.readdb import chunks
    from evidence.models import QuoteCheck

    for chunk in chunks(capture_ids):
        session.execute(delete(QuoteCheck).where(QuoteCheck.capture_id.in_(chunk))
                        .execution_options(synchronize_session=False))


def __getattr__(name: str):
    # `commands`, the eager form of the plugin interface, for whoever asks for it.
    if name == "commands":
        from evidence.cli import commands as cli_commands
        from evidence.demo import demo_command

        return [*cli_commands, demo_command]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The web interface's pieces (claims, reports, the claims at risk), loaded by `archiver serve` only.
web_extension = "evidence.web:extension"
