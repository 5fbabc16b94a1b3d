"""The dashboard, in headless Chromium and through the HTTP interface: claims at risk with
their text, sources by state, the last passes, the Wayback queue, the changes since a day."""

from __future__ import annotations

import json
from datetime import date, timedelta

from archiver.history import recent_changes, recent_runs
from archiver.readdb import Reader
from archiver.web.pages import start_of
from tests.conftest import make_cli


def test_dashboard_shows_claims_at_risk_states_runs_and_changes(page, archive):
    page.goto("/")
    risk = page.locator("#at-risk")
    assert "The ministry bought 1,200 cameras from Hikvision" in risk.inner_text()
    assert risk.locator("a", has_text="The ministry bought").get_attribute("href") == "/claims/cams"
    states = page.locator("#states").inner_text()
    assert "altered\t2" in states and "all\t2" in states
    runs = page.locator("#runs tbody tr")
    assert runs.count() == 2
    changes = page.locator("#changes").inner_text()
    assert "altered" in changes and "Ministry signs camera deal" in changes
    page.locator("#states a", has_text="altered").click()
    page.wait_for_url("**/sources?state=altered")
    assert page.left == []


def test_changes_since_a_later_day_are_none(page):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    page.goto("/")
    page.fill("input[name=since]", tomorrow)
    page.locator("#changes button").click()
    page.wait_for_url(f"**/?since={tomorrow}")
    assert "No page was altered, moved or deleted since then." in page.locator("#changes").inner_text()


def test_recent_runs_and_changes_are_the_library_queries_of_the_cli(archive, tmp_path, monkeypatch):
    with archive.sessions() as session:
        db = Reader.of_session(session)
        runs = recent_runs(db, 5)
        changes, total = recent_changes(db, start_of(date.today() - timedelta(days=1)))
    assert [r["id"] for r in runs] == [2, 1] and all(r["status"] == "finished" for r in runs)
    assert total == 2 and {c.verdict for c in changes} == {"altered"}
    result = make_cli(tmp_path, monkeypatch, archive.config.database.url)("runs", "--json")
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["errors"]) for r in json.loads(result.output)] == [(r["id"], r["errors"]) for r in runs]


def test_dashboard_reads_on_sqlite_and_postgresql(site, config, db_url):
    from starlette.testclient import TestClient

    from archiver.web.app import create_app
    from evidence.report import claims_at_risk
    from tests.webserver import make_archive

    config.database.url = db_url
    archive = make_archive(site, config)
    with archive.sessions() as session:
        db = Reader.of_session(session)
        [risk] = claims_at_risk(db)
        changes, total = recent_changes(db, start_of(date.today() - timedelta(days=1)))
        runs = recent_runs(db, 5)
    assert (risk.id, risk.altered, risk.quote_missing, risk.deleted) == ("cams", 2, 2, 0)
    assert total == 2 and len(runs) == 2
    with TestClient(create_app(config, sessions=archive.sessions), base_url="https://127.0.0.1") as http:
        for path in ("/", "/sources?q=DEAL&sort=checked&dir=desc", f"/source/{archive.zh_id}/compare", "/claims/cams",
                     "/claims?q=hik"):
            assert http.get(path).status_code == 200, path
