"""The `archiver` command line: parses, calls library functions, prints.

Tables for people (rich), `--json` for scripts. Exit codes: 0 success, 1 the command could
not do its work (bad config, unreachable database, unknown source), 2 bad usage or input.

Every command starts fast: the group knows its commands by name and imports a command's
module only when that command runs (or when `archiver --help` lists them all), so `archiver
status` never imports the capture pipeline, the scheduler or Alembic. Plugin commands
(the `archiver.plugins` entry points, see archiver.plugins) are looked up the same way, and
only for a name that is not one of the archiver's own commands.
"""

from __future__ import annotations

import click

from archiver import __version__, plugins

# name -> "module:attribute" of every command of the archiver itself; each module also lists
# them in its `commands` (tests/test_cli_startup.py checks that the two agree).
COMMANDS = {
    "add": "archiver.cli.sources:add",
    "run": "archiver.cli.sources:run",
    "status": "archiver.cli.sources:status",
    "show": "archiver.cli.sources:show",
    "runs": "archiver.cli.sources:runs",
    "diff": "archiver.cli.sources:diff",
    "search": "archiver.cli.search:search",
    "open": "archiver.cli.sources:open_command",
    "untrack": "archiver.cli.sources:untrack",
    "retrack": "archiver.cli.sources:retrack",
    "wayback": "archiver.cli.wayback:wayback",
    "verify": "archiver.cli.integrity:verify",
    "import-warc": "archiver.cli.integrity:import_warc_command",
    "timestamp": "archiver.cli.integrity:timestamp",
    "schedule": "archiver.cli.schedule:schedule",
    "notify": "archiver.cli.schedule:notify",
    "serve": "archiver.cli.web:serve",
    "screenshot": "archiver.cli.screenshots:screenshot",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported when they are used (click's LazyGroup pattern).

    `lazy_commands` maps names to "module:attribute"; the installed plugins' commands come
    after them (a plugin cannot replace one of the archiver's own commands).
    """

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands, *plugins.command_table()})

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """After the commands: the database the commands would use, so nobody works on the wrong one."""
        super().format_epilog(ctx, formatter)
        from archiver.cli.app import App

        try:
            app = App(ctx.meta.get("archiver.config_path"))
            from archiver.config import load_config

            app.__dict__["config"] = load_config(app.config_path)
            where = app.database + (" (not created yet)" if app.missing_file() else "")
        except Exception as exc:  # a broken setting must not hide the help
            where = f"cannot be told: {exc}"
        from archiver.redact import scrub

        with formatter.section("Database"):
            formatter.write_text(scrub(where))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        if cmd_name in self.lazy_commands:
            command = plugins.resolve(self.lazy_commands[cmd_name])
        else:
            found = plugins.find_command(cmd_name)
            if found is None:
                return None
            try:
                command = plugins.resolve(found)
            except Exception as exc:  # a broken plugin must not take the archiver down
                plugins.log.error("plugin command %s failed to load: %s", cmd_name, exc)
                return None
        self.commands[cmd_name] = command
        return command

    def invoke(self, ctx: click.Context):
        """Run the command; Ctrl-C outside a capture pass (which handles it itself) ends the
        command quietly with exit status 130, as shells expect, instead of a traceback. A
        database that cannot be written (full disk, read-only file) is a one-line error, exit 1."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None
        except Exception as exc:
            from archiver.db import storage_problem

            problem = storage_problem(exc)
            if problem is None:
                raise
            from archiver.cli.app import fail

            fail(problem)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="ARCHIVER_CONFIG", is_eager=True,
              callback=lambda ctx, _param, value: ctx.meta.__setitem__("archiver.config_path", value) or value,
              help="Settings file (default: ./config.toml if present, else built-in defaults).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
@click.version_option(__version__, prog_name="archiver")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Archive the web pages your research cites, learn when they change or vanish,
    and prove what they said.

    Add sources with `archiver add URL` or `archiver import FILE.csv`, capture them with
    `archiver run`, and see their state with `archiver status`.
    The database is set by [database] url in config.toml or ARCHIVER_DATABASE_URL; the one
    in use is named below and by `archiver status`, and a new one is announced when created.
    """
    import logging

    from archiver.cli.app import App
    from archiver.redact import install_log_filter

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_filter()
    ctx.obj = App(config_path)
