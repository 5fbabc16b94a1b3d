"""Commands for running unattended: `archiver schedule` and `archiver notify`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from archiver.cli.app import App, console, fail, pass_app, print_json

if TYPE_CHECKING:
    from archiver import notify as notifications


@click.command()
@click.option("--once", is_flag=True, help="Run one scheduled pass (with its digest) and exit.")
@click.option("--worker", "worker", metavar="NAME",
              help="Name of this worker in leases and runs (default: host:pid:random). "
                   "Give each worker its own name when containers share one host name.")
@pass_app
def schedule(app: App, once: bool, worker: str | None) -> None:
    """Run unattended: scheduled capture passes, Wayback submissions, change digests.

    Runs in the foreground: a capture pass on [schedule] cron, passes over due sources every
    [schedule] due_check_seconds in between, the Wayback queue drained at its rate, and a digest
    to the team after a pass in which a cited source changed. Made for a systemd service or a
    container (see docs/deployment.md). SIGTERM or Ctrl-C stops it cleanly: captures in flight
    are finished and stored (for at most [schedule] stop_grace_seconds; a second signal stops at
    once), the rest is left due for the next start. Exits 0 after SIGTERM, 130 after Ctrl-C.
    Several workers (processes or machines) may share one database: each source is captured by
    one of them per pass.
    """
    from archiver.schedule import ScheduleError, run_scheduler

    for name in ("archiver.schedule", "archiver.notify", "archiver.capture"):
        if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    config, sessions = app.config, app.sessions
    try:
        code = run_scheduler(config, sessions, once=once, worker=worker)
    except ScheduleError as exc:
        fail(f"configuration error: {exc}")
    raise SystemExit(code)


def _print_deliveries(deliveries: list[notifications.Delivery], as_json: bool) -> None:
    if as_json:
        print_json([{"channel": d.channel, "ok": d.ok, "attempts": d.attempts, "error": d.error} for d in deliveries])
        return
    for d in deliveries:
        if d.ok:
            console.print(f"{d.channel}: sent", highlight=False)
        else:
            console.print(f"[bold red]{d.channel}: not sent[/] after {d.attempts} attempts: {d.error}", highlight=False)


@click.command()
@click.option("--test", "test", is_flag=True, help="Send a short test message to every configured channel.")
@click.option("--run", "run_id", type=int, help="Send the digest of this run (see `archiver runs`) again.")
@click.option("--print", "show", is_flag=True, help="With --run: print the digest instead of sending it.")
@click.option("--json", "as_json", is_flag=True, help="Print delivery results (or, with --print, the webhook payload) as JSON.")
@pass_app
def notify(app: App, test: bool, run_id: int | None, show: bool, as_json: bool) -> None:
    """Try the notification settings, or show or resend a run's digest.

    The digest goes out by itself after every pass in which a cited source turned altered,
    moved or deleted or a quote went missing; use this to try the settings with --test, or to
    look at (--print) or resend a digest with --run ID.
    """
    from archiver import notify as notifications
    from archiver.models import Run

    if test == (run_id is not None):
        fail("give either --test or --run ID", code=2)
    config = app.config.notify
    if show and run_id is None:
        fail("--print needs --run ID", code=2)
    if not show and not notifications.channels(config):
        fail("no notification channel is configured: set [notify] webhook_url, or smtp_host and mail_to, in config.toml")
    if test:
        deliveries = notifications.send_test(config)
    else:
        with app.sessions() as session:
            if session.get(Run, run_id) is None:
                fail(f"there is no run {run_id} (see `archiver runs`)")
            assert run_id is not None  # one of --test and --run is given
            digest = notifications.build_digest(session, run_id)
        if digest is None:
            if as_json:
                print_json(None if show else [])
            else:
                console.print(f"run {run_id}: no cited source changed, nothing to send", highlight=False)
            return
        if show:
            if as_json:
                print_json(digest.as_json())
            else:
                click.echo(digest.text())
            return
        deliveries = notifications.send_digest(config, digest)
    _print_deliveries(deliveries, as_json)
    if not all(d.ok for d in deliveries):
        raise SystemExit(1)


commands = [schedule, notify]
