"""`archiver wayback ...` through the real command line, against the fake Wayback Machine."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from archiver.db import open_database
from archiver.models import Capture, Source, WaybackJob
from tests.conftest import make_cli

# Their pages are served on loopback: in these tests, those count as public for the Wayback Machine.
pytestmark = pytest.mark.usefixtures("loopback_is_public")

PAGE = ("<html><head><title>Notice</title></head><body><article><p>The bureau published notice {n} "
        "on the procurement of cameras for the city police.</p></article></body></html>")


@pytest.fixture
def cli(tmp_path, fake, monkeypatch):
    """Run `archiver --config <config pointing at the fake> ...`; returns the result."""
    return make_cli(tmp_path, monkeypatch, sections={"verdict": "probe_not_found = false\n", "wayback": fake.config_toml()})


def test_run_then_drain_then_status(cli, site, fake):
    urls = [site.set(f"/n/{i}.html", PAGE.format(n=i)) for i in range(3)]
    for url in urls:
        assert cli("add", url).exit_code == 0
    assert cli("run").exit_code == 0

    status = json.loads(cli("wayback", "status", "--json").output)
    assert status["counts"] == {"pending": 3, "running": 0, "done": 0, "failed": 0}

    fake.fail("save", 500)
    drained = cli("wayback", "drain", "--json")
    assert drained.exit_code == 0
    summary = json.loads(drained.output)
    assert (summary["claimed"], summary["done"], summary["deferred"]) == (4, 3, 1)
    done = [e for e in summary["events"] if e["result"] == "done"]
    assert {e["url"] for e in done} == set(urls)
    assert all(e["wayback_url"].startswith(f"{fake.base_url}/web/") for e in done)

    status = json.loads(cli("wayback", "status", "--json").output)
    assert status["counts"]["done"] == 3 and status["failures"] == []
    overall = cli("status")
    assert "Wayback submissions: 3 done" in overall.output
    readable = cli("wayback", "status")
    assert "0 pending, 0 running, 3 done, 0 failed" in readable.output

    shown = json.loads(cli("show", urls[0], "--json").output)
    assert shown["captures"][0]["wayback_url"].startswith(f"{fake.base_url}/web/")


def test_drain_shows_failures_and_retry_queues_them_again(cli, site, fake):
    url = site.set("/f.html", PAGE.format(n=1))
    cli("add", url)
    cli("run")
    with open_database(cli.db_url).begin() as session:
        session.execute(WaybackJob.__table__.update().values(attempts=7))
    fake.fail("save", 503)
    drained = cli("wayback", "drain")
    assert "failed" in drained.output and "HTTP 503" in drained.output
    status = json.loads(cli("wayback", "status", "--json").output)
    assert status["counts"]["failed"] == 1
    assert status["failures"][0]["error"] == "gave up after 8 attempts: Save Page Now is failing (HTTP 503)"
    assert "gave up after 8 attempts" in cli("wayback", "status").output

    assert "1 failed submission queued again" in cli("wayback", "retry", url).output
    cli("wayback", "drain")
    assert json.loads(cli("wayback", "status", "--json").output)["counts"]["done"] == 1


def test_lookup_lists_copies(cli, fake):
    url = "http://www.example.gov.cn/art/1.html"
    fake.add_snapshot(url, "<p>one</p>", "20190101000000")
    fake.add_snapshot(url, "<p>two</p>", "20200101000000", status=301)
    result = cli("wayback", "lookup", url, "--json")
    assert result.exit_code == 0
    copies = json.loads(result.output)
    assert [(c["timestamp"], c["status"]) for c in copies] == [("20190101000000", 200), ("20200101000000", 301)]
    assert copies[0]["replay_url"] == f"{fake.base_url}/web/20190101000000/{url}"
    assert copies[0]["archived_at"] == "2019-01-01T00:00:00+00:00"
    assert set(copies[0]) == {"timestamp", "archived_at", "original", "status", "mimetype", "digest", "length",
                              "replay_url", "raw_url"}
    table = cli("wayback", "lookup", url, "--from", "2020")
    assert "2020-01-01 00:00:00" in table.output and "2019-01-01" not in table.output
    assert "holds no copy" in cli("wayback", "lookup", "http://nothing.example/").output
    assert cli("wayback", "lookup", url, "--from", "May").exit_code == 2
    fake.fail("cdx", 503)
    failed = cli("wayback", "lookup", url)
    assert failed.exit_code == 1 and "HTTP 503" in failed.output


def test_recover_a_deleted_page(cli, site, fake):
    url = site.set("/gone.html", PAGE.format(n=5))
    cli("add", url)
    cli("run")
    cli("wayback", "drain")
    site.set("/gone.html", "<h1>Not Found</h1>", status=404)
    cli("run", "--all")
    result = cli("wayback", "recover", "--all-deleted", "--json")
    assert result.exit_code == 0, result.output
    [item] = json.loads(result.output)
    assert item["result"] == "recovered" and item["url"] == url
    assert item["wayback_url"].startswith(f"{fake.base_url}/web/")
    with open_database(cli.db_url)() as session:
        source = session.scalar(select(Source))
        capture = session.get(Capture, item["capture_id"])
        assert source.state == "deleted" and capture.origin == "wayback"
    again = cli("wayback", "recover", url)
    assert "already" in again.output
    shown = json.loads(cli("show", url, "--json").output)
    assert shown["captures"][-1]["origin"] == "wayback"


def test_recover_needs_a_tracked_url_or_all_deleted(cli):
    assert cli("wayback", "recover").exit_code == 2
    missing = cli("wayback", "recover", "http://untracked.example/")
    assert missing.exit_code == 1 and "not tracked" in missing.output
