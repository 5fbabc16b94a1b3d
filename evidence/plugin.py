"""The evidence package as an archiver plugin: its commands and its hooks (archiver.hookspecs).

A quote check after every capture, its rows removed with purged captures, the claims and
missing quotes the notification digest names, the accessed dates a Wayback recovery aims at.
The archiver's CLI imports this module to learn which commands it provides, so it imports
nothing but the hook marker: each command's module is imported when that command runs
(`lazy_commands`), and each hook's when it is first called.
"""

from __future__ import annotations

from archiver.hookspecs import hookimpl

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


@hookimpl
def after_captures(session, stored) -> None:
    """Check the quote of every citation of the stored captures' sources (see evidence.checks),
    the batch's citations in one query."""
    from evidence.checks import record_checks_many

    record_checks_many(session, stored)


@hookimpl
def before_purge(session, capture_ids) -> None:
    """Captures are being purged on purpose (archiver.custody): their quote checks go with them."""
    from sqlalchemy import delete

    from archiver.readdb import chunks
    from evidence.models import QuoteCheck

    for chunk in chunks(capture_ids):
        session.execute(delete(QuoteCheck).where(QuoteCheck.capture_id.in_(chunk))
                        .execution_options(synchronize_session=False))


@hookimpl
def claims_for_sources(session, source_ids) -> dict[int, list[dict]]:
    """The claims and data points citing each source, with their quotes (evidence.digest)."""
    from evidence.digest import claims_for_sources as cited

    return cited(session, source_ids)


@hookimpl
def findings(session, run_id) -> list[dict]:
    """The quotes that went missing in a run (evidence.digest)."""
    from evidence.digest import findings as missing

    return missing(session, run_id)


@hookimpl
def accessed_dates(session, source_id) -> list[str]:
    """The accessed dates of a source's citations, as written."""
    from sqlalchemy import select

    from evidence.models import Citation

    return list(session.scalars(
        select(Citation.accessed).where(Citation.source_id == source_id, Citation.accessed.is_not(None))))


@hookimpl
def register_models() -> None:
    """The evidence tables (claims, datapoints, citations, quote_checks) on the archiver's metadata."""
    import evidence.models  # noqa: F401


@hookimpl
def web_extension():
    """The web interface's pieces (claims, reports, the claims at risk): `archiver serve` only."""
    from evidence.web import extension

    return extension()


def __getattr__(name: str):
    # `commands`, the eager form of the plugin interface, for whoever asks for it.
    if name == "commands":
        from evidence.cli import commands as cli_commands
        from evidence.demo import demo_command

        return [*cli_commands, demo_command]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
