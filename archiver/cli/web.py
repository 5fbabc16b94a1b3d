"""`archiver serve`: the web interface on this machine (or, with a password, on the network)."""

from __future__ import annotations

import signal

import click

from archiver.cli.app import App, fail, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any address but a loopback one needs [web] password or [web] token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@pass_app
def serve(app: App, host: str, port: int) -> None:
    """Serve the web interface: the dashboard, sources and their captures side by side, claims
    and their reports, adding sources and capturing them now.

    Ctrl-C or SIGTERM stops it with exit status 0 (as `archiver schedule` after SIGTERM): the
    requests under way are answered, and a capture asked for from the web drops what it has in
    flight (those sources stay due)."""
    from archiver.web.security import InsecureBinding, check_binding, is_loopback

    try:
        check_binding(host, app.config.web)
    except InsecureBinding as exc:
        fail(str(exc))
    import uvicorn

    from archiver.web.app import LOOPBACK_NAMES, create_app

    web = create_app(app.config, sessions=app.sessions, allowed_hosts=[*LOOPBACK_NAMES, host] if is_loopback(host) else None)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"archiver web interface on http://{shown}:{port}/ (Ctrl-C stops it)", err=True)
    # uvicorn answers SIGINT and SIGTERM by shutting down, then raises the signal again under the
    # handler found before it started: for SIGTERM this one, so that `systemctl stop` ends with
    # status 0 as Ctrl-C does (uvicorn.run swallows the KeyboardInterrupt).
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("stopped", err=True)


commands = [serve]
