"""Extension points: packages that build on the archiver (such as `evidence`) plug in here.

A plugin is a module named in the `archiver.plugins` entry-point group. It may define:
- `commands`: click commands added to the `archiver` CLI;
- `lazy_commands`: instead of `commands`, {name: "module:attribute"} for each click command; the
  module is imported only when that command runs (or `archiver --help` lists it), so a plugin
  module that keeps its own imports light costs the CLI's start-up nothing;
- `after_capture(session, source, capture, text)`: called in the transaction that stores each
  capture (the evidence package checks every citation's quote there);
- `after_captures(session, stored)`: the same for a batch, `stored` being (source, capture,
  text) triples; a capture pass calls it once per batch it writes, so a plugin can look up the
  whole batch in one query. A plugin without it gets `after_capture` once per capture;
- `context(session, source_ids)`: extra data for status/report output (optional);
- `claims_for_sources(session, source_ids)`: what each source is cited for, as
  {source_id: [{"claim": id, "claim_text": ..., "datapoint": id, "quote": ..., ...}]}; the
  notification digest names these claims;
- `findings(session, run_id)`: what else a pass revealed, as a list of dicts with at least
  "kind" and "source_id" (the evidence package reports quotes that went missing);
- `before_purge(session, capture_ids)`: captures are about to be removed on purpose
  (archiver.custody): remove the plugin's rows that refer to them;
- `web_extension`: "module:attribute" of a function returning an archiver.web.extension.WebExtension:
  the routes, templates, dashboard panel and source filters it adds to `archiver serve`.
This keeps the dependency one way: the archiver calls plugins, it never imports them.

The CLI finds a plugin command by loading the plugins one at a time, in entry-point order,
until one provides it; a command built into the archiver never loads a plugin.
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


def after_capture(session, source, capture, text: str) -> None:
    """Run every plugin's after_capture hook for a freshly stored capture."""
    after_captures(session, [(source, capture, text)])


def after_captures(session, stored: list[tuple]) -> None:
    """Run every plugin's hook for a batch of freshly stored captures, (source, capture, text)
    each: its `after_captures` with the whole batch, or else its `after_capture` for each."""
    if not stored:
        return
    for plugin in load_plugins():
        batch_hook = getattr(plugin, "after_captures", None)
        if batch_hook is not None:
            batch_hook(session, stored)
            continue
        hook = getattr(plugin, "after_capture", None)
        if hook is not None:
            for source, capture, text in stored:
                hook(session, source, capture, text)


def commands() -> list:
    """Every plugin's CLI commands (importing them all)."""
    return [resolve(command) for command in command_table().values()]


def claims_for_sources(session, source_ids: list[int]) -> dict[int, list[dict]] | None:
    """What each source is cited for, merged over plugins; None when no plugin knows about citations."""
    merged: dict[int, list[dict]] | None = None
    for plugin in load_plugins():
        hook = getattr(plugin, "claims_for_sources", None)
        if hook is None:
            continue
        merged = merged if merged is not None else {}
        for source_id, claims in (hook(session, source_ids) or {}).items():
            merged.setdefault(source_id, []).extend(claims)
    return merged


def findings(session, run_id: int) -> list[dict]:
    """Every plugin's findings about one run (for example quotes that went missing)."""
    found: list[dict] = []
    for plugin in load_plugins():
        hook = getattr(plugin, "findings", None)
        if hook is not None:
            found.extend(hook(session, run_id) or [])
    return found


def before_purge(session, capture_ids: list[int]) -> None:
    """Let every plugin remove its rows that refer to captures about to be purged."""
    for plugin in load_plugins():
        hook = getattr(plugin, "before_purge", None)
        if hook is not None:
            hook(session, capture_ids)


def web_extensions() -> list:
    """Every plugin's web extension (an archiver.web.extension.WebExtension): a plugin module's
    `web_extension` names the function that makes it ("module:attribute"), imported only here."""
    found = []
    for plugin in load_plugins():
        spec = getattr(plugin, "web_extension", None)
        if spec is None:
            continue
        try:
            found.append(resolve(spec)())
        except Exception as exc:  # a broken plugin must not take the web interface down
            log.error("web extension of plugin %s failed to load: %s", plugin.__name__, exc)
    return found
