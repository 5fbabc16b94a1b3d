"""What a plugin adds to the web interface, so that the archiver never imports it.

A plugin implements the `web_extension` hook (archiver.hookspecs), which returns a
WebExtension. The archiver calls it when the web interface starts (archiver.plugins.web_extensions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Panel:
    """A piece of a page a plugin fills in: a template of its own, and the values it shows."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class WebExtension:
    """Routes, templates and page pieces a plugin adds.

    - routes: Starlette routes, mounted at the application's root;
    - templates: the folder of its Jinja2 templates (they may extend "base.html");
    - nav: (label, path) links added to the menu;
    - add_links: (label, path) links shown on the page that adds sources (importing a CSV);
    - dashboard: (reader) -> Panel shown first on the dashboard, or None;
    - source_panel: (session, reader, source_id) -> Panel shown on a source's page, or None;
    - source_filters: {name: (label, where)}: a filter of the sources table, `where(value)`
      returning an SQL condition on `sources` (with ? placeholders) and its parameters.
    """

    routes: list = field(default_factory=list)
    templates: Path | None = None
    nav: list[tuple[str, str]] = field(default_factory=list)
    add_links: list[tuple[str, str]] = field(default_factory=list)
    dashboard: Callable[..., Panel | None] | None = None
    source_panel: Callable[..., Panel | None] | None = None
    source_filters: dict[str, tuple[str, Callable[[str], tuple[str, list]]]] = field(default_factory=dict)
