"""`archiver search`: what any source ever said, deleted pages included (archiver.search)."""

from __future__ import annotations

import click

from archiver.cli.app import App, fail, pass_app, plural, print_json


def hit_json(hit) -> dict:
    """One hit for --json: the capture, its dates and the passage as [text, is_match] pieces."""
    return {
        "source_id": hit.source_id, "url": hit.url, "title": hit.title, "source_state": hit.source_state,
        "capture_id": hit.capture_id, "first_capture_id": hit.first_capture_id,
        "first_captured_at": hit.first_captured_at.isoformat(), "last_captured_at": hit.last_captured_at.isoformat(),
        "captures": hit.captures, "current": hit.current, "text_sha256": hit.text_sha256,
        "snippet": [[piece, marked] for piece, marked in hit.snippet],
    }


def _marked(pieces) -> str:
    from rich.markup import escape

    return "".join(f"[bold yellow]{escape(piece)}[/]" if marked else escape(piece) for piece, marked in pieces)


def _print_hits(hits) -> None:
    from rich.markup import escape
    from rich.table import Table

    from archiver.cli.app import console, print_table

    table = Table(header_style="bold", show_lines=True)
    table.add_column("source", overflow="fold", max_width=48)
    table.add_column("said it (UTC)", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("passage", overflow="fold", min_width=30)
    for hit in hits:
        first, last = hit.first_captured_at.strftime("%Y-%m-%d"), hit.last_captured_at.strftime("%Y-%m-%d")
        dates = first if first == last else f"{first} … {last}"
        dates += f"\n{plural(hit.captures, 'capture')}, #{hit.capture_id}"
        state = hit.source_state + ("" if hit.current else "\n[dim]no longer says it[/]")
        source = escape(hit.url) + (f"\n[dim]{escape(hit.title)}[/]" if hit.title else "")
        table.add_row(source, dates, state, _marked(hit.snippet))
    print_table(console, table)


@click.command()
@click.argument("query", required=False)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="At most this many hits.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many hits (the next page).")
@click.option("--url", "url", help="Only the captures of this source.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON array: source_id, url, title, source_state, capture_id, first_capture_id, first_captured_at, "
                   "last_captured_at, captures, current, text_sha256, snippet ([text, is_match] pieces).")
@click.option("--reindex", is_flag=True, help="Index the captures stored before search existed, then search (if QUERY).")
@click.option("--reindex-all", "reindex_all", is_flag=True, help="Index every capture's text not indexed yet (repairs).")
@pass_app
def search(app: App, query: str | None, limit: int, offset: int, url: str | None, as_json: bool,
           reindex: bool, reindex_all: bool) -> None:
    """Search the text of every capture ever stored, pages now deleted or edited included.

    One hit per distinct text of a source, newest first, with the matching passage and the
    first and last dates a capture said it. QUERY: words (all must be found), "a phrase",
    word* (prefix), -word (leave out), OR between alternatives. Chinese is found by any two
    characters or more (威视 inside 海康威视); case, accents and full-width forms do not matter.
    """
    from archiver.cli.app import err_console
    from archiver.search import QueryError, search_captures, unindexed_upto

    app.existing()
    if reindex or reindex_all:
        _reindex(app, reindex_all, quiet=as_json)
        if not query:
            return
    if not query:
        fail("give something to search for: archiver search QUERY", code=2)
    with app.sessions() as session:
        source_id = None
        if url:
            from archiver.cli.app import tracked_source

            source_id = tracked_source(session, url).id
        try:
            hits = search_captures(session, query, limit=limit, offset=offset, source_id=source_id)
        except QueryError as exc:
            fail(str(exc), code=2)
        backlog = unindexed_upto(session)
    if backlog is not None:
        err_console.print(f"[yellow]captures up to #{backlog} were stored before search existed and are not all "
                          "indexed yet: run `archiver search --reindex`[/]", highlight=False)
    if as_json:
        print_json([hit_json(hit) for hit in hits])
        return
    if not hits:
        err_console.print("no capture says that", highlight=False)
        return
    _print_hits(hits)


def _reindex(app: App, everything: bool, quiet: bool) -> None:
    from archiver.cli.app import err_console
    from archiver.textindex import reindex

    def progress(done, last_capture_id: int) -> None:
        if not quiet:
            err_console.print(f"indexed {plural(done.texts_added, 'text')} (captures up to #{last_capture_id})",
                              highlight=False)

    done = reindex(app.sessions, everything=everything, progress=progress)
    message = f"search index: {plural(done.texts_added, 'text')} added, {plural(done.texts_seen, 'text')} read"
    if done.unreadable:
        message += f", {plural(done.unreadable, 'text')} could not be read (missing or not UTF-8)"
    err_console.print(message, highlight=False)


commands = [search]
