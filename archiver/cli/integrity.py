"""Commands that prove the archive holds up: verify, import-warc, timestamp."""

from __future__ import annotations

import click

from archiver.cli.app import App, console, err_console, fail, pass_app, print_json

PROGRESS_EVERY = 100_000


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--anchor", "anchor_files", multiple=True, type=click.Path(dir_okay=False),
              help="Also check the archive against the chain head recorded in this file: a copy of the anchor log, "
                   "a WACZ or WARC exported by the archiver, or a citation report (md, html, json). Repeatable.")
@pass_app
def verify(app: App, as_json: bool, anchor_files: tuple[str, ...]) -> None:
    """Check that nothing in the archive changed since it was stored.

    Re-hashes every stored body and text, checks every capture's references, recomputes
    the hash chain over all captures and chained events, and checks it against every
    anchor of its head it can find: the anchor log beside the archive (or [integrity]
    anchor_log), the files given with --anchor, and trusted timestamps. Names every
    altered or missing capture, event, blob and anchor. Exits 1 when anything is wrong.
    """
    from archiver.anchors import log_path
    from archiver.integrity import verify_store

    shown: dict[str, int] = {}

    def progress(stage: str, count: int) -> None:
        if not as_json and count - shown.get(stage, 0) >= PROGRESS_EVERY:
            shown[stage] = count
            err_console.print(f"checked {count} {stage}...", highlight=False)

    with app.sessions() as session:
        report = verify_store(session, progress=progress, anchor_log=log_path(app.config), anchor_files=anchor_files)
    if as_json:
        print_json(report.as_json())
    else:
        _print_report(report)
    if not report.ok:
        raise SystemExit(1)


def _print_report(report) -> None:
    from rich.markup import escape

    from archiver.anchors import element_label, short_time

    summary = (f"{report.captures_checked} captures, {report.events_checked} chained events, "
               f"{report.blobs_checked} blobs"
               + (f", {report.timestamps_checked} trusted timestamps" if report.timestamps_checked else ""))
    head = element_label(report.head_capture_id, report.head_event_id)
    if report.ok:
        console.print(f"[green]archive intact[/]: checked {summary}; chain head is {head} ({report.head_hash})",
                      highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold red]{len(report.problems)} problem(s) found[/] (checked {summary}):", highlight=False)
        for problem in report.problems:
            console.print(f"  - {escape(problem.message)}", highlight=False, soft_wrap=True)
    anchors = report.anchors
    console.print("anchors of the chain head checked:", highlight=False)
    for entry in anchors["logs"]:
        if entry["found"]:
            last = entry["last"]
            tail = (f", the last written {short_time(last['written_at'])} naming "
                    f"{element_label(last['capture_id'], last['event_id'])}") if last else ""
            console.print(f"  - anchor log {escape(entry['path'])} ({entry['role']}): {entry['lines']} line(s){tail}",
                          highlight=False, soft_wrap=True)
        else:
            console.print(f"  - anchor log {escape(entry['path'])} ({entry['role']}): not found", highlight=False,
                          soft_wrap=True)
    for entry in anchors["files"]:
        console.print(f"  - {escape(entry['path'])}: {entry['heads']} head(s)", highlight=False, soft_wrap=True)
    console.print(f"  - the archive's own copies of anchor log lines: {anchors['store_records']}", highlight=False)
    console.print(f"  - trusted timestamps: {report.timestamps_checked + anchors['timestamps']}", highlight=False)
    console.print(f"  {anchors['checked']} anchored head(s) found in the chain with the record hash they recorded",
                  highlight=False, soft_wrap=True)
    if report.purges:
        console.print(f"removed on purpose ({report.purged} record(s), each listed by a sealed purge event):",
                      highlight=False)
        for purge in report.purges:
            what = f"{purge['captures']} capture(s)" + (f" of {purge['source_url']}" if purge["source_url"] else "")
            who = f" by {purge['actor']}" if purge["actor"] else ""
            console.print(f"  - event {purge['event_id']}, {short_time(purge['at'])}{escape(who)}: {escape(what)}; "
                          f"reason: {escape(purge['reason'] or '-')}", highlight=False, soft_wrap=True)
    for note in report.notes:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


