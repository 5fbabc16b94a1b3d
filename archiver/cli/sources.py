"""Commands about sources and captures: add, run, status, show, runs, diff.

`status` reads through archiver.readdb and imports neither SQLAlchemy nor rich (it is the
command people run most, on archives of tens of thousands of sources, and those imports took
longer than its work); the other commands use the ORM and rich tables, imported inside the
command.
"""

from __future__ import annotations

import shutil
import sys
import unicodedata
from datetime import UTC, datetime

import click

from archiver import dates
from archiver.cli.app import App, fail, pass_app, plural, print_json, tracked_source
from archiver.sources import list_sources, parse_interval, source_captures, state_counts, status_rows, wayback_counts
from archiver.urls import InvalidURL, normalise_url
from archiver.vantages import capture_vantage

STATE_STYLES = {
    "pending": "dim", "new": "cyan", "unchanged": "green", "altered": "yellow",
    "moved": "blue", "deleted": "bold red", "unreachable": "magenta", "blocked": "bright_magenta",
}
# The status table lists the sources with problems first, in this order, then the others;
# and it stops at TABLE_LIMIT rows unless told otherwise.
PROBLEM_STATES = ("deleted", "altered", "moved", "blocked", "unreachable")
TABLE_LIMIT = 200
STATUS_COLUMNS = ("state", "since", "last checked", "next due", "every", "captures", "url", "note")
NOTE_MIN = 20


def ago(value: datetime | None) -> str:
    """'3 days' style duration since `value`."""
    if value is None:
        return ""
    seconds = (datetime.now(UTC) - value).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


@click.command()
@click.argument("url")
@click.option("--lang", help="Language of the page (en, zh, ...).")
@click.option("--title", help="Title to show in reports.")
@click.option("--publisher", help="Who published the page.")
@click.option("--interval", help="How often to capture it: hourly, daily, weekly, or e.g. 6h, 2d.")
@click.option("--no-wayback/--wayback", "no_wayback", default=None,
              help="Never send this page to, nor look it up at, the Wayback Machine, so that a public archive "
                   "does not learn what you watch (--wayback allows it again). Pages on private addresses "
                   "are never sent.")
@click.option("--render", type=click.Choice(["always", "auto", "never"]), is_flag=False, flag_value="always",
              default=None, help="Capture it with a browser (Chromium), for pages whose text only appears once "
                                 "scripts run: --render (always), --render=auto, --render=never; default: [fetch] render.")
@click.option("--vantage", metavar="NAME",
              help="Capture it from this vantage point ([vantages.NAME] in the configuration, e.g. a proxy "
                   "inside China); default: its site's [sites] rule, else the [fetch] settings.")
@click.option("--recheck", metavar="NAME",
              help="When --vantage does not get the page, check it again from this vantage: a page that "
                   "answers from one and not the other is 'blocked', never 'deleted'.")
@click.option("--json", "as_json", is_flag=True, help="Print the source as JSON.")
@pass_app
def add(app: App, url: str, lang, title, publisher, interval, no_wayback: bool | None, as_json: bool,
        render: str | None = None, vantage: str | None = None, recheck: str | None = None) -> None:
    """Track URL: it will be captured at the next `archiver run`. Adding a tracked URL again
    fills in what it lacks and changes --interval, --no-wayback/--wayback, --render, --vantage
    and --recheck."""
    from archiver.vantages import UnknownVantage, check_name

    try:
        hours = parse_interval(interval)
        vantage, recheck = check_name(app.config, vantage), check_name(app.config, recheck)
    except (ValueError, UnknownVantage) as exc:
        fail(str(exc), code=2)
    try:
        normalise_url(url)
    except InvalidURL as exc:
        fail(str(exc), code=2)
    from rich.markup import escape

    from archiver.cli.app import console
    from archiver.sources import add_source

    with app.sessions.begin() as session:
        source, created = add_source(session, url, lang=lang, title=title, publisher=publisher, interval_hours=hours,
                                     no_wayback=no_wayback, render=render, vantage=vantage, recheck=recheck)
        data = {"id": source.id, "url": source.url, "created": created, "no_wayback": bool(source.no_wayback),
                "render": source.render, "vantage": source.vantage, "recheck_vantage": source.recheck_vantage}
    if as_json:
        print_json(data)
        return
    note = " (never sent to the Wayback Machine)" if data["no_wayback"] else ""
    if created:
        console.print(f"tracking {escape(str(data['url']))}{note}", highlight=False)
    else:
        console.print(f"already tracked: {escape(str(data['url']))}{note}", highlight=False)


