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


def test_status_and_report_import_only_what_reading_needs(tmp_path, cli):
    open_database(cli.db_url)  # the schema is at its newest revision
    assert cli("claim", "add", "Cameras were sold", "--id", "cameras").exit_code == 0
    code, modules = imported_by(tmp_path, "--config", str(cli.config), "status", "--limit", "50")
    assert code == 0
    assert heavy(modules, HEAVY + ("evidence",)) == []
    code, modules = imported_by(tmp_path, "--config", str(cli.config), "report", "cameras", "--format", "json")
    assert code == 0
    assert heavy(modules) == []
    assert "evidence.cli" in modules and "evidence.csvio" not in modules


def test_help_lists_plugin_commands_with_their_help(tmp_path):
    result = subprocess.run([sys.executable, "-m", "archiver", "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    assert "report " in result.stdout and "The citation report for CLAIM_ID" in result.stdout
    assert "status " in result.stdout and "One row per source" in result.stdout
