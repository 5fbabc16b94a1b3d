"""Extension points: packages that build on the archiver (such as `evidence`) plug in here.

A plugin is a module named in the `archiver.plugins` entry-point group. It may define:
- `commands`: click commands added to the `archiver` CLI;
- `after_capture(session, source, capture, text)`: called in the transaction that stores each
  capture (the evidence package checks every citation's quote there);
- `context(session, source_ids)`: extra data for status/report output (optional);
- `claims_for_sources(session, source_ids)`: what each source is cited for, as
  {source_id: [{"claim": id, "claim_text": ..., "datapoint": id, "quote": ..., ...}]}; the
  notification digest names these claims;
- `findings(session, run_id)`: what else a pass revealed, as a list of dicts with at least
  "kind" and "source_id" (the evidence package reports quotes that went missing).
This keeps the dependency one way: the archiver calls plugins, it never imports them.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points
from types import ModuleType

log = logging.getLogger(__name__)


@functools.cache
def load_plugins() -> tuple[ModuleType, ...]:
    """Every installed plugin module, loaded once."""
    modules = []
    for entry in entry_points(group="archiver.plugins"):
        try:
            modules.append(entry.load())
        except Exception as exc:  # a broken plugin must not take the archiver down
            log.error("plugin %s failed to load: %s", entry.name, exc)
    return tuple(modules)


def after_capture(session, source, capture, text: str) -> None:
    """Run every plugin's after_capture hook for a freshly stored capture."""
    for plugin in load_plugins():
        hook = getattr(plugin, "after_capture", None)
        if hook is not None:
            hook(session, source, capture, text)


def commands() -> list:
    """Every plugin's CLI commands."""
    return [command for plugin in load_plugins() for command in getattr(plugin, "commands", [])]


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
