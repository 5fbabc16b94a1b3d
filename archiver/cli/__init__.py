"""The `archiver` command line: parses, calls library functions, prints.

Tables for people (rich), `--json` for scripts. Exit codes: 0 success, 1 the command could
not do its work (bad config, unreachable database, unknown source), 2 bad usage or input.
"""

from __future__ import annotations

import logging

import click

from archiver import __version__, plugins
from archiver.cli.app import App

@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="ARCHIVER_CONFIG",
              help="Settings file (default: ./config.toml if present, else built-in defaults).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
@click.version_option(__version__, prog_name="archiver")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Archive the web pages your research cites, learn when they change or vanish,
    and prove what they said.

    Add sources with `archiver add URL` or `archiver import FILE.csv`, capture them with
    `archiver run`, and see their state with `archiver status`.
    The database is set by [database] url in config.toml or ARCHIVER_DATABASE_URL.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = App(config_path)


from archiver.cli import integrity, schedule, sources, wayback  # noqa: E402

for _module in (sources, wayback, integrity, schedule):
    for _command in _module.commands:
        main.add_command(_command)
for _command in plugins.commands():
    main.add_command(_command)
