"""The plugin boundary: every hook declared in archiver.hookspecs is documented, called by the
archiver and reached by a real capture, purge and digest; plugins are checked against the specs."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from archiver import hookspecs, plugins
from archiver.capture import run_pass
from archiver.custody import purge_source
from archiver.db import open_database
from archiver.hookspecs import hookimpl
from archiver.models import Capture, Source
from archiver.sources import add_source

REPO = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec"))


def calls_of(path: Path) -> set[str]:
    """The names called as attributes in a Python file: x.name(...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}


def test_the_hook_set_is_the_one_documented():
    assert HOOKS == ["accessed_dates", "after_captures", "before_purge", "claims_for_sources", "findings",
                     "register_models", "web_extension"]
    documented = plugins.__doc__
    for name in HOOKS:
        assert f"`{name}`" in documented, name
        assert getattr(hookspecs, name).__doc__, name


def wrappers() -> dict[str, str]:
    """{hook: the archiver.plugins function that calls it}."""
    tree = ast.parse((REPO / "archiver" / "plugins.py").read_text(encoding="utf-8"))
    found = {}
    for function in tree.body:
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if (isinstance(node, ast.Attribute) and node.attr in HOOKS and isinstance(node.value, ast.Attribute)
                        and node.value.attr == "hook"):
                    found[node.attr] = function.name
    return found


def test_every_hook_is_called_somewhere_outside_the_plugin_module():
    """A function of archiver.plugins calls each hook; each is called where its event happens."""
    callers = [p for p in [*(REPO / "archiver").rglob("*.py"), REPO / "migrations" / "env.py"]
               if p.name not in ("plugins.py", "hookspecs.py")]
    called = set().union(*(calls_of(p) for p in callers))
    assert set(wrappers()) == set(HOOKS)
    assert set(wrappers().values()) <= called, set(wrappers().values()) - called


def test_the_evidence_plugin_implements_every_hook():
    evidence = plugins.manager().get_plugin("evidence")
    assert evidence is not None
    implemented = {impl.function.__name__ for name in HOOKS
                   for impl in getattr(plugins.manager().hook, name).get_hookimpls() if impl.plugin is evidence}
    assert implemented == set(HOOKS)


def test_register_models_puts_the_plugin_tables_on_the_metadata():
    probe = ("from archiver.models import Base; from archiver import plugins; "
             "before = set(Base.metadata.tables); plugins.register_models(); "
             "print(sorted(set(Base.metadata.tables) - before))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['citations', 'claims', 'datapoints', 'quote_checks']"


@pytest.fixture
def fresh_manager(monkeypatch):
    """plugins.manager() built again for the test, and again after it."""
    plugins.manager.cache_clear()
    yield
    plugins.manager.cache_clear()


def test_a_plugin_whose_hooks_do_not_match_the_specs_is_left_out(tmp_path, monkeypatch, fresh_manager, caplog):
    (tmp_path / "wrong_plugin.py").write_text(
        "from archiver.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef after_captures(session, batch):\n    raise AssertionError('never called')\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    entries = (*plugins._entry_points(), plugins.Entry("wrong", "wrong_plugin"))
    monkeypatch.setattr(plugins, "_entry_points", lambda: entries)
    with caplog.at_level(logging.ERROR, logger="archiver.plugins"):
        manager = plugins.manager()
    assert manager.get_plugin("wrong") is None and manager.get_plugin("evidence") is not None
    assert "plugin wrong is not usable" in caplog.text and "batch" in caplog.text


class Recorder:
    """A plugin that notes what each hook was told."""

    def __init__(self) -> None:
        self.seen: dict[str, list] = {}

    @hookimpl
    def after_captures(self, session, stored):
        self.seen.setdefault("after_captures", []).append([(s.url, c.id, t) for s, c, t in stored])

    @hookimpl
    def before_purge(self, session, capture_ids):
        self.seen.setdefault("before_purge", []).append(list(capture_ids))

    @hookimpl
    def accessed_dates(self, session, source_id):
        return ["2019年5月3日"]


@pytest.fixture
def recorder():
    recorder = Recorder()
    plugins.manager().register(recorder, name="recorder")
    yield recorder
    plugins.manager().unregister(name="recorder")


def test_a_pass_and_a_purge_reach_the_hooks(site, config, recorder):
    sessions = open_database(config.database.url)
    url = site.set("/news.html", "<html><head><title>新闻</title></head><body><article><p>"
                   + "市政府今天宣布新的公园计划。" * 20 + "</p></article></body></html>")
    with sessions.begin() as session:
        add_source(session, url)
    run_pass(config, sessions, everything=True)
    [[(seen_url, capture_id, text)]] = recorder.seen["after_captures"]
    assert seen_url == url and "公园计划" in text
    with sessions.begin() as session:
        source_id = session.scalar(select(Source.id).where(Source.url == url))
        assert session.get(Capture, capture_id).source_id == source_id
        from archiver.recover import citation_dates

        assert [str(d) for d in citation_dates(session, source_id)] == ["2019-05-03"]
    with sessions.begin() as session:
        purge_source(session, source_id, "asked to remove it")
    assert recorder.seen["before_purge"] == [[capture_id]]
    sessions.kw["bind"].dispose()
