"""`archiver screenshot URL`: render a source now and keep a full-page screenshot of it."""

from __future__ import annotations

import click

from archiver.cli.app import App, fail, pass_app, print_json, tracked_source


@click.command()
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Also write the PNG to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the capture and its screenshot as JSON.")
@pass_app
def screenshot(app: App, url: str, output: str | None, as_json: bool) -> None:
    """Capture URL now with a browser (Chromium) and keep a full-page screenshot with the capture.

    The capture is an ordinary one (judged, quote-checked, sealed), rendered whatever the
    source's render mode; the screenshot is stored as a blob in the hash chain, and `archiver
    show URL` lists it. Exits 1 when no screenshot could be taken (the reason is printed).
    """
    import asyncio

    from archiver.capture import capture_pass
    from archiver.screenshots import screenshots_for
    from archiver.store import get_blob

    app.existing()
    with app.sessions() as session:
        source = tracked_source(session, url)
        source_id, source_url = source.id, source.url
    summary = asyncio.run(capture_pass(app.config, app.sessions, everything=True, source_ids=[source_id],
                                       trigger="screenshot", screenshot=True))
    with app.sessions() as session:
        from sqlalchemy import select

        from archiver.models import Capture

        capture = session.scalars(select(Capture).where(Capture.source_id == source_id, Capture.run_id == summary.run_id)
                                  .order_by(Capture.id.desc())).first()
        shots = screenshots_for(session, capture.id) if capture is not None else []
        png = get_blob(session, shots[-1].sha256) if shots and output else None
    if not shots:
        why = (capture.error if capture is not None else None) or "the browser could not show the page"
        fail(f"no screenshot of {source_url}: {why}")
    shot = shots[-1]
    if output and png is not None:
        with open(output, "wb") as handle:
            handle.write(png)
    data = {"url": source_url, "capture_id": capture.id, "verdict": capture.verdict, "screenshot": shot.as_json(),
            "file": output}
    if as_json:
        print_json(data)
        return
    click.echo(f"capture {capture.id} of {source_url} ({capture.verdict or 'failed'}): screenshot "
               f"{shot.width}x{shot.height} px, sha256 {shot.sha256}" + (f", written to {output}" if output else ""))


commands = [screenshot]
