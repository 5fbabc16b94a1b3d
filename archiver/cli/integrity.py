"""Commands that prove the archive holds up: verify, import-warc, timestamp."""

from __future__ import annotations

import click

from archiver.cli.app import App, console, err_console, fail, pass_app, print_json

PROGRESS_EVERY = 100_000


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def verify(app: App, as_json: bool) -> None:
    """Check that nothing in the archive changed since it was stored.

    Re-hashes every stored body and text, checks every capture's references, recomputes
    the hash chain over all captures, and checks trusted timestamps. Names every altered
    or missing capture and blob. Exits 1 when anything is wrong.
    """
    from archiver.integrity import verify_store

    shown: dict[str, int] = {}

    def progress(stage: str, count: int) -> None:
        if not as_json and count - shown.get(stage, 0) >= PROGRESS_EVERY:
            shown[stage] = count
            err_console.print(f"checked {count} {stage}...", highlight=False)

    with app.sessions() as session:
        report = verify_store(session, progress=progress)
    if as_json:
        print_json(report.as_json())
    else:
        summary = (f"{report.captures_checked} captures, {report.blobs_checked} blobs"
                   + (f", {report.timestamps_checked} trusted timestamps" if report.timestamps_checked else ""))
        if report.ok:
            console.print(f"[green]archive intact[/]: checked {summary}; chain head is capture "
                          f"{report.head_capture_id} ({report.head_hash})", highlight=False, soft_wrap=True)
        else:
            console.print(f"[bold red]{len(report.problems)} problem(s) found[/] (checked {summary}):", highlight=False)
            for problem in report.problems:
                console.print(f"  - {problem.message}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise SystemExit(1)


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
        summary = import_warc(app.sessions, file, tracked_only=tracked_only)
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
    the authority's time. Tokens are kept in the archive and checked by `archiver verify`.
    """
    from archiver.timestamp import TimestampError, timestamp_chain_head

    if list_tokens:
        _list_timestamps(app, as_json)
        return
    url = tsa_url or app.config.integrity.tsa_url
    try:
        with app.sessions.begin() as session:
            row, info = timestamp_chain_head(session, url, timeout=app.config.fetch.timeout)
            data = {"id": row.id, "capture_id": row.capture_id, "record_hash": row.record_hash, "tsa_url": url,
                    **info.as_json()}
    except TimestampError as exc:
        fail(str(exc))
    if as_json:
        print_json(data)
    else:
        console.print(f"timestamped capture {data['capture_id']} (record hash {data['record_hash']}) at "
                      f"{data['time']} by {data['authority']}", highlight=False, soft_wrap=True)


def _list_timestamps(app: App, as_json: bool) -> None:
    import base64

    from sqlalchemy import select

    from archiver.models import ChainHead
    from archiver.timestamp import TimestampError, verify_token

    rows = []
    with app.sessions() as session:
        for head in session.scalars(select(ChainHead).where(ChainHead.id != 1).order_by(ChainHead.id)):
            entry = {"id": head.id, "capture_id": head.capture_id, "record_hash": head.record_hash,
                     "tsa_url": head.tsa_url, "created_at": head.created_at.isoformat()}
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
        console.print(f"{entry['id']}: capture {entry['capture_id']} ({entry['record_hash']}): {state}",
                      highlight=False, soft_wrap=True)


commands: list = [verify, import_warc_command, timestamp]
