"""`archiver wayback ...`: the Save Page Now queue, look-ups of existing copies, recovery of lost pages."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from archiver import dates
from archiver.cli.app import App, console, fail, pass_app, print_json, tracked_source
from archiver.urls import InvalidURL, normalise_url

if TYPE_CHECKING:
    from archiver import recover as rc
    from archiver import wayback_queue as wq

RESULT_STYLES = {"done": "green", "submitted": "cyan", "deferred": "yellow", "failed": "bold red", "stopped": "bold red",
                 "recovered": "green", "already": "dim", "none": "yellow", "error": "bold red",
                 "refused": "magenta"}


@click.group("wayback")
def wayback() -> None:
    """Submit pages to the Wayback Machine, look up its copies, recover lost pages.

    Captures that are new or altered are queued for Save Page Now automatically; `drain`
    sends them at [wayback] max_per_minute. Set [wayback] access_key and secret_key
    (https://archive.org/account/s3.php) to use Save Page Now 2; without keys, saves are anonymous.
    """


@wayback.command()
@click.option("--max", "max_items", type=click.IntRange(min=1), help="Take at most N jobs from the queue.")
@click.option("--wait", "max_wait", type=click.FloatRange(min=0), default=900.0, show_default=True,
              help="Sit out pauses and back-offs up to this many seconds; longer ones end the drain "
                   "(the jobs stay queued for the next one).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@pass_app
def drain(app: App, max_items: int | None, max_wait: float | None, as_json: bool) -> None:
    """Send queued pages to Save Page Now, at the configured rate, until none is due.

    Rate limits and outages only delay jobs (exponential back-off, Retry-After honoured); a job
    fails after [wayback] max_attempts real failures. Safe to interrupt and to run again.
    """
    from archiver import wayback_queue as wq

    config = app.config
    if not config.wayback.enabled:
        fail("Wayback submissions are off: set [wayback] enabled = true")
    stop = threading.Event()

    def show(event: wq.DrainEvent) -> None:
        if as_json:
            return
        style = RESULT_STYLES.get(event.result, "")
        target = f" -> {event.wayback_url}" if event.wayback_url else ""
        detail = f" ({escape(event.detail)})" if event.detail else ""
        console.print(f"[{style}]{event.result:9}[/] {escape(event.url)}{escape(target)}{detail}",
                      highlight=False, soft_wrap=True)

    try:
        summary = wq.drain(config, app.sessions, max_items=max_items, max_wait=max_wait, stop=stop, on_event=show)
    except KeyboardInterrupt:
        stop.set()
        fail("interrupted: unfinished jobs stay in the queue for the next drain", code=130)
    if as_json:
        print_json(summary.as_json())
    else:
        console.print(
            f"{summary.claimed} jobs taken: {summary.done} done, {summary.deferred} deferred, {summary.failed} failed; "
            f"{summary.submitted} submissions, {summary.rate_limited} rate limits, waited {summary.waited:.0f} s",
            highlight=False,
        )
        if summary.stopped:
            console.print(f"stopped: {escape(summary.stopped)}", highlight=False, soft_wrap=True)
    if summary.events and summary.events[-1].result == "stopped":
        raise SystemExit(1)


@wayback.command()
@click.option("--json", "as_json", is_flag=True, help="Counts, failures and retries as JSON.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """How many submissions are pending, running, done and failed, and why some failed."""
    from archiver import wayback_queue as wq

    with app.sessions() as session:
        data = wq.queue_status(session)
    if as_json:
        print_json(data)
        return
    counts = data["counts"]
    console.print("Wayback submissions: " + ", ".join(f"{counts[k]} {k}" for k in ("pending", "running", "done", "failed")),
                  highlight=False)
    if data["next_attempt_at"] and counts["pending"]:
        console.print(f"next attempt due: {dates.when(data['next_attempt_at'], seconds=True, utc=True)}", highlight=False)
    for title, rows, when_key, style in (("waiting to retry", data["retrying"], "next_attempt_at", "yellow"),
                                         ("failed", data["failures"], "failed_at", "bold red")):
        if not rows:
            continue
        console.print(f"[{style}]{title}:[/]", highlight=False)
        for row in rows:
            moment = dates.when(row[when_key], utc=True)
            console.print(f"  {escape(row['url'])}\n    {row['attempts']} attempts, {moment}: {escape(row['error'] or '')}",
                          highlight=False, soft_wrap=True)


@wayback.command()
@click.argument("url")
@click.option("--from", "since", metavar="YYYYMMDD", help="Only copies from this moment on (1-14 digits).")
@click.option("--to", "until", metavar="YYYYMMDD", help="Only copies up to this moment (1-14 digits).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Show the newest N copies.")
@click.option("--json", "as_json", is_flag=True, help="The copies as a JSON list.")
@pass_app
def lookup(app: App, url: str, since: str | None, until: str | None, limit: int, as_json: bool) -> None:
    """List the copies of URL the Wayback Machine holds (from its CDX server), oldest first."""
    from archiver import wayback as wb

    for value, name in ((since, "--from"), (until, "--to")):
        if value and not (value.isdigit() and 1 <= len(value) <= 14):
            fail(f"{name} takes a Wayback timestamp: 1 to 14 digits, like 2019 or 20190503", code=2)
    try:
        url = normalise_url(url)
    except InvalidURL as exc:
        fail(str(exc), code=2)
    _refuse_withheld(app, url)
    with wb.WaybackClient(app.config.wayback) as client:
        try:
            copies = client.snapshots(url, since=since, until=until, limit=-limit)
        except wb.WaybackError as exc:
            fail(str(exc))
    if as_json:
        print_json([copy.as_json() for copy in copies])
        return
    if not copies:
        console.print(f"The Wayback Machine holds no copy of {escape(url)}", highlight=False)
        return
    for copy in copies:
        console.print(f"{dates.when(copy.archived_at, seconds=True, utc=True)}  {copy.status or '-'}  {copy.mimetype or '-'}  "
                      f"sha1:{copy.digest or '-'}\n    {escape(copy.replay_url)}", highlight=False, soft_wrap=True)
    console.print(f"{len(copies)} cop{'y' if len(copies) == 1 else 'ies'} of {escape(url)}", highlight=False)


def _refuse_withheld(app: App, url: str) -> None:
    """Fail when URL must not be named to the Wayback Machine (archiver.submissions.wayback_refusal)."""
    from archiver.sources import find_source
    from archiver.submissions import private_reason, wayback_refusal

    with app.sessions() as session:
        source = find_source(session, url)
        refused = wayback_refusal(source) if source is not None else private_reason([url])
    if refused:
        fail(f"not looked up at the Wayback Machine: {refused} (a look-up tells it the URL)")


@wayback.command()
@click.argument("url", required=False)
@click.option("--all-deleted", is_flag=True, help="Every deleted source, and every source never captured successfully.")
@click.option("--date", "on_date", type=click.DateTime(["%Y-%m-%d"]),
              help="Take the copy closest to this day instead of the citations' accessed dates.")
@click.option("--json", "as_json", is_flag=True, help="The outcome for each source as JSON.")
@pass_app
def recover(app: App, url: str | None, all_deleted: bool, on_date, as_json: bool) -> None:
    """Store the Wayback Machine's copy of a lost page as a capture, and check its quotes.

    Takes the copy closest to the date each citation was accessed, else the newest copy
    from before the page was found deleted. The source keeps its state (still deleted); the
    recovered capture is marked as coming from the Wayback Machine.
    """
    from archiver import recover as rc
    from archiver import wayback as wb

    if bool(url) == all_deleted:
        fail("give one URL, or --all-deleted", code=2)
    with app.sessions() as session:
        if url:
            source = tracked_source(session, url)
            ids = [source.id]
        else:
            ids = [s.id for s in rc.recovery_candidates(session)]
    results: list[rc.Recovery] = []
    with wb.WaybackClient(app.config.wayback) as client:
        for source_id in ids:
            found = rc.recover_source(app.config, app.sessions, source_id,
                                      on_date=on_date.date() if on_date else None, client=client)
            results.extend(found)
            if not as_json:
                for item in found:
                    style = RESULT_STYLES.get(item.result, "")
                    where = f" -> {item.wayback_url}" if item.wayback_url else ""
                    console.print(f"[{style}]{item.result:9}[/] {escape(item.url)}{escape(where)} ({escape(item.message)})",
                                  highlight=False, soft_wrap=True)
    if as_json:
        print_json([item.as_json() for item in results])
    elif not results:
        console.print("no deleted sources to recover", highlight=False)
    if url and results and all(item.result in ("error", "refused") for item in results):
        raise SystemExit(1)


@wayback.command()
@click.argument("url", required=False)
@click.option("--all-failed", is_flag=True, help="Every failed submission.")
@pass_app
def retry(app: App, url: str | None, all_failed: bool) -> None:
    """Queue failed submissions again, with a fresh count of attempts."""
    from archiver import wayback_queue as wq

    if bool(url) == all_failed:
        fail("give one URL, or --all-failed", code=2)
    with app.sessions.begin() as session:
        ids = None
        if url:
            source = tracked_source(session, url)
            ids = [source.id]
        count = wq.retry_failed(session, ids)
    console.print(f"{count} failed submission{'s' if count != 1 else ''} queued again", highlight=False)


commands = [wayback]
