"""Shared fixtures: loopback web sites, a fake Wayback Machine, real database files (SQLite, or
PostgreSQL when configured) and sessions on them."""

from __future__ import annotations

import os
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from archiver.cli import main
from archiver.config import Config
from tests.fake_wayback import FakeWayback
from tests.siteserver import Site

PG_URL = os.environ.get("ARCHIVER_TEST_DATABASE_URL")


@pytest.fixture
def site():
    """A real HTTP server on 127.0.0.1 with a random port."""
    s = Site().start()
    yield s
    s.stop()


@pytest.fixture
def loopback_is_public(monkeypatch):
    """Let captures of the loopback test sites be submitted to a fake Wayback Machine: in
    archiver.submissions' eyes 127.0.0.0/8 and ::1 are public here, every other non-public
    address is still refused (the archiver itself never submits a private address)."""
    import ipaddress

    from archiver import submissions
    from archiver.fetch import classify_address

    def policy(address: str) -> str | None:
        return None if ipaddress.ip_address(address.split("%", 1)[0]).is_loopback else classify_address(address)

    monkeypatch.setattr(submissions, "address_policy", policy)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'archive.db'}"


def _fresh_pg_database(base_url: str):
    from sqlalchemy.engine import make_url

    from archiver.db import normalise_db_url

    url = make_url(normalise_db_url(base_url))
    name = f"archiver_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), admin, name


def _drop_pg_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, and the same test again on PostgreSQL when
    ARCHIVER_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    if not PG_URL:
        pytest.skip("ARCHIVER_TEST_DATABASE_URL not set")
    url, admin, name = _fresh_pg_database(PG_URL)
    yield url
    _drop_pg_database(admin, name)


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database (skipped when ARCHIVER_TEST_DATABASE_URL is not set)."""
    if not PG_URL:
        pytest.skip("ARCHIVER_TEST_DATABASE_URL not set")
    url, admin, name = _fresh_pg_database(PG_URL)
    yield url
    _drop_pg_database(admin, name)


@pytest.fixture
def config(sqlite_url):
    """Settings for tests: loopback allowed, no politeness delay, Wayback off."""
    cfg = Config()
    cfg.database.url = sqlite_url
    cfg.fetch.allow_private_addresses = True
    cfg.fetch.per_host_delay = 0.0
    cfg.fetch.timeout = 5.0
    cfg.fetch.total_timeout = 10.0
    cfg.wayback.enabled = False
    cfg.verdict.probe_not_found = True
    cfg.browser.screenshots = False  # no browser unless a test is about it (tests/test_rendering.py)
    cfg.fetch.render = "never"
    return cfg


@pytest.fixture
def sessions(config):
    """Sessions on the test's database (config.database.url), created at the newest migration."""
    from archiver.db import open_database

    return open_database(config.database.url)


@pytest.fixture
def fake():
    """A fake Wayback Machine on loopback speaking the real protocols (tests/fake_wayback.py)."""
    service = FakeWayback().start()
    yield service
    service.stop()


def make_cli(tmp_path, monkeypatch, db_url: str | None = None, *, sections: dict[str, str] | None = None):
    """`archiver --config <tmp config.toml> ...` on a fresh SQLite file (or on `db_url`); loopback
    allowed, Wayback off, no browser (plain captures, no screenshots), unless `sections` (name ->
    the section's lines) says otherwise."""
    db_url = db_url or f"sqlite:///{tmp_path / 'archive.db'}"
    chosen = {"fetch": "allow_private_addresses = true\nper_host_delay = 0.0\ntimeout = 3.0\ntotal_timeout = 5.0\n"
                       'render = "never"\n',
              "capture": "extract_workers = 1\n", "wayback": "enabled = false\n",
              "browser": "screenshots = false\n"} | (sections or {})
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n' + "".join(f"[{name}]\n{lines}" for name, lines in chosen.items()),
                      encoding="utf-8")
    for name in ("ARCHIVER_DATABASE_URL", "ARCHIVER_WAYBACK_ACCESS_KEY", "ARCHIVER_WAYBACK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args, **kwargs):
        return runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False, **kwargs)

    invoke.db_url = db_url
    invoke.config = config
    return invoke


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run `archiver --config <tmp config.toml> ...` through the entry point; `cli.db_url` is its database."""
    return make_cli(tmp_path, monkeypatch)


@pytest.fixture
def archive(site, config):
    """A real store: an English and a Chinese page captured, edited, captured again, cited by claim `cams`."""
    from tests.webserver import make_archive

    return make_archive(site, config)


@pytest.fixture
def served(archive):
    """The web interface on `archive`, served by uvicorn on 127.0.0.1."""
    from tests.webserver import Served

    server = Served(archive.config, archive.sessions).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium_browser():
    """The system Chromium, headless, driven by Playwright: one per test module, because
    Playwright's sync API keeps an event loop running in the main thread while it is open (and
    asyncio.run, which later modules call, refuses to run beside it)."""
    from tests.webserver import CHROMIUM, CHROMIUM_ARGS, chromium_or_skip

    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser, served):
    """A fresh browser tab (own cookies) on the served web interface; any request to anything but
    the web interface (the loopback test sites included) is aborted and recorded in `page.left`."""
    context = chromium_browser.new_context(base_url=served.url)
    tab = context.new_page()
    tab.left = []

    def guard(route):
        url = route.request.url
        if url.startswith((served.url + "/", "data:", "about:")):
            route.continue_()
        else:
            tab.left.append(url)
            route.abort()

    context.route("**/*", guard)
    yield tab
    context.close()