@click.command("import-warc")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--tracked-only", is_flag=True, help="Import only pages of sources already tracked; do not track new URLs.")
@click.option("--json", "as_json", is_flag=True, help="Print what was imported as JSON.")
@pass_app
def import_warc_command(app: App, file: str, tracked_only: bool, as_json: bool) -> None:
    """Bring captures from a WARC file made by another tool (wget --warc-file,
    browsertrix, ArchiveBox) into the archive, with their original dates.

    HTML, PDF and plain-text responses become captures (origin "warc"); their URLs are
    tracked as sources. Importing the same file twice adds nothing.
    """
    from archiver.warc import WarcImportError, import_warc

    try:
        summary = import_warc(app.sessions, file, tracked_only=tracked_only, config=app.config)
    except WarcImportError as exc:
        fail(str(exc), code=2)
    if as_json:
        print_json(summary.as_json())
        return
    console.print(f"imported {summary.imported} capture(s) from {summary.file} "
                  f"({summary.records} records; {summary.new_sources} new source(s); "
                  f"{summary.duplicates} already in the archive; {summary.skipped} skipped)", highlight=False, soft_wrap=True)
    for reason, n in sorted(summary.skipped_reasons.items(), key=lambda item: -item[1]):
        console.print(f"  skipped {n}: {reason}", highlight=False)


@click.command()
@click.option("--tsa-url", help="RFC 3161 timestamp authority to use (default: tsa_url in [integrity]).")
@click.option("--list", "list_tokens", is_flag=True, help="List the timestamps already taken, with their tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def timestamp(app: App, tsa_url: str | None, list_tokens: bool, as_json: bool) -> None:
    """Have a trusted timestamp authority (RFC 3161) sign the chain head's record hash.

    The token proves that every capture up to the head existed, as stored, no later than
    the authority's time. Tokens are kept in the archive and in the anchor log, and checked
    by `archiver verify`.
    """
    import base64

    from archiver.anchors import anchor_quietly, element_label
    from archiver.timestamp import TimestampError, timestamp_chain_head

    if list_tokens:
        _list_timestamps(app, as_json)
        return
    url = tsa_url or app.config.integrity.tsa_url
    try:
        with app.sessions.begin() as session:
            row, info = timestamp_chain_head(session, url, timeout=app.config.fetch.timeout)
            token = row.tsa_token or b""
            data = {"id": row.id, "capture_id": row.capture_id, "record_hash": row.record_hash, "tsa_url": url,
                    **info.as_json(), "event_id": row.event_id}
    except TimestampError as exc:
        fail(str(exc))
    anchor_quietly(app.sessions, app.config, "timestamp",
                   extra={"tsa_url": url, "tsa_token": base64.b64encode(token).decode("ascii")})
    if as_json:
        print_json(data)
    else:
        console.print(f"timestamped {element_label(data['capture_id'], data['event_id'])} (record hash "
                      f"{data['record_hash']}) at {data['time']} by {data['authority']}", highlight=False, soft_wrap=True)


def _list_timestamps(app: App, as_json: bool) -> None:
    import base64

    from sqlalchemy import select

    from archiver.anchors import element_label
    from archiver.models import ChainHead
    from archiver.timestamp import TimestampError, verify_token

    rows = []
    with app.sessions() as session:
        for head in session.scalars(select(ChainHead).where(ChainHead.id != 1).order_by(ChainHead.id)):
            entry = {"id": head.id, "capture_id": head.capture_id, "record_hash": head.record_hash,
                     "tsa_url": head.tsa_url, "created_at": head.created_at.isoformat(), "event_id": head.event_id}
            try:
                entry.update(verify_token(head.tsa_token or b"", head.record_hash).as_json(), valid=True)
            except TimestampError as exc:
                entry.update(valid=False, problem=str(exc))
            entry["token"] = base64.b64encode(head.tsa_token or b"").decode("ascii")
            rows.append(entry)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no trusted timestamps yet: run `archiver timestamp`", highlight=False)
    for entry in rows:
        state = f"{entry['time']} by {entry['authority']}" if entry["valid"] else f"INVALID: {entry['problem']}"
        console.print(f"{entry['id']}: {element_label(entry['capture_id'], entry['event_id'])} ({entry['record_hash']}): {state}",
                      highlight=False, soft_wrap=True)


commands: list = [verify, import_warc_command, timestamp]
