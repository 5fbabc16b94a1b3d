"""The documentation cannot drift from the code: the pages generated with cog (the CLI
reference, the verdict rules) are what cog makes now, every command has its section in
docs/cli.md, and every setting is written, with its default, in the shipped config.toml."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
from cogapp import Cog

from archiver.cli import main
from archiver.config import Config

REPO = Path(__file__).resolve().parent.parent
# Pages made (in part) by cog from the code: the CLI reference, the verdict rules (archiver.verdict's notes).
GENERATED = ("docs/cli.md", "docs/verdicts.md")


def command_paths(group: click.Group = main, path: tuple[str, ...] = (), ctx: click.Context | None = None):
    """The name path of every command and subcommand, the plugins' included."""
    ctx = ctx or click.Context(main, info_name="archiver")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*path, name), click.Context(command, info_name=name, parent=ctx))


def config_sections(text: str) -> dict[str, set[str]]:
    """The keys written under each [section] of a config.toml."""
    found: dict[str, set[str]] = {}
    section = None
    for line in text.splitlines():
        header = re.match(r"\[(\w+)\]\s*$", line)
        key = re.match(r"(\w+)\s*=", line)
        if header:
            section = header.group(1)
            found.setdefault(section, set())
        elif key and section is not None:
            found[section].add(key.group(1))
    return found


def test_every_command_has_its_section_in_the_cli_reference():
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    paths = list(command_paths())
    assert ("run",) in paths and ("wayback", "drain") in paths and ("claim", "add") in paths
    missing = [" ".join(path) for path in paths if f"\n## archiver {' '.join(path)}\n" not in text]
    assert not missing, f"not in docs/cli.md (run `cog -r docs/cli.md`): {missing}"


@pytest.mark.parametrize("page", GENERATED)
def test_generated_pages_are_what_cog_makes_now(page):
    status = Cog().main(["cog", "--check", str(REPO / page)])
    assert status == 0, f"{page} is out of date: run `cog -r {page}`"


def test_every_setting_is_written_in_the_shipped_config():
    written = config_sections((REPO / "config.toml").read_text(encoding="utf-8"))
    config = Config()
    missing = [f"[{section.name}] {key.name}"
               for section in dataclasses.fields(config) if dataclasses.is_dataclass(getattr(config, section.name))
               for key in dataclasses.fields(getattr(config, section.name))
               if key.name not in written.get(section.name, set())]
    assert not missing, f"settings missing from config.toml: {missing}"
    assert "fetch" in written and "per_host_delay" in written["fetch"]


def test_a_missing_setting_is_found():
    assert config_sections("[fetch]\n# comment\ntimeout = 3\n\n[wayback]\nenabled = true\n") == {
        "fetch": {"timeout"}, "wayback": {"enabled"}}
