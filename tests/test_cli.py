"""The `archiver` command line through its entry point: exit codes, messages, JSON interface."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from archiver.cli import main
from archiver.db import open_database
from archiver.models import Source


def test_every_command_explains_itself():
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Archive the web pages" in result.output
    with click.Context(main) as ctx:
        names = main.list_commands(ctx)
        assert {"add", "run", "status", "wayback", "verify", "schedule", "claim", "cite", "report", "demo"} <= set(names)
        for name in names:
            command = main.get_command(ctx, name)
            assert command is not None and command.name == name, name
            assert f"\n  {name} " in result.output, f"{name} is not listed by --help"
            sub = runner.invoke(main, [name, "--help"])
            assert sub.exit_code == 0, name
            assert command.help or command.short_help, f"{name} has no help text"


def test_add_normalises_and_never_tracks_twice(cli):
    assert cli("add", "HTTP://Example.COM:80/page#x", "--lang", "en").exit_code == 0
    again = cli("add", "http://example.com/page")
    assert again.exit_code == 0
    assert "already tracked" in again.output
    sessions = open_database(cli.db_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 1
        assert session.scalars(select(Source)).one().lang == "en"


@pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "http://", "javascript:alert(1)"])
def test_add_refuses_bad_urls_and_writes_nothing(cli, url):
    result = cli("add", url)
    assert result.exit_code == 2
    assert "error:" in result.output
    assert len(result.output.strip().splitlines()) == 1
    sessions = open_database(cli.db_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 0


def test_run_status_show_round(cli, site):
    good = site.set("/a.html", "<html><head><title>Hikvision contract</title></head><body><article><p>"
                    + "Hikvision won a contract for 35,000 cameras in Xinjiang's mosques. " * 5 + "</p></article></body></html>")
    gone = site.url("/missing.html")
    cli("add", good)
    cli("add", gone)
    result = cli("run", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "2 captured" in result.output

    status = cli("status", "--json")
    assert status.exit_code == 0
    rows = {row["url"]: row for row in json.loads(status.output)}
    assert set(rows) == {good, gone}
    for row in rows.values():
        assert {"url", "state", "final_url", "last_checked", "captures"} <= set(row)
    assert rows[good]["state"] == "new" and rows[good]["captures"] == 1
    assert rows[gone]["state"] == "deleted"

    only_deleted = json.loads(cli("status", "--json", "--state", "deleted").output)
    assert [r["url"] for r in only_deleted] == [gone]

    table = cli("status")
    assert "deleted" in table.output and "sources" in table.output

    shown = json.loads(cli("show", good, "--json").output)
    assert shown["captures"][0]["status"] == 200
    assert len(shown["captures"][0]["body_sha256"]) == 64

    assert cli("show", "http://never-added.example/").exit_code == 1


def test_run_json_summary_and_runs(cli, site):
    cli("add", site.set("/b.html", "<html><body><p>" + "Body text of the page. " * 10 + "</p></body></html>"))
    data = json.loads(cli("run", "--json").output)
    assert data["total"] == 1 and data["counts"] == {"new": 1}
    runs = json.loads(cli("runs", "--json").output)
    assert runs[0]["status"] == "finished" and runs[0]["counts"]["new"] == 1


def test_bad_config_fails_the_run(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[fetch]\nconcurrency = 'lots'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "run"])
    assert result.exit_code == 1
    assert "configuration error" in result.output


def test_unreachable_database_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    assert "cannot reach database" in result.output