def _stop_message(signum: int | None, again: bool) -> None:
    from archiver.cli.app import err_console

    if again:
        err_console.print("stopping now: the captures in flight are dropped; their sources stay due", highlight=False)
    else:
        err_console.print("stopping: no new captures; finishing those in flight "
                          "(press Ctrl-C again to stop at once)", highlight=False)


@click.command()
@click.option("--all", "everything", is_flag=True, help="Capture every tracked source now, due or not.")
@click.option("--url", "urls", multiple=True, help="Capture only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--notify/--no-notify", default=True, show_default=True,
              help="Send the digest ([notify] in config.toml) when a cited source changed.")
@click.option("--ahead", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="HOURS",
              help="Also take sources falling due within this many hours (at most half their interval), "
                   "so a run started by cron at the same hour every day keeps daily sources daily.")
@click.option("--retry-failed", "retry_failed", is_flag=True,
              help="Capture now every source whose last attempt failed (an error, or unreachable).")
@pass_app
def run(app: App, everything: bool, urls: tuple[str, ...], as_json: bool, progress: bool | None, notify: bool,
        ahead: float, retry_failed: bool) -> None:
    """Capture the sources that are due, then exit.

    Exits 0 even when some sources failed (each failure is recorded on its capture);
    1 when the pass itself could not run. Ctrl-C (or SIGTERM) stops claiming sources and lets
    the captures in flight finish for at most [schedule] stop_grace_seconds; a second Ctrl-C
    stops at once. The sources not captured stay due, the run is recorded as interrupted,
    and the command exits 130 after SIGINT, 143 after SIGTERM.
    """
    import asyncio

    from archiver.models import utcnow

    config, sessions = app.config, app.sessions
    source_ids = _run_targets(app, urls, retry_failed)
    everything = everything or source_ids is not None
    if ahead and not everything:
        from datetime import timedelta

        from archiver.schedule import pull_forward

        with sessions() as session:
            pull_forward(session, utcnow() + timedelta(hours=ahead), config.capture.default_interval_hours)
    show_bar = sys.stdout.isatty() if progress is None else progress
    summary, stop = asyncio.run(_capture_shown(config, sessions, everything, source_ids, show_bar and not as_json, as_json))
    stopped_by = stop.exit_code if summary.interrupted else 0
    deliveries = []
    if notify and summary.total and not stopped_by:
        from archiver.notify import after_pass

        deliveries = after_pass(config.notify, sessions, summary.run_id)
    data = {
        "run_id": summary.run_id,
        "total": summary.total,
        "counts": dict(summary.counts),
        "new_bodies": summary.new_bodies,
        "seconds": round(summary.elapsed, 2),
        "interrupted": summary.interrupted,
        "failures": [{"url": u, "error": e, "kind": k} for (u, e), k in zip(summary.failures, summary.failure_kinds)],
        "notified": [{"channel": d.channel, "ok": d.ok, "error": d.error} for d in deliveries],
    }
    if as_json:
        print_json(data)
        sys.exit(stopped_by)
    _print_run(summary, deliveries, stopped_by)
    if stopped_by:
        sys.exit(stopped_by)


