"""The hooks a plugin may implement: every event the archiver tells its plugins about, in one place.

A plugin is a module named in the `archiver.plugins` entry-point group (the evidence package
is one: evidence.plugin). It implements any of the hooks below as functions of the same name
marked `@hookimpl`; archiver.plugins registers it with pluggy, which checks each function's
name and arguments against these specifications when the plugin is loaded. The archiver calls
every hook declared here (tests/test_plugins.py checks that each one is reached), and never
imports a plugin: the dependency runs one way.

A plugin's CLI commands are not a hook but plain data, read before anything else is imported
(so that `archiver report` starts fast): a dict `lazy_commands` = {name: "module:attribute"}
on the plugin module (the module is imported when the command runs), or a list `commands` of
click commands. See archiver.plugins.

To add a hook: declare it here with its typed signature and docstring, call it through
`archiver.plugins.hook()` where the event happens, and test that it is reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archiver.models import Capture, Source
    from archiver.web.extension import WebExtension

PROJECT = "archiver"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def after_captures(session: Session, stored: Sequence[tuple[Source, Capture, str]]) -> None:
    """Captures were just stored, as (source, capture, extracted text) triples, in `session`'s
    transaction: a capture pass calls this once per batch it writes, a WARC import and a Wayback
    recovery once per capture. The evidence package checks every citation's quote here."""


@hookspec
def before_purge(session: Session, capture_ids: Sequence[int]) -> None:
    """Captures are about to be removed on purpose (archiver.custody), in the purge's transaction:
    remove the plugin's rows that refer to them."""


@hookspec
def claims_for_sources(session: Session, source_ids: Sequence[int]) -> dict[int, list[dict]]:
    """What each source is cited for, as {source_id: [{"claim": id, "claim_text": ...,
    "datapoint": id, "quote": ..., ...}]}; the notification digest names these claims."""
    raise NotImplementedError


@hookspec
def findings(session: Session, run_id: int) -> list[dict]:
    """What else a pass revealed, as dicts with at least "kind" and "source_id" (the evidence
    package reports the quotes that went missing); the notification digest lists them."""
    raise NotImplementedError


@hookspec
def accessed_dates(session: Session, source_id: int) -> list[str]:
    """The dates researchers accessed a source, as they wrote them ("2019-05-03", "2019年5月3日"):
    a Wayback recovery fetches the archived copy closest to each (archiver.recover)."""
    raise NotImplementedError


@hookspec
def web_extension() -> WebExtension:
    """What the plugin adds to the web interface (`archiver serve`): its routes, templates,
    dashboard panel and source filters; called once when the web application is built."""
    raise NotImplementedError


@hookspec
def register_models() -> None:
    """Import the plugin's ORM models so that their tables join archiver.models.Base.metadata:
    Alembic's autogenerate (migrations/env.py) and the schema tests compare the whole schema."""
