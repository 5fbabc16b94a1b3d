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


# --- what a newcomer tripped on ---------------------------------------------------------------


def test_status_elsewhere_creates_nothing_and_help_names_the_database(tmp_path, monkeypatch, caplog):
    """`status` in a folder without an archive says so and creates no archive.db; `--help` and
    `status` name the database in use; the first command that writes announces a new one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARCHIVER_DATABASE_URL", raising=False)
    monkeypatch.delenv("ARCHIVER_CONFIG", raising=False)
    runner = CliRunner()
    helped = runner.invoke(main, ["--help"])
    words = " ".join(helped.output.split())
    assert f"Database: {tmp_path / 'archive.db'} (SQLite)" in words.replace("\n", " ") or \
        f"{tmp_path / 'archive.db'}" in helped.output.replace("\n", "").replace("  ", "")
    assert "(not created yet)" in words
    for command in (["status"], ["status", "--json"], ["claim", "list"], ["runs"], ["report", "--all"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 1, command
        assert "no archive database at" in result.output and str(tmp_path / "archive.db") in result.output
    assert not (tmp_path / "archive.db").exists()
    added = runner.invoke(main, ["add", "https://example.org/a"])
    assert added.exit_code == 0 and f"created a new database: {tmp_path / 'archive.db'}" in caplog.text
    caplog.clear()
    again = runner.invoke(main, ["add", "https://example.org/b"])
    assert again.exit_code == 0 and "created a new database" not in caplog.text
    status = runner.invoke(main, ["status"])
    assert status.exit_code == 0 and f"database: {tmp_path / 'archive.db'} (SQLite)" in status.output
    assert "2 sources: 2 pending" in status.output


def test_brackets_survive_and_counts_read_right(tmp_path, monkeypatch, site):
    """An error naming the `[fetch]` section keeps its brackets in `run` and `show`; one new body
    reads "1 new body"."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[fetch]\nper_host_delay = 0.0\n'
                      "[capture]\nextract_workers = 1\n[wayback]\nenabled = false\n", encoding="utf-8")
    monkeypatch.delenv("ARCHIVER_DATABASE_URL", raising=False)
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)

    refused = site.set("/private.html", "<p>never fetched</p>")
    assert cli("add", refused).exit_code == 0
    ran = cli("run", "--no-notify")
    assert "in the [fetch] section" in ran.output and "0 new bodies stored" in ran.output
    assert site.requests == [], "refused before connecting"
    shown = cli("show", refused)
    assert "[fetch]" in shown.output.replace("\n", "")
    config.write_text(config.read_text(encoding="utf-8").replace("[fetch]\n", "[fetch]\nallow_private_addresses = true\n"),
                      encoding="utf-8")
    ok = site.set("/ok.html", "<html><body><article><p>A page about the camera contract, long enough "
                              "to count as an article for the extractor.</p></article></body></html>")
    assert cli("add", ok).exit_code == 0
    ran = cli("run", "--no-notify", "--url", ok)
    assert "1 new body stored" in ran.output


def test_piped_tables_never_split_ids_or_dates(cli):
    """Piped, `claim list`, `datapoint list`, `runs` and `show` print every id and date on one
    line; `runs` shows dates as every other command does."""
    claim_id = "hikvision-supplied-cameras-for-the-integrated-joint-operations-platform-in-xinjiang"
    assert cli("claim", "add", "Hikvision supplied cameras " * 8, "--id", claim_id).exit_code == 0
    point_id = "cloudwalk-zimbabwe-harare-surveillance-relationship-national-facial-database"
    assert cli("datapoint", "add", "--entity", "CloudWalk", "--country", "Zimbabwe", "--place", "Harare",
               "--id", point_id, "--description", "national facial database " * 6).exit_code == 0
    assert claim_id in cli("claim", "list").output
    assert point_id in cli("datapoint", "list").output
    url = "https://example.org/" + "a-very-long-path-segment/" * 4 + "article.html"
    cli("add", url)
    cli("run", "--no-notify")
    runs = cli("runs").output
    started = json.loads(cli("runs", "--json").output)[0]["started_at"]
    from archiver.dates import when

    assert when(started) in runs and "T" not in when(started)
    shown = cli("show", url).output
    assert when(json.loads(cli("show", url, "--json").output)["captures"][0]["started_at"]) in shown


def test_an_import_whose_rows_were_all_rejected_fails(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("url,lang\nftp://x.example/1,en\nnot a url,en\n", encoding="utf-8")
    result = cli("import", str(path))
    assert result.exit_code == 2
    assert "2 rows: 0 added" in result.output and "nothing imported" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("url,lang\n", encoding="utf-8")
    assert cli("import", str(empty)).exit_code == 0


def test_import_counts_sources_already_tracked(cli, tmp_path):
    for i in range(3):
        cli("add", f"https://example.org/{i}")
    path = tmp_path / "bib.csv"
    path.write_text("url,claim_id,claim\n" + "".join(f"https://example.org/{i},c1,Claim one\n" for i in range(5)),
                    encoding="utf-8")
    result = cli("import", str(path))
    assert "5 rows: 5 added" in result.output
    assert "sources: 2 new, 3 already tracked" in result.output
    data = json.loads(cli("import", str(path), "--json").output)
    assert data["sources_already_tracked"] == 5 and data["already_tracked"] == 5
