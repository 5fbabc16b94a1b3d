"""The CLI starts fast: commands are imported by name when used, plugins are found without
importing their commands, and opening an up-to-date database does not import Alembic."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from archiver import plugins
from archiver.cli import COMMANDS, main
from archiver.db import open_database

REPO = Path(__file__).resolve().parent.parent

# Imported by the capture pipeline, the scheduler, the Wayback client, schema upgrades: never
# needed to read the archive.
HEAVY = ("alembic", "archiver.capture", "archiver.schedule", "archiver.wayback", "archiver.wayback_queue",
         "archiver.notify", "trafilatura", "lxml", "httpx", "apscheduler", "waybackpy", "jieba")

PROBE = """
import json, sys
from archiver.cli import main
try:
    main(sys.argv[2:], prog_name="archiver")
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""


def imported_by(tmp_path, *args: str) -> tuple[int, set[str]]:
    """Run `archiver ARGS` in a fresh interpreter; its exit code and every module it imported."""
    out = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=REPO, check=True, capture_output=True)
    data = json.loads(out.read_text())
    return data["code"], set(data["modules"])


def heavy(modules: set[str], names=HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_lazy_registry_matches_the_command_modules():
    """COMMANDS names every command of the archiver's own modules, each where it is defined."""
    modules = {spec.partition(":")[0] for spec in COMMANDS.values()}
    defined = set()
    for module_name in modules:
        for command in importlib.import_module(module_name).commands:
            defined.add(command.name)
            assert COMMANDS.get(command.name, "").startswith(module_name + ":"), command.name
    assert set(defined) == set(COMMANDS)
    for name, spec in COMMANDS.items():
        assert plugins.resolve(spec).name == name


def test_evidence_plugin_declares_its_commands_lazily():
    import evidence.plugin

    eager = {command.name: command for command in evidence.plugin.commands}
    assert set(evidence.plugin.lazy_commands) == set(eager)
    for name, spec in evidence.plugin.lazy_commands.items():
        assert plugins.resolve(spec) is eager[name]
    assert plugins.find_command("report") == "evidence.cli:report_command"
    assert plugins.find_command("no-such-command") is None
    assert {"claim", "cite", "report", "demo"} <= set(plugins.command_table())
    assert {c.name for c in plugins.commands()} >= {"claim", "cite", "report", "demo"}


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_version_imports_no_command(tmp_path):
    code, modules = imported_by(tmp_path, "--version")
    assert code == 0
    assert heavy(modules, HEAVY + ("sqlalchemy", "rich", "evidence", "archiver.cli.sources", "archiver.db")) == []


# What the read commands do without: they read through archiver.readdb with the driver alone,
# and print with click.
ORM = ("sqlalchemy", "archiver.db", "archiver.models", "archiver.store", "evidence.models", "evidence.claims",
       "evidence.checks", "rich")


def test_status_and_report_import_only_what_reading_needs(tmp_path, cli):
    open_database(cli.db_url)  # the schema is at its newest revision
    assert cli("claim", "add", "Cameras were sold", "--id", "cameras").exit_code == 0
    for args in (("status",), ("status", "--limit", "50"), ("status", "--json", "--limit", "50"),
                 ("status", "--state", "altered")):
        code, modules = imported_by(tmp_path, "--config", str(cli.config), *args)
        assert code == 0
        assert heavy(modules, HEAVY + ORM + ("evidence", "psycopg")) == [], args
    for args in (("report", "cameras"), ("report", "cameras", "--format", "json")):
        code, modules = imported_by(tmp_path, "--config", str(cli.config), *args)
        assert code == 0
        assert heavy(modules, HEAVY + ORM + ("psycopg",)) == [], args
        assert "evidence.cli" in modules and "evidence.csvio" not in modules


def test_status_and_report_on_a_database_that_needs_work(tmp_path, cli):
    """A missing database is not created by `status` (run in the wrong folder, it says so and
    exits 1); a database at an older revision is upgraded first (through SQLAlchemy and
    Alembic), then read."""
    db_file = Path(cli.db_url.removeprefix("sqlite:///"))
    code, modules = imported_by(tmp_path, "--config", str(cli.config), "status")
    assert code == 1 and not db_file.exists()
    assert cli("add", "http://example.com/a").exit_code == 0
    assert db_file.is_file()
    from alembic import command

    from archiver.db import alembic_config, make_engine

    engine = make_engine(cli.db_url)
    command.downgrade(alembic_config(engine), "archiver@-1")
    engine.dispose()
    code, modules = imported_by(tmp_path, "--config", str(cli.config), "report", "--all", "--format", "json")
    assert code == 0 and "alembic" in modules
    code, modules = imported_by(tmp_path, "--config", str(cli.config), "report", "--all", "--format", "json")
    assert code == 0 and "sqlalchemy" not in modules


def test_other_commands_still_work_beside_the_read_commands(tmp_path, cli):
    assert cli("add", "http://example.com/a").exit_code == 0
    assert cli("claim", "add", "Cameras were sold", "--id", "cameras").exit_code == 0
    assert cli("cite", "cameras", "http://example.com/a", "--quote", "cameras").exit_code == 0
    assert cli("claim", "list").exit_code == 0
    assert cli("show", "http://example.com/a").exit_code == 0
    assert cli("runs").exit_code == 0
    result = cli("report", "cameras", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.output)["citations"][0]["support"] == "unchecked"


def test_help_lists_plugin_commands_with_their_help(tmp_path):
    result = subprocess.run([sys.executable, "-m", "archiver", "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    assert "report " in result.stdout and "The citation report for CLAIM_ID" in result.stdout
    assert "status " in result.stdout and "One row per source" in result.stdout


def test_plugin_entry_points_are_found_as_importlib_metadata_finds_them(tmp_path, monkeypatch):
    from importlib.metadata import entry_points

    for group in (plugins.GROUP, "console_scripts"):
        assert [(e.name, e.value) for e in plugins._scan_entry_points(group)] == \
            [(e.name, e.value) for e in entry_points(group=group)]
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, value in ((first, "json"), (second, "csv")):
        info = folder / "Extra.Plugin-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "entry_points.txt").write_text(
            f"# comment\n[console_scripts]\nx = y:z\n\n[{plugins.GROUP}]\nextra = {value}\nnamed = json:dumps\n",
            encoding="utf-8")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    found = {e.name: e for e in plugins._scan_entry_points(plugins.GROUP)}
    assert found["extra"].value == "json"  # the first distribution of a name on sys.path wins
    assert [(e.name, e.value) for e in plugins._scan_entry_points(plugins.GROUP)] == \
        [(e.name, e.value) for e in entry_points(group=plugins.GROUP)]
    assert found["named"].load() is json.dumps and found["extra"].load() is json