async def _capture_shown(config, sessions, everything: bool, source_ids: list[int] | None, show_bar: bool,
                         quiet: bool):
    """One capture pass for `run`, stopped by Ctrl-C or SIGTERM, shown as a progress bar or a line
    per source (none when `quiet`). Returns (RunSummary, the Stop that was installed)."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from archiver.capture import capture_pass
    from archiver.cli.app import console
    from archiver.stopping import Stop

    stop = Stop(config.schedule.stop_grace_seconds, on_request=_stop_message)
    restore = stop.install()
    try:
        if not show_bar:
            def line(outcome) -> None:
                if not quiet:
                    state = outcome.verdict.state if outcome.verdict else "failed"
                    click.echo(f"{state:<11} {outcome.job.url}")

            summary = await capture_pass(config, sessions, everything=everything, source_ids=source_ids,
                                         on_outcome=line, stop=stop)
            return summary, stop
        with Progress(
            TextColumn("capturing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"), console=console, transient=False,
        ) as bar:
            task = bar.add_task("capture", total=None, last="")

            def started(total: int) -> None:
                bar.update(task, total=total)

            def advanced(outcome) -> None:
                state = outcome.verdict.state if outcome.verdict else "failed"
                bar.update(task, advance=1, last=escape(f"{state}: {outcome.job.url[:60]}"))

            summary = await capture_pass(config, sessions, everything=everything, source_ids=source_ids,
                                         on_start=started, on_outcome=advanced, stop=stop)
            return summary, stop
    finally:
        restore()


def _run_targets(app: App, urls: tuple[str, ...], retry_failed: bool) -> list[int] | None:
    """The ids of the sources `run` was asked for (--url, --retry-failed), or None for the due ones."""
    source_ids = None
    if urls:
        with app.sessions() as session:
            source_ids = [tracked_source(session, url).id for url in urls]
    if retry_failed:
        from archiver.sources import failed_source_ids

        with app.sessions() as session:
            failed = failed_source_ids(session)
        source_ids = sorted(set(source_ids or []) | set(failed)) if urls else failed
    return source_ids


def _print_run(summary, deliveries: list, stopped_by: int) -> None:
    """What `run` did, for a person: the counts, the first failures, the digest, why it stopped."""
    from rich.markup import escape

    from archiver.cli.app import console

    parts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items())) or "nothing was due"
    console.print(
        f"run {summary.run_id}: {summary.total} captured in {summary.elapsed:.1f} s ({parts}); "
        f"{plural(summary.new_bodies, 'new body', 'new bodies')} stored" + ("; interrupted" if summary.interrupted else ""),
        highlight=False,
    )
    for url, error in summary.failures[:20]:
        console.print(f"  [magenta]![/] {escape(url)}: {escape(error or '')}", highlight=False)
    if len(summary.failures) > 20:
        console.print(f"  ... and {len(summary.failures) - 20} more (see `archiver status`)")
    for d in deliveries:
        if d.ok:
            console.print(f"digest sent by {d.channel}", highlight=False)
        else:
            console.print(f"[bold red]digest not sent by {d.channel}:[/] {escape(d.error or '')}", highlight=False)
    refused = sum(1 for kind in summary.failure_kinds if kind == "private_address")
    if refused:
        console.print(f"{refused} source{'s were' if refused > 1 else ' was'} refused by the configuration: "
                      "private, loopback or link-local addresses are not fetched. For intranet sources set "
                      "allow_private_addresses = true in [fetch], then `archiver run --retry-failed`.", highlight=False)
    if stopped_by:
        console.print(f"stopped before the end: the sources not captured stay due (run {summary.run_id} is "
                      f"recorded as interrupted); `archiver notify --run {summary.run_id}` sends its digest",
                      highlight=False)


@click.command()
@click.option("--state", type=click.Choice(list(STATE_STYLES)), help="Only sources in this state.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON array, one object per source in the order added, every source unless --limit (a stable interface).")
@click.option("--limit", type=int, help=f"At most this many rows (the table shows {TABLE_LIMIT} unless --all).")
@click.option("--all", "show_all", is_flag=True, help="Show every source in the table.")
@pass_app
def status(app: App, state: str | None, as_json: bool, limit: int | None, show_all: bool = False) -> None:
    """One row per source: its state, when it was last checked, when it is due next and how
    often it is captured, and its last error (or why it is no longer tracked).

    The table shows the sources with problems first (deleted, altered, moved, blocked, unreachable),
    then the others, each in the order added; at most 200 rows unless --limit N or --all.
    On a terminal, notes are cut at its width; piped, lines are whole.
    """
    if show_all and limit is not None:
        fail("give --limit N or --all, not both", code=2)
    with app.reader() as db:
        if as_json:
            rows = list_sources(db, state=state, limit=limit)
        else:
            most = None if show_all or (limit is not None and limit <= 0) else (limit or TABLE_LIMIT)
            rows = status_rows(db, state, most, PROBLEM_STATES)
        counts = state_counts(db)
        extra = _status_extras(db)
    default_hours = app.config.capture.default_interval_hours
    if as_json:
        print_json([row.as_json(default_hours) for row in rows])
        return
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    lines = status_lines(rows, width, default_hours)
    hidden = (counts.get(state, 0) if state else sum(counts.values())) - len(rows)
    if hidden > 0:
        lines.append(f"... and {hidden:,} more (use --limit N or --all to see them, --json for scripts)")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no sources tracked yet"
    lines.append(f"{plural(sum(counts.values()), 'source')}: {summary}" + (f"; {extra}" if extra else ""))
    lines.append(f"database: {app.database}")
    click.echo("\n".join(lines))


def every(hours: float) -> str:
    """An interval in hours as '6h', '1d', '2w'."""
    for unit, size in (("w", 168), ("d", 24)):
        if hours >= size and hours % size == 0:
            return f"{hours / size:g}{unit}"
    return f"{hours:g}h"


def _note(row) -> str:
    if row.untracked_at:
        return f"untracked since {dates.when(row.untracked_at)}: {row.untracked_reason or ''}".rstrip(": ")
    note = row.last_error or (row.state_reason if row.state not in ("unchanged", "new") else "") or ""
    if row.state == "unreachable" and row.unreachable_since:
        note = f"unreachable for {ago(row.unreachable_since)}: {note}"
    if row.state == "moved" and row.final_url:
        note = f"now at {row.final_url}"
    return note


def _styled(text: str, rich_style: str) -> str:
    """`text` in a STATE_STYLES style, as ANSI codes (click.echo drops them when not on a terminal)."""
    words = rich_style.split()
    colours = [w for w in words if w not in ("bold", "dim")]
    return click.style(text, fg=colours[0] if colours else None, bold="bold" in words or None, dim="dim" in words or None)


def _cut(text: str, columns: int) -> str:
    """`text` cut to fit `columns` terminal columns (Chinese characters take two), with "…" when cut."""
    widths = [2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text]
    if sum(widths) <= columns:
        return text
    used = end = 0
    for char_width in widths:
        if used + char_width > columns - 1:
            break
        used += char_width
        end += 1
    return text[:end] + "…" if columns > 0 else ""


def status_lines(rows, width: int | None, default_interval_hours: float = 24.0) -> list[str]:
    """The status table as plain aligned lines, a header then one line per source, the state
    coloured on a terminal; the note (last column) cut to fit `width` columns when that leaves
    it NOTE_MIN columns (None, or a narrower terminal: kept whole, and the terminal wraps it).

    Not a rich Table: rich takes ~1 ms a row to measure and render one, longer than the rest of
    `archiver status` together for the default 200 rows; one line per source also keeps the
    output greppable (`archiver status --all | grep gov.cn`)."""
    cells = [(row.state, dates.when(row.state_since), dates.when(row.last_checked),
              "untracked" if row.untracked_at else dates.when(row.next_due), every(row.interval(default_interval_hours)),
              str(row.captures), row.url) for row in rows]
    widths = [max([len(name), *(len(c[i]) for c in cells)]) for i, name in enumerate(STATUS_COLUMNS[:-1])]
    lead = sum(widths) + 2 * len(widths)
    header = "  ".join(name.ljust(w) for name, w in zip(STATUS_COLUMNS, widths)) + "  " + STATUS_COLUMNS[-1]
    lines = [click.style(header, bold=True)]
    for row, cell in zip(rows, cells):
        note = _note(row)
        if width is not None and width - lead >= NOTE_MIN:
            note = _cut(note, width - lead)
        state = _styled(cell[0].ljust(widths[0]), STATE_STYLES.get(row.state, ""))
        lines.append(("  ".join([state, *(c.ljust(w) for c, w in zip(cell[1:], widths[1:]))]) + "  " + note).rstrip())
    return lines


def _status_extras(db) -> str:
    counts = wayback_counts(db)
    if not counts:
        return ""
    states = ("pending", "running", "done", "failed")
    return "Wayback submissions: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in states if counts.get(k))


def capture_json(c, wayback_copy: tuple[str, str | None] | None = None, screenshots: list | None = None) -> dict:
    """A capture as the JSON interface shows it; `wayback_copy` is the (URL, timestamp) of the
    Wayback copy made of it, from its sealed "wayback" event (archiver.events.wayback_copies);
    `screenshots` its archiver.screenshots.Screenshot list."""
    return {
        "id": c.id,
        "origin": c.origin,
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "status": c.status_code,
        "final_url": c.final_url,
        "redirects": c.redirects,
        "verdict": c.verdict,
        "reason": c.verdict_reason,
        "similarity": c.similarity,
        "body_sha256": c.body_sha256,
        "body_size": c.body_size,
        "text_sha256": c.text_sha256,
        "title": c.page_title,
        "error": c.error,
        "error_kind": c.error_kind,
        "wayback_url": c.wayback_url or (wayback_copy[0] if wayback_copy else None),
        "record_hash": c.record_hash,
        "rendered_sha256": getattr(c, "rendered_sha256", None),
        "screenshots": [shot.as_json() for shot in screenshots or []],
        "vantage": capture_vantage(c.config),
    }


def _print_provenance(session, source, captures, capture_id: int | None, as_json: bool) -> None:
    from archiver.provenance import certificate_pems, describe, with_pems

    chosen = _chosen_capture(captures, capture_id, "provenance", source.url)
    if as_json:
        print_json({"url": source.url, "capture_id": chosen.id, "captured_at": chosen.started_at.isoformat(),
                    "provenance": with_pems(session, chosen.provenance)})
        return
    click.echo(f"capture {chosen.id} of {source.url}, {dates.when(chosen.started_at)} UTC")
    for line in describe(chosen.provenance, certificate_pems(session, chosen.provenance)):
        click.echo(line)


def _chosen_capture(captures, capture_id: int | None, wanted: str, source_url: str):
    """The capture asked for by id, else the latest one holding `wanted` ("text", "body", "provenance",
    "screenshot")."""
    column = {"text": "text_sha256", "provenance": "provenance", "screenshot": "screenshot_sha256"}.get(wanted, "body_sha256")
    if capture_id is not None:
        chosen = next((c for c in captures if c.id == capture_id), None)
        if chosen is None:
            fail(f"capture {capture_id} is not a capture of {source_url} (see `archiver show URL`)")
        if getattr(chosen, column) is None:
            fail(f"capture {capture_id} has no stored {wanted}")
        return chosen
    held = [c for c in captures if getattr(c, column)]
    if not held:
        fail(f"no capture of {source_url} has a stored {wanted} yet")
    return held[-1]


@click.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="JSON object with the source and its captures.")
@click.option("--text", "show_text", is_flag=True, help="Print the stored main text of the latest capture that has one.")
@click.option("--capture", "capture_id", type=int,
              help="With --text or --provenance: this capture's (an id from `archiver show URL`).")
@click.option("--provenance", "show_provenance", is_flag=True,
              help="Print how the latest capture was collected: each request's address, IP, headers, TLS and "
                   "certificate chain (PEM), user agent, software versions.")
@pass_app
def show(app: App, url: str, as_json: bool, show_text: bool = False, capture_id: int | None = None,
         show_provenance: bool = False) -> None:
    """The history of one source: every capture, oldest first; with --text, the main text stored
    for a capture (what verdicts and quote checks read); with --provenance, how it was collected."""
    from rich.markup import escape
    from rich.table import Table

    from archiver.cli.app import console, print_table
    from archiver.events import wayback_copies
    from archiver.readdb import Reader
    from archiver.screenshots import screenshots_of

    app.existing()
    if capture_id is not None and not (show_text or show_provenance):
        fail("--capture goes with --text or --provenance", code=2)
    if show_text and show_provenance:
        fail("--text and --provenance cannot be combined", code=2)
    with app.sessions() as session:
        source = tracked_source(session, url)
        captures = source_captures(session, source)
        if show_provenance:
            _print_provenance(session, source, captures, capture_id, as_json)
            return
        copies = wayback_copies(Reader.of_session(session), [c.id for c in captures])
        shots = screenshots_of(session, [c.id for c in captures])
        if show_text:
            from archiver.store import get_text

            chosen = _chosen_capture(captures, capture_id, "text", source.url)
            text = get_text(session, chosen.text_sha256)
    if show_text:
        if as_json:
            print_json({"url": source.url, "capture_id": chosen.id, "captured_at": chosen.started_at.isoformat(),
                        "text_sha256": chosen.text_sha256, "text": text})
        else:
            click.echo(text)
        return
    if as_json:
        print_json({
            "url": source.url, "state": source.state, "reason": source.state_reason, "final_url": source.final_url,
            "title": source.title, "lang": source.lang,
            "captures": [capture_json(c, copies.get(c.id), shots.get(c.id)) for c in captures],
            "no_wayback": bool(source.no_wayback),
            "tracked": source.untracked_at is None,
            "untracked_at": source.untracked_at.isoformat() if source.untracked_at else None,
            "untracked_reason": source.untracked_reason,
            "vantage": source.vantage, "recheck_vantage": source.recheck_vantage,
        })
        return
    console.print(f"[bold]{escape(source.url)}[/]  [{STATE_STYLES.get(source.state, '')}]{source.state}[/]"
                  + ("  (never sent to the Wayback Machine)" if source.no_wayback else ""), highlight=False)
    if source.state_reason:
        console.print(f"  {escape(source.state_reason)}", highlight=False)
    if source.untracked_at:
        console.print(f"  untracked since {dates.when(source.untracked_at)}: {escape(source.untracked_reason or '')}",
                      highlight=False)
    table = Table(header_style="bold")
    for name in ("id", "captured (UTC)", "origin", "status", "verdict", "body sha256", "size", "screenshot",
                 "reason / error"):
        keep = name not in ("reason / error",)
        table.add_column(name, overflow="fold", no_wrap=keep)
    for c in captures:
        seen_from = capture_vantage(c.config)
        origin = c.origin + (" (rendered)" if c.rendered_sha256 else "") + (
            f" ({seen_from})" if seen_from and seen_from != "default" else "")
        shot = ", ".join(s.sha256[:16] for s in shots.get(c.id, [])) or "-"
        table.add_row(
            str(c.id), dates.when(c.started_at), origin, str(c.status_code or "-"), c.verdict or "failed",
            (c.body_sha256 or "-")[:16], str(c.body_size or "-"), shot, escape(c.error or c.verdict_reason or ""),
        )
    print_table(console, table)
    if shots:
        console.print("screenshots: `archiver open URL --screenshot` opens the latest; `--json` lists their hashes",
                      highlight=False)


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Show the newest N passes.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON array, newest first: id, started_at, ended_at, status, worker, trigger, counts, errors, error.")
@pass_app
def runs(app: App, limit: int, as_json: bool) -> None:
    """Recent capture passes: when, where, and what they found.

    `errors` counts the captures of a run that failed: the page was unreachable or the capture
    recorded an error (see `archiver status`). A run stopped by a signal or a crash shows as
    interrupted.
    """
    from rich.markup import escape
    from rich.table import Table

    from archiver.cli.app import console, print_table
    from archiver.history import recent_runs

    with app.reader() as db:
        data = [{**r, "started_at": r["started_at"].isoformat(),
                 "ended_at": r["ended_at"].isoformat() if r["ended_at"] else None} for r in recent_runs(db, limit)]
    if as_json:
        print_json(data)
        return
    table = Table(header_style="bold")
    for name in ("run", "started (UTC)", "ended (UTC)", "status", "trigger", "captured", "verdicts", "errors"):
        table.add_column(name, overflow="fold", no_wrap=name not in ("verdicts", "errors"))
    for r in data:
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted(r["counts"].items()) if k not in ("total", "new_bodies"))
        problems = str(r["errors"]) + (f"; {escape(r['error'])}" if r["error"] else "")
        status = f"[yellow]{r['status']}[/]" if r["status"] == "interrupted" else r["status"]
        table.add_row(str(r["id"]), dates.when(r["started_at"]), dates.when(r["ended_at"]), status, escape(r["trigger"] or ""),
                      str(r["counts"].get("total", "-")), verdicts, problems)
    print_table(console, table)


@click.command()
@click.argument("url")
@click.option("--from", "from_id", type=int, help="Capture id to compare from (default: the previous good capture).")
@click.option("--to", "to_id", type=int, help="Capture id to compare to (default: the latest capture with text).")
@click.option("--context", type=int, default=60, show_default=True, help="Characters of unchanged text kept around each change.")
@click.option("--json", "as_json", is_flag=True, help="Segments as JSON: [{op, text}], op equal/insert/delete.")
@pass_app
def diff(app: App, url: str, from_id: int | None, to_id: int | None, context: int, as_json: bool) -> None:
    """What changed in a source's main text between two captures.

    Word by word for English, by word segment for Chinese; removed text is marked [-like this-],
    added text {+like this+}.
    """
    from rich.markup import escape

    from archiver.cli.app import console
    from archiver.compare import CompareError, compare
    from archiver.diff import render_terminal, summary

    app.existing()
    with app.sessions() as session:
        source = tracked_source(session, url)
        try:
            found = compare(session, source, from_id, to_id)
        except CompareError as exc:
            fail(str(exc))
        if found is None:
            newest = [c for c in source_captures(session, source) if c.text_sha256][-1:]
            if as_json:
                print_json({"url": source.url, "from": None, "to": newest[0].id if newest else None, "segments": []})
            else:
                console.print("no two captures with different text to compare", highlight=False)
            return
    old, new, segments = found.old, found.new, found.segments
    if as_json:
        print_json({
            "url": source.url, "from": old.id, "to": new.id, "summary": summary(segments),
            "segments": [{"op": s.op, "text": s.text} for s in segments],
        })
        return
    console.print(f"[bold]{escape(source.url)}[/]: capture {old.id} ({dates.when(old.started_at, utc=True)}) -> {new.id} "
                  f"({dates.when(new.started_at, utc=True)})", highlight=False)
    console.print(render_terminal(segments, context=context))


def _chosen_screenshot(session, source, capture_id: int | None):
    """(capture, screenshot sha256): the capture asked for, else the latest one with a screenshot."""
    from archiver.screenshots import screenshots_of

    captures = source_captures(session, source)
    shots = screenshots_of(session, [c.id for c in captures])
    if capture_id is not None:
        chosen = next((c for c in captures if c.id == capture_id), None)
        if chosen is None:
            fail(f"capture {capture_id} is not a capture of {source.url} (see `archiver show URL`)")
        if not shots.get(capture_id):
            fail(f"capture {capture_id} has no screenshot (`archiver screenshot URL` takes one now)")
        return chosen, shots[capture_id][-1].sha256
    held = [c for c in captures if shots.get(c.id)]
    if not held:
        fail(f"no capture of {source.url} has a screenshot yet (`archiver screenshot URL` takes one now)")
    return held[-1], shots[held[-1].id][-1].sha256


EXTENSIONS = {"image/png": ".png", "text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
              "text/plain": ".txt", "application/json": ".json", "text/xml": ".xml", "application/xml": ".xml"}


@click.command("open")
@click.argument("url")
@click.option("--capture", "capture_id", type=int, help="This capture's body (default: the latest capture with a body).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the body here (default: a new temporary folder).")
@click.option("--opener", envvar="ARCHIVER_OPENER",
              help="Command that opens the file, given its path as last argument (default: the desktop's, "
                   "xdg-open or open); env ARCHIVER_OPENER.")
@click.option("--no-open", is_flag=True, help="Only write the file and print its path.")
@click.option("--screenshot", "want_screenshot", is_flag=True,
              help="The capture's full-page screenshot (PNG) instead of its body.")
@pass_app
def open_command(app: App, url: str, capture_id: int | None, output: str | None, opener: str | None,
                 no_open: bool, want_screenshot: bool = False) -> None:
    """Write the stored body of a capture of URL (the bytes as fetched: HTML, PDF ...), or with
    --screenshot its screenshot, to a file and open it. An HTML page opened in a browser may load
    its images and scripts from the live site; use --no-open to only write the file."""
    import shlex
    import subprocess
    import tempfile
    from pathlib import Path

    from archiver.store import get_blob

    with app.sessions() as session:
        source = tracked_source(session, url)
        if want_screenshot:
            chosen, key = _chosen_screenshot(session, source, capture_id)
            media, suffix = "image/png", "-screenshot"
        else:
            chosen = _chosen_capture(source_captures(session, source), capture_id, "body", source.url)
            key = chosen.body_sha256
            media, suffix = (chosen.content_type or "").split(";")[0].strip().lower(), ""
        body = get_blob(session, key)
    if output:
        path = Path(output)
    else:
        folder = Path(tempfile.mkdtemp(prefix="archiver-open-"))
        path = folder / f"capture-{chosen.id}{suffix}-{key[:12]}{EXTENSIONS.get(media, '.bin')}"
    try:
        path.write_bytes(body)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    click.echo(str(path))
    if no_open:
        return
    if opener:
        try:
            done = subprocess.run([*shlex.split(opener), str(path)], check=False)
        except (OSError, ValueError) as exc:
            fail(f"cannot run the opener {opener!r}: {exc}")
        if done.returncode != 0:
            fail(f"the opener {opener!r} failed (exit {done.returncode}); the file is at {path}")
    elif click.launch(str(path)) != 0:
        fail(f"could not open {path} (set ARCHIVER_OPENER or give --opener)")


@click.command()
@click.argument("url")
@click.option("--reason", help="Why it is no longer tracked (shown in status and show; written in the chain with --purge).")
@click.option("--purge", is_flag=True,
              help="Also remove every capture of URL from the archive, on the record: a custody event in the "
                   "hash chain says what was removed, when, why and by whom (`archiver verify` lists it). "
                   "Needs --yes and --reason; without --yes, only says what would go.")
@click.option("--yes", is_flag=True, help="Confirm --purge.")
@click.option("--by", "actor", help="With --purge: who removes them (written in the custody event).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def untrack(app: App, url: str, reason: str | None, as_json: bool, purge: bool = False, yes: bool = False,
            actor: str | None = None) -> None:
    """Stop capturing URL. Every capture, its state and its citations are kept; `archiver
    retrack URL` starts again. Captures are only ever removed with --purge --yes."""
    from archiver.tracking import untrack as untrack_source

    if (yes or actor) and not purge:
        fail("--yes and --by go with --purge", code=2)
    if purge:
        _purge(app, url, reason, yes, actor, as_json)
        return
    with app.sessions.begin() as session:
        change = untrack_source(session, tracked_source(session, url), reason).as_json()
    if as_json:
        print_json(change)
    else:
        click.echo(f"{'untracked' if change['changed'] else 'already untracked'}: {change['url']}")


def _purge(app: App, url: str, reason: str | None, yes: bool, actor: str | None, as_json: bool) -> None:
    """`untrack --purge`: say what would go; with --yes, untrack and purge on the record."""
    from archiver.custody import PurgeError
    from archiver.tracking import purge_plan, untrack_and_purge

    if not (reason or "").strip():
        fail("a purge needs --reason: it is written in the chain for whoever checks the archive later", code=2)
    with app.sessions() as session:
        plan = purge_plan(session, tracked_source(session, url))
    if not yes:
        if as_json:
            print_json({**plan.as_json(), "purged": False})
        else:
            click.echo(f"would remove {plan.captures} capture(s) of {plan.url}"
                       + (f", made {dates.when(plan.first)} to {dates.when(plan.last)} UTC" if plan.captures else ""))
        fail("nothing removed: add --yes to purge them (the removal is written in the chain)")
    try:
        with app.sessions.begin() as session:
            change, purged = untrack_and_purge(session, tracked_source(session, url), reason, actor=actor)
            data = {**change.as_json(), "purged": True, "purge": purged.as_json()}
    except PurgeError as exc:
        fail(str(exc))
    from archiver.anchors import anchor_quietly

    anchor_quietly(app.sessions, app.config, "untrack --purge")
    if as_json:
        print_json(data)
    else:
        click.echo(f"untracked {data['url']} and removed {len(purged.captures)} capture(s) on the record "
                   f"(purge event {purged.event_id}); `archiver verify` lists it")


@click.command()
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def retrack(app: App, url: str, as_json: bool) -> None:
    """Track URL again after `archiver untrack`: it is captured at the next `archiver run`."""
    from archiver.tracking import retrack as retrack_source

    with app.sessions.begin() as session:
        change = retrack_source(session, tracked_source(session, url)).as_json()
    if as_json:
        print_json(change)
    else:
        click.echo(f"{'tracking again' if change['changed'] else 'already tracked'}: {change['url']}")


commands = [add, run, status, show, runs, diff, open_command, untrack, retrack]
