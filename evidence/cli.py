"""Commands for claims, data points, citations, the CSV bibliography and citation reports.

The archiver's CLI imports this module when one of its commands runs (evidence.plugin names
them), so it must not import `archiver.cli` at module level (a circular import when this module
is imported first): commands receive the CLI's App as the click context object, and the two
helpers below reach the CLI's error and JSON output when they are called. What only some
commands need (the ORM, the CSV reader, the report renderers, rich) is imported in those commands.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from evidence import CATEGORIES, EvidenceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

pass_app = click.pass_obj


@functools.cache
def _console():
    """The rich console, made on first use: `report` prints with click and does without rich's
    import (~40 ms)."""
    from archiver.cli.app import make_console

    return make_console()


def escape(text: str) -> str:
    """rich.markup.escape, imported on first use (see _console)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error and exit with `code` (see archiver.cli.app.fail)."""
    from archiver.cli.app import fail as archiver_fail

    archiver_fail(message, code)


def print_json(data) -> None:
    """JSON for scripts (see archiver.cli.app.print_json)."""
    from archiver.cli.app import print_json as archiver_print_json

    archiver_print_json(data)



@contextlib.contextmanager
def _changing(app) -> Iterator[Session]:
    """The transaction of a command that changes evidence: an EvidenceError (an unknown id, a bad
    value) ends the command as a usage error, exit 2, with nothing changed."""
    try:
        with app.sessions.begin() as session:
            yield session
    except EvidenceError as exc:
        fail(str(exc), code=2)

@click.group()
def claim() -> None:
    """Claims: the statements your report makes, each with a stable id."""


@claim.command("add")
@click.argument("text")
@click.option("--id", "claim_id", help="Stable id (default: made from the text, e.g. hikvision-supplied-cameras).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable; 'a;b' also works).")
@click.option("--json", "as_json", is_flag=True, help="Print the claim as JSON.")
@pass_app
def claim_add(app, text: str, claim_id: str | None, tags: tuple[str, ...], as_json: bool) -> None:
    """Add a claim with TEXT. Adding the same claim again changes nothing."""
    from evidence.claims import add_claim

    with _changing(app) as session:
        item, created = add_claim(session, text, claim_id=claim_id, tags=tags)
        data = {"id": item.id, "text": item.text, "tags": list(item.tags or []), "created": created}
    if as_json:
        print_json(data)
    else:
        _console().print(f"{'added' if created else 'already there'}: claim {escape(str(data['id']))}", highlight=False)


@claim.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON array: id, text, tags, citations, created_at, updated_at.")
@pass_app
def claim_list(app, as_json: bool) -> None:
    """Every claim with its tags and number of citations."""
    from evidence.claims import claim_rows

    app.existing()
    with app.sessions() as session:
        rows = claim_rows(session)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    from archiver.cli.app import plural, print_table

    table = Table(header_style="bold")
    for name in ("id", "citations", "tags", "text"):
        table.add_column(name, overflow="fold", no_wrap=name in ("id", "citations"))
    for row in rows:
        table.add_row(escape(row["id"]), str(row["citations"]), escape(", ".join(row["tags"])), escape(row["text"]))
    print_table(_console(), table)
    _console().print(plural(len(rows), "claim"), highlight=False)


@claim.command("edit")
@click.argument("claim_id")
@click.option("--text", help="The new text.")
@click.option("--tag", "tags", multiple=True, help="Replace the tags with these (repeatable).")
@click.option("--no-tags", is_flag=True, help="Remove every tag.")
@pass_app
def claim_edit(app, claim_id: str, text: str | None, tags: tuple[str, ...], no_tags: bool) -> None:
    """Change a claim's text or tags (its id stays)."""
    from evidence.claims import edit_claim

    if text is None and not tags and not no_tags:
        fail("nothing to change: give --text, --tag or --no-tags", code=2)
    with _changing(app) as session:
        edit_claim(session, claim_id, text=text, tags=[] if no_tags else (list(tags) if tags else None))
    _console().print(f"changed: claim {escape(claim_id)}", highlight=False)


