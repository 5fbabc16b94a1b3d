"""Extension points: packages that build on the archiver (such as `evidence`) plug in here.

A plugin is a module named in the `archiver.plugins` entry-point group. Its hooks, the events
the archiver tells it about, are declared with their signatures in archiver.hookspecs and
called through pluggy (`after_captures`, `before_purge`, `claims_for_sources`, `findings`,
`accessed_dates`, `register_models`, `web_extension`). Its CLI commands are plain data on the module:
- `lazy_commands`: {name: "module:attribute"} for each click command; the module is imported
  only when that command runs (or `archiver --help` lists it), so a plugin module that keeps
  its own imports light costs the CLI's start-up nothing;
- or `commands`: a list of click commands.
This keeps the dependency one way: the archiver calls plugins, it never imports them.

The CLI finds a plugin command by loading the plugins one at a time, in entry-point order,
until one provides it; a command built into the archiver never loads a plugin, nor pluggy.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import cast

log = logging.getLogger(__name__)

GROUP = "archiver.plugins"
_FAILED = object()
_modules: dict[tuple[str, str], object] = {}


@dataclass(frozen=True)
class Entry:
    """An entry point of the `archiver.plugins` group: a name and the module it names."""

    name: str
    value: str

    def load(self):
        """The object the entry point names ("module" or "module:attribute")."""
        module_name, _, attribute = self.value.partition(":")
        target = importlib.import_module(module_name.strip())
        for part in filter(None, attribute.strip().split(".")):
            target = getattr(target, part)
        return target


def _group_entries(text: str, group: str) -> list[Entry]:
    """The `name = value` lines of one [group] section of an entry_points.txt."""
    found, section = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            found.append(Entry(name.strip(), value.strip()))
    return found


def _scan_entry_points(group: str) -> tuple[Entry, ...] | None:
    """The entry points of `group` found as importlib.metadata.entry_points finds them: each
    distribution's entry_points.txt in the *.dist-info and *.egg-info folders on sys.path, the
    first distribution of a name winning. None when sys.path holds what this does not read (a
    zip file), so the caller asks importlib.metadata."""
    found: list[Entry] = []
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or "."
        if os.path.isfile(folder):
            return None
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = re.sub(r"[-_.]+", "_", name.rpartition(".")[0].partition("-")[0]).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as handle:
                    found.extend(_group_entries(handle.read(), group))
            except OSError:
                continue
    return tuple(found)


@functools.cache
def _entry_points() -> tuple:
    """The `archiver.plugins` entry points, looked up once.

    Read from the installed distributions' entry_points.txt files rather than through
    importlib.metadata, whose import alone (~50 ms: it loads the email package) was a third of
    `archiver report`; the same entry points either way (tests/test_cli_startup.py checks it)."""
    scanned = _scan_entry_points(GROUP)
    if scanned is not None:
        return scanned
    from importlib.metadata import entry_points

    return tuple(entry_points(group=GROUP))


def _load(entry) -> ModuleType | None:
    """The plugin module of one entry point, loaded once; None when it fails to load."""
    key = (entry.name, entry.value)
    module = _modules.get(key)
    if module is None:
        try:
            module = entry.load()
        except Exception as exc:  # a broken plugin must not take the archiver down
            log.error("plugin %s failed to load: %s", entry.name, exc)
            module = _FAILED
        _modules[key] = module
    return None if module is _FAILED else cast(ModuleType, module)


@functools.cache
def load_plugins() -> tuple[ModuleType, ...]:
    """Every installed plugin module, loaded once."""
    return tuple(module for module in map(_load, _entry_points()) if module is not None)


def _plugin_commands(plugin: ModuleType) -> dict:
    """{name: click command or "module:attribute"} for one plugin."""
    lazy = getattr(plugin, "lazy_commands", None)
    if lazy is not None:
        return dict(lazy)
    return {command.name: command for command in getattr(plugin, "commands", [])}


def command_table() -> dict:
    """{name: click command or "module:attribute"} over every plugin (the first plugin to name a
    command keeps it). Loads every plugin module."""
    table: dict = {}
    for plugin in load_plugins():
        for name, command in _plugin_commands(plugin).items():
            table.setdefault(name, command)
    return table


def find_command(name: str):
    """The plugin command called `name` (a click command or "module:attribute"), or None.

    Loads the plugin modules one at a time, and stops at the first that provides it."""
    for entry in _entry_points():
        plugin = _load(entry)
        if plugin is not None:
            command = _plugin_commands(plugin).get(name)
            if command is not None:
                return command
    return None


def resolve(command):
    """A click command from what `command_table` or `find_command` returned."""
    if isinstance(command, str):
        module_name, _, attribute = command.partition(":")
        return getattr(importlib.import_module(module_name), attribute)
    return command


def commands() -> list:
    """Every plugin's CLI commands (importing them all)."""
    return [resolve(command) for command in command_table().values()]


@functools.cache
def manager():
    """The pluggy plugin manager holding the hook specifications and every installed plugin,
    built once. A plugin whose hooks do not match their specification is left out, logged."""
    import pluggy

    from archiver import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for entry in _entry_points():
        module = _load(entry)
        if module is None:
            continue
        try:
            pm.register(module, name=entry.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            log.error("plugin %s is not usable: %s", entry.name, exc)
    return pm


def after_captures(session, stored: list[tuple]) -> None:
    """Tell every plugin about freshly stored captures, (source, capture, text) each."""
    if stored:
        manager().hook.after_captures(session=session, stored=stored)


def claims_for_sources(session, source_ids: list[int]) -> dict[int, list[dict]] | None:
    """What each source is cited for, merged over plugins; None when no plugin knows about citations."""
    answers = manager().hook.claims_for_sources(session=session, source_ids=source_ids)
    if not manager().hook.claims_for_sources.get_hookimpls():
        return None
    merged: dict[int, list[dict]] = {}
    for answer in answers:
        for source_id, claims in (answer or {}).items():
            merged.setdefault(source_id, []).extend(claims)
    return merged


def findings(session, run_id: int) -> list[dict]:
    """Every plugin's findings about one run (for example quotes that went missing)."""
    return [found for answer in manager().hook.findings(session=session, run_id=run_id) for found in answer or []]


def accessed_dates(session, source_id: int) -> list[str]:
    """The dates researchers accessed one source, as written, over every plugin."""
    return [d for answer in manager().hook.accessed_dates(session=session, source_id=source_id) for d in answer or []]


def before_purge(session, capture_ids: list[int]) -> None:
    """Let every plugin remove its rows that refer to captures about to be purged."""
    manager().hook.before_purge(session=session, capture_ids=capture_ids)


def register_models() -> None:
    """Let every plugin put its ORM tables on archiver.models.Base.metadata."""
    manager().hook.register_models()


def web_extensions() -> list:
    """Every plugin's web extension (an archiver.web.extension.WebExtension): the routes,
    templates, dashboard panel and source filters it adds to `archiver serve`. A plugin whose
    extension fails to load is left out, logged: it must not take the web interface down."""
    found = []
    for impl in manager().hook.web_extension.get_hookimpls():
        try:
            found.append(impl.function())
        except Exception as exc:
            log.error("web extension of plugin %s failed to load: %s", impl.plugin_name, exc)
    return found