@claim.command("remove")
@click.argument("claim_id")
@click.option("--with-citations", is_flag=True, help="Also remove the claim's citations.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@pass_app
def claim_remove(app, claim_id: str, with_citations: bool, as_json: bool) -> None:
    """Delete a claim. Its data points stay (unlinked); a claim with citations needs
    --with-citations. Sources and captures are never removed by this."""
    from evidence.claims import remove_claim

    with _changing(app) as session:
        data = remove_claim(session, claim_id, with_citations=with_citations)
    if as_json:
        print_json(data)
    else:
        _console().print(f"removed claim {escape(claim_id)} and {data['citations_removed']} citation(s)"
                         + (f"; unlinked data points: {', '.join(data['datapoints_unlinked'])}"
                            if data["datapoints_unlinked"] else ""), highlight=False)


@click.group()
def datapoint() -> None:
    """Data points: structured facts for a map (company, country, category, place, date)."""


@datapoint.command("add")
@click.option("--entity", required=True, help="The company or organisation.")
@click.option("--country", help="Country of the presence.")
@click.option("--category", help="Kind of presence, e.g. " + "; ".join(f'"{c}"' for c in CATEGORIES) + ".")
@click.option("--place", help="Place name (city, site).")
@click.option("--lat", "latitude", help="Latitude, -90 to 90.")
@click.option("--lon", "longitude", help="Longitude, -180 to 180.")
@click.option("--date", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--description", help="What happened there.")
@click.option("--claim", "claim_id", help="Id of the claim this data point belongs to.")
@click.option("--id", "datapoint_id", help="Stable id (default: made from entity, country and place).")
@click.option("--json", "as_json", is_flag=True, help="Print the data point as JSON.")
@pass_app
def datapoint_add(app, entity, country, category, place, latitude, longitude, date, description, claim_id,
                  datapoint_id, as_json: bool) -> None:
    """Add a data point."""
    from evidence.claims import DataPointInput, add_datapoint

    fields = DataPointInput(entity, country, category, place, latitude, longitude, date, description, claim_id)
    with _changing(app) as session:
        point, created = add_datapoint(session, fields, datapoint_id=datapoint_id)
        data = {"id": point.id, "created": created}
    if as_json:
        print_json(data)
    else:
        _console().print(f"{'added' if created else 'already there'}: data point {escape(str(data['id']))}", highlight=False)


@datapoint.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON array of data points with every field.")
@pass_app
def datapoint_list(app, as_json: bool) -> None:
    """Every data point."""
    from evidence.claims import datapoint_rows

    app.existing()
    with app.sessions() as session:
        rows = datapoint_rows(session)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    from archiver.cli.app import plural, print_table

    table = Table(header_style="bold")
    for name in ("id", "entity", "country", "category", "place", "lat, lon", "date", "claim", "citations"):
        table.add_column(name, overflow="fold", no_wrap=name in ("id", "lat, lon", "date", "claim", "citations"))
    for r in rows:
        where = f"{r['latitude']}, {r['longitude']}" if r["latitude"] is not None else ""
        table.add_row(*(escape(str(v or "")) for v in (r["id"], r["entity"], r["country"], r["category"], r["place"],
                                                       where, r["date"], r["claim_id"], r["citations"])))
    print_table(_console(), table)
    _console().print(plural(len(rows), "data point"), highlight=False)


@datapoint.command("edit")
@click.argument("datapoint_id")
@click.option("--entity", help="The company or organisation.")
@click.option("--country")
@click.option("--category")
@click.option("--place")
@click.option("--lat", "latitude", help="Latitude, -90 to 90 ('' removes both coordinates with --lon '').")
@click.option("--lon", "longitude", help="Longitude, -180 to 180.")
@click.option("--date", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--description")
@click.option("--claim", "claim_id", help="Link it to this claim ('' unlinks it).")
@click.option("--json", "as_json", is_flag=True, help="Print the data point as JSON.")
@pass_app
def datapoint_edit(app, datapoint_id, entity, country, category, place, latitude, longitude, date, description,
                   claim_id, as_json: bool) -> None:
    """Change some fields of a data point ('' clears a field); its id stays."""
    from evidence.claims import edit_datapoint

    changes = {"entity": entity, "country": country, "category": category, "place": place, "latitude": latitude,
               "longitude": longitude, "date": date, "description": description, "claim_id": claim_id}
    if all(v is None for v in changes.values()):
        fail("nothing to change: give at least one field", code=2)
    with _changing(app) as session:
        point = edit_datapoint(session, datapoint_id, changes)
        data = {k: getattr(point, k) for k in ("id", *changes)}
    if as_json:
        print_json(data)
    else:
        _console().print(f"changed: data point {escape(datapoint_id)}", highlight=False)


@datapoint.command("remove")
@click.argument("datapoint_id")
@click.option("--with-citations", is_flag=True, help="Also remove the data point's citations.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@pass_app
def datapoint_remove(app, datapoint_id: str, with_citations: bool, as_json: bool) -> None:
    """Delete a data point; one with citations needs --with-citations."""
    from evidence.claims import remove_datapoint

    with _changing(app) as session:
        data = remove_datapoint(session, datapoint_id, with_citations=with_citations)
    if as_json:
        print_json(data)
    else:
        _console().print(f"removed data point {escape(datapoint_id)} and {data['citations_removed']} citation(s)",
                         highlight=False)


class DefaultGroup(click.Group):
    """A group whose first argument, when it names none of its commands, goes to `default`:
    `archiver cite TARGET URL` still cites, next to `archiver cite remove ID`."""

    default = "add"

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return self.default, self.commands[self.default], args
        return super().resolve_command(ctx, args)


@click.group("cite", cls=DefaultGroup)
def cite_command() -> None:
    """Citations: `archiver cite TARGET URL` records that a claim or data point cites URL
    (same as `cite add`); `cite list`, `cite edit`, `cite remove` manage them."""


@cite_command.command("add")
@click.argument("target")
@click.argument("url")
@click.option("--quote", help="The passage the source says (checked at every capture).")
@click.option("--accessed", help="When you read the page: YYYY-MM-DD.")
@click.option("--note", help="Footnote or remark, e.g. 'fn 12'.")
@click.option("--lang", help="Language of the page, if the URL is new (en, zh, ...).")
@click.option("--title", help="Title of the page, if the URL is new.")
@click.option("--publisher", help="Publisher of the page, if the URL is new.")
@click.option("--json", "as_json", is_flag=True, help="Print what was recorded as JSON.")
@pass_app
def cite_add(app, target: str, url: str, quote, accessed, note, lang, title, publisher, as_json: bool) -> None:
    """Record that TARGET (a claim or data point id) cites URL.

    An untracked URL starts being tracked. Citing again with the same quote changes nothing
    (a new --accessed or --note updates the citation). When the source already has captures,
    the quote is checked against them at once.
    """
    from archiver.readdb import Reader
    from evidence.claims import cite, resolve_target
    from evidence.report import quote_status

    with _changing(app) as session:
        resolved = resolve_target(session, target)
        result = cite(session, resolved, url, quote=quote, accessed=accessed, note=note, lang=lang, title=title,
                      publisher=publisher)
        status = quote_status(Reader.of_session(session), result.citation.id) if result.citation.quote else None
        data = {
            "citation_id": result.citation.id, "claim_id": resolved.claim_id, "datapoint_id": resolved.datapoint_id,
            "url": result.source.url, "created": result.created, "source_created": result.source_created,
            "updated": result.updated, "quote_status": status,
        }
    if as_json:
        print_json(data)
        return
    what = "cited" if data["created"] else ("updated" if data["updated"] else "already cited")
    _console().print(f"{what}: {escape(resolved.label)} <- {escape(str(data['url']))}", highlight=False)
    if data["source_created"]:
        _console().print("  now tracking this URL; it is captured at the next `archiver run`", highlight=False)
    elif status:
        _console().print(f"  quote {status} in the latest capture", highlight=False)


@cite_command.command("list")
@click.argument("target", required=False)
@click.option("--url", help="Only the citations of this source.")
@click.option("--json", "as_json", is_flag=True, help="JSON array: id, claim_id, datapoint_id, url, quote, accessed, note.")
@pass_app
def cite_list(app, target: str | None, url: str | None, as_json: bool) -> None:
    """Citations with their ids: all, those of TARGET (a claim or data point), or of --url."""
    from archiver.cli.app import tracked_source
    from evidence.claims import citation_rows, resolve_target

    try:
        with app.sessions() as session:
            resolved = resolve_target(session, target) if target else None
            source_id = tracked_source(session, url).id if url else None
            rows = citation_rows(session, target=resolved, source_id=source_id)
    except EvidenceError as exc:
        fail(str(exc), code=2)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(header_style="bold")
    for name in ("id", "for", "url", "quote", "accessed", "note"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), escape(r["claim_id"] or f"datapoint:{r['datapoint_id']}"), escape(r["url"]),
                      escape(r["quote"] or ""), r["accessed"] or "", escape(r["note"] or ""))
    _console().print(table)
    _console().print(f"{len(rows)} citations", highlight=False)


@cite_command.command("edit")
@click.argument("citation_id", type=int)
@click.option("--quote", help="The new quote ('' removes it); checked again against every capture.")
@click.option("--accessed", help="The new access date, YYYY-MM-DD ('' removes it).")
@click.option("--note", help="The new note ('' removes it).")
@click.option("--for", "target", help="Make it support this claim or data point instead.")
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@pass_app
def cite_edit(app, citation_id: int, quote, accessed, note, target, as_json: bool) -> None:
    """Change a citation (ids from `archiver cite list`)."""
    from evidence.claims import edit_citation, resolve_target

    if quote is None and accessed is None and note is None and target is None:
        fail("nothing to change: give --quote, --accessed, --note or --for", code=2)
    with _changing(app) as session:
        resolved = resolve_target(session, target) if target else None
        citation, changed = edit_citation(session, citation_id, quote=quote, accessed=accessed, note=note,
                                          target=resolved)
    if as_json:
        print_json({"citation_id": citation_id, "changed": changed})
    else:
        _console().print(f"citation {citation_id}: " + (f"changed {', '.join(changed)}" if changed else "unchanged"),
                         highlight=False)


@cite_command.command("remove")
@click.argument("citation_ids", type=int, nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@pass_app
def cite_remove(app, citation_ids: tuple[int, ...], as_json: bool) -> None:
    """Delete citations (ids from `archiver cite list`) and their quote checks. The sources stay
    tracked and keep every capture (`archiver untrack URL` stops capturing one)."""
    from evidence.claims import get_citation, remove_citations

    with _changing(app) as session:
        removed = remove_citations(session, [get_citation(session, i) for i in dict.fromkeys(citation_ids)])
    if as_json:
        print_json({"removed": list(dict.fromkeys(citation_ids))})
    else:
        _console().print(f"removed {removed} citation{'s' if removed != 1 else ''}", highlight=False)


@click.command("move-url")
@click.argument("old_url")
@click.argument("new_url")
@click.option("--reason", help="Why (kept with the old source), e.g. 'typo in the report'.")
@click.option("--json", "as_json", is_flag=True, help="Print what moved as JSON.")
@pass_app
def move_url_command(app, old_url: str, new_url: str, reason: str | None, as_json: bool) -> None:
    """Correct a source's URL: OLD_URL's citations move to NEW_URL (tracked if it is not);
    OLD_URL keeps its captures and is untracked, its reason naming NEW_URL."""
    from evidence.moves import move_url

    try:
        with app.sessions.begin() as session:
            data = move_url(session, old_url, new_url, reason=reason).as_json()
    except EvidenceError as exc:
        fail(str(exc), code=2 if "bad URL" in str(exc) or "same URL" in str(exc) else 1)
    if as_json:
        print_json(data)
        return
    _console().print(
        f"moved {len(data['citations_moved'])} citation(s) to {escape(data['new_url'])}"
        + (f", merged {len(data['citations_merged'])}" if data["citations_merged"] else "")
        + f"; {escape(data['old_url'])} is untracked and keeps its captures",
        highlight=False,
    )


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--encoding", help="Character encoding of the file (default: detected; UTF-8, GBK, Big5...).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def import_command(app, file: str, encoding: str | None, as_json: bool) -> None:
    """Track every row of a CSV bibliography, with its claims, data points and citations.

    Columns: url (required), lang, title, publisher, claim_id, claim, tags (';'-separated),
    quote, accessed, note, datapoint_id, entity, country, category, place, latitude, longitude,
    date, description, no_wayback (yes: never sent to the Wayback Machine), vantage and recheck
    (where it is captured from and checked again from, see docs/vantages.md). Importing the same
    file again adds nothing. Rejected rows are listed with their line number and reason; the good
    rows are imported all the same. Exits 2 when every row was rejected. Cells that `archiver
    export` protected against spreadsheet formulas (a leading ') are read back as they were.
    """
    from archiver.vantages import names
    from evidence.csvio import CSVFileError, import_file

    if not Path(file).is_file():
        fail(f"no such file: {file}", code=2)
    try:
        with app.sessions.begin() as session:
            summary = import_file(session, file, encoding=encoding, vantages=names(app.config))
    except CSVFileError as exc:
        fail(f"{file}: {exc}", code=2)
    if as_json:
        print_json(summary.as_json())
    else:
        from archiver.cli.app import plural

        _console().print(
            f"{plural(summary.rows, 'row')}: {summary.added} added, {summary.updated} updated, "
            f"{summary.already} with nothing new, {len(summary.rejected)} rejected; sources: {summary.new_sources} new, "
            f"{summary.sources_already_tracked} already tracked; new: {plural(summary.new_claims, 'claim')}, "
            f"{plural(summary.new_datapoints, 'data point')}, {plural(summary.new_citations, 'citation')}",
            highlight=False,
        )
        for item in summary.rejected:
            _console().print(f"  [red]rejected[/] line {item.line}: {escape(item.reason)}", highlight=False)
        for warning in summary.warnings:
            _console().print(f"  [yellow]warning[/] {escape(warning)}", highlight=False)
    if summary.all_rejected:
        fail(f"nothing imported: every row of {file} was rejected", code=2)


@click.command("import-citations")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Import what the preview shows (without it, only the preview).")
@click.option("--prefix", help="Start of the ids of the claims made (default: from the file name).")
@click.option("--tag", "tags", multiple=True, help="Tag the new claims (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the citations found (and what was imported) as JSON.")
@pass_app
def import_citations_command(app, file: str, yes: bool, prefix: str | None, tags: tuple[str, ...], as_json: bool) -> None:
    """Track every URL a finished report cites: FILE is a PDF, DOCX, HTML, Markdown or text
    report with endnotes or footnotes, or a reference manager's export (Zotero CSL-JSON .json,
    BibTeX .bib, RIS .ris).

    Each URL comes with its endnote number, the note's text, its access date, title and
    publisher when the note gives them, and the sentence that carries the endnote mark, which
    becomes the claim the URL backs. First a preview; `--yes` imports. Importing the same file
    again changes nothing.
    """
    from evidence.citeimport import default_prefix, import_citations, read_citations
    from evidence.claims import check_id

    if not Path(file).is_file():
        fail(f"no such file: {file}", code=2)
    try:
        prefix = check_id(prefix or default_prefix(file), "prefix")
        extraction = read_citations(file, prefix=prefix)
    except EvidenceError as exc:
        fail(f"{file}: {exc}", code=2)
    found = [
        {"number": f.number, "url": f.url, "accessed": f.accessed, "title": f.title, "publisher": f.publisher,
         "lang": f.lang, "claim_id": f.claim_id, "claim": f.claim, "note": f.note}
        for f in extraction.citations
    ]
    data = {"file": extraction.file, "kind": extraction.kind, "counts": extraction.counts(),
            "notes_without_url": extraction.notes_without_url, "citations": found, "imported": None}
    if yes:
        with app.sessions.begin() as session:
            data["imported"] = import_citations(session, extraction, tags=tags).as_json()
    if as_json:
        print_json(data)
        return
    _print_preview(data, yes)


def _print_preview(data: dict, imported: bool) -> None:
    from rich.table import Table

    counts = data["counts"]
    if not imported:
        table = Table(header_style="bold", title=f"{escape(data['file'])} ({data['kind']})")
        for name in ("note", "url", "accessed", "title / publisher", "claim"):
            table.add_column(name, overflow="fold")
        for row in data["citations"]:
            title = " / ".join(v for v in (row["title"], row["publisher"]) if v)
            table.add_row(escape(row["number"] or "-"), escape(row["url"]), row["accessed"] or "",
                          escape(title), escape(row["claim"] or "(no sentence found)"))
        _console().print(table)
    _console().print(
        f"{counts['urls']} URLs found ({counts['distinct_urls']} distinct) in {counts['notes']} notes; "
        f"{counts['accessed_dates']} access dates, {counts['titles']} titles, {counts['publishers']} publishers, "
        f"{counts['claims_matched']} matched to the sentence that cites them (the claim)",
        highlight=False,
    )
    if not counts["notes"] and counts["marks"]:
        _console().print(f"{counts['marks']} endnote marks found in the text, but no endnote list: the file "
                         "holds the report without its notes, so their URLs cannot be read", highlight=False)
    if data["notes_without_url"]:
        _console().print(f"{len(data['notes_without_url'])} notes cite no URL: "
                         + ", ".join(data["notes_without_url"][:30]), highlight=False)
    result = data["imported"]
    if result is None:
        _console().print("nothing imported yet: run again with --yes to import", highlight=False)
        return
    _console().print(
        f"imported: {result['new_sources']} new sources, {result['new_claims']} new claims, "
        f"{result['new_citations']} new citations, {result['updated_citations']} updated, "
        f"{result['unchanged']} already there",
        highlight=False,
    )
    for item in result["rejected"]:
        _console().print(f"  [red]rejected[/] note {escape(item['number'] or '-')} {escape(item['url'])}: "
                         f"{escape(item['reason'])}", highlight=False)


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--bom", is_flag=True, help="Start the CSV with a UTF-8 byte-order mark (helps Excel show Chinese).")
@click.option("--warc", "warc_path", type=click.Path(dir_okay=False), help="Write captures as a WARC 1.1 file (.warc.gz).")
@click.option("--wacz", "wacz_path", type=click.Path(dir_okay=False),
              help="Write captures as a WACZ package, for ReplayWeb.page or pywb.")
@click.option("--source", "source_urls", multiple=True, help="Only captures of this source (repeatable).")
@click.option("--claim", "claim_ids", multiple=True, help="Only captures of the sources this claim cites (repeatable).")
@click.option("--since", help="Only captures started on or after this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_app
def export_command(app, file: str | None, bom: bool, warc_path: str | None, wacz_path: str | None,
                   source_urls: tuple[str, ...], claim_ids: tuple[str, ...], since: str | None, as_json: bool) -> None:
    """Write the bibliography to FILE as CSV ('-' for standard output) in the columns
    `archiver import` reads, and/or the captures themselves as standard web archives.

    \b
    archiver export sources.csv
    archiver export --warc evidence.warc.gz --since 2026-01-01
    archiver export --wacz hikvision.wacz --claim hikvision-xinjiang-ijop
    """
    from evidence.csvio import export_rows, write_csv

    if not (file or warc_path or wacz_path):
        fail("give a CSV FILE, --warc FILE or --wacz FILE", code=2)
    if (source_urls or claim_ids or since) and not (warc_path or wacz_path):
        fail("--source, --claim and --since select captures for --warc or --wacz", code=2)
    written: dict = {}
    with app.sessions() as session:
        if file:
            rows = export_rows(session)
            if file == "-":
                write_csv(rows, sys.stdout, bom=bom)
            else:
                try:
                    with open(file, "w", encoding="utf-8", newline="") as handle:
                        write_csv(rows, handle, bom=bom)
                except OSError as exc:
                    fail(f"cannot write {file}: {exc.strerror or exc}")
            written["csv"] = {"path": file, "rows": len(rows)}
        if warc_path or wacz_path:
            written.update(_export_archives(session, warc_path, wacz_path, source_urls, claim_ids, since))
    if as_json:
        print_json(written)
        return
    for kind, info in written.items():
        if info["path"] != "-":
            what = f"{info['rows']} rows" if kind == "csv" else f"{info['captures']} captures"
            _console().print(f"wrote {what} to {escape(str(info['path']))}", highlight=False)


def _export_archives(session, warc_path, wacz_path, source_urls, claim_ids, since) -> dict:
    """Write the selected captures as WARC and/or WACZ; a claim's evidence becomes one package."""
    from datetime import date

    from archiver.cli.app import tracked_source
    from archiver.readdb import Reader
    from archiver.wacz import write_wacz
    from archiver.warc import select_captures, write_warc
    from evidence.report import claim_source_ids

    source_ids: set[int] | None = None
    if source_urls or claim_ids:
        source_ids = set()
        for url in source_urls:
            source = tracked_source(session, url)
            source_ids.add(source.id)
        for claim_id in claim_ids:
            try:
                source_ids.update(claim_source_ids(Reader.of_session(session), claim_id))
            except EvidenceError as exc:
                fail(str(exc), code=2)
    since_date = None
    if since:
        try:
            since_date = date.fromisoformat(since)
        except ValueError:
            fail(f"--since must be a date like 2026-01-31, not {since!r}", code=2)
    title = "Evidence for " + ", ".join(claim_ids) if claim_ids else None

    def selection():
        return select_captures(session, source_ids=source_ids, since=since_date)

    result = {}
    try:
        if warc_path:
            records = write_warc(session, selection(), warc_path, description=title)
            captures = sum(1 for _ in selection())
            result["warc"] = {"path": warc_path, "captures": captures, "records": records}
        if wacz_path:
            write_wacz(session, selection(), wacz_path, title=title)
            result["wacz"] = {"path": wacz_path, "captures": sum(1 for _ in selection())}
    except OSError as exc:
        fail(f"cannot write the archive: {exc.strerror or exc}")
    return result


@click.command("report")
@click.argument("claim_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Every claim in one document, those at risk first.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True,
              help="md: Markdown to paste into a report; html: one self-contained page with Robust Links; "
                   "json: the stable interface of docs/report-json.md.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of the screen.")
@click.option("--wacz", "wacz_path", type=click.Path(dir_okay=False),
              help="Also package every capture of the claim's sources as this WACZ file, named with its hash in the report.")
@pass_app
def report_command(app, claim_id: str | None, everything: bool, fmt: str, output: str | None, wacz_path: str | None) -> None:
    """The citation report for CLAIM_ID: every source behind it, whether its quote is still
    there, its archived copies with dates and hashes, and a line to paste into your report.

    JSON output is a stable interface, documented in docs/report-json.md.
    """
    from datetime import datetime

    from archiver.anchors import read_head
    from evidence import render
    from evidence.report import all_reports, claim_report

    if bool(claim_id) == everything:
        fail("give a CLAIM_ID or --all", code=2)
    if wacz_path and everything:
        fail("--wacz packages one claim's evidence: give a CLAIM_ID", code=2)
    with app.reader() as db:
        if everything:
            reports = all_reports(db)
            now = datetime.now(UTC)
            head = read_head(db)
            text = {"md": lambda: render.reports_md(reports, now, head),
                    "html": lambda: render.reports_html(reports, now, head),
                    "json": lambda: _json_text(render.reports_json(reports, now, head))}[fmt]()
        else:
            assert claim_id is not None  # checked above: a CLAIM_ID or --all
            try:
                report = claim_report(db, claim_id)
            except EvidenceError as exc:
                fail(str(exc), code=2)
            if wacz_path:
                report.package = _evidence_package(app, claim_id, wacz_path)
            text = {"md": lambda: render.report_md(report), "html": lambda: render.report_html(report),
                    "json": lambda: _json_text(render.report_json(report))}[fmt]()
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
            shots = write_report_screenshots(app, reports if everything else [report], Path(output).parent)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        _console().print(f"wrote {escape(output)}" + (f" and {shots} screenshot(s) in its screenshots folder"
                                                         if shots else ""), highlight=False)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def write_report_screenshots(app, reports, folder: Path) -> int:
    """Write the screenshots a report links (its best captures') as folder/screenshots/SHA256.png."""
    keys = sorted({key for report in reports for c in report.citations if c.best_capture
                   for key in c.best_capture.screenshots})
    if not keys:
        return 0
    from archiver.store import get_blob
    from evidence.render import screenshot_path

    with app.sessions() as session:
        for key in keys:
            target = folder / screenshot_path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(get_blob(session, key))
    return len(keys)


def _evidence_package(app, claim_id: str, path: str):
    """Write the claim's captures as one WACZ and describe it for the report."""
    import hashlib

    from archiver.readdb import Reader
    from archiver.wacz import write_wacz
    from archiver.warc import select_captures
    from evidence.report import EvidencePackage, claim_source_ids

    with app.sessions() as session:
        source_ids = claim_source_ids(Reader.of_session(session), claim_id)
        try:
            write_wacz(session, select_captures(session, source_ids=source_ids), path, title=f"Evidence for {claim_id}")
            data = Path(path).read_bytes()
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror or exc}")
        captures = sum(1 for _ in select_captures(session, source_ids=source_ids))
    return EvidencePackage(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data), captures=captures)


def _json_text(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


commands = [claim, datapoint, cite_command, import_command, import_citations_command, export_command, report_command,
            move_url_command]
