"""What is never sent to the Wayback Machine: pages on private addresses, and sources marked
no-wayback. Real loopback sites, a real database, the fake Wayback Machine speaking its protocol;
the address policy is the archiver's own, or one injected here to call loopback public."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from archiver import submissions
from archiver.db import open_database
from archiver.models import Source, WaybackJob
from tests.conftest import make_cli

PAGE = ("<html><head><title>Notice</title></head><body><article><p>The bureau published notice {n} "
        "on the procurement of cameras for the city police.</p></article></body></html>")


@pytest.fixture
def cli(tmp_path, fake, monkeypatch):
    """`archiver --config <config with private addresses allowed, pointing at the fake> ...`."""
    invoke = make_cli(tmp_path, monkeypatch, sections={"verdict": "probe_not_found = false\n",
                                                      "wayback": fake.config_toml()})
    invoke.sessions = open_database(invoke.db_url)
    return invoke


def jobs(sessions) -> list[WaybackJob]:
    with sessions() as session:
        return list(session.scalars(select(WaybackJob).order_by(WaybackJob.id)))


def test_private_addresses_are_captured_but_never_submitted(cli, site, fake):
    """With private addresses allowed (intranet sources), the archiver's own policy still keeps
    them from Save Page Now: a loopback page is captured, queues nothing, and a drain sends nothing."""
    url = site.set("/intranet/notice.html", PAGE.format(n=1))
    assert cli("add", url).exit_code == 0
    assert cli("run", "--no-notify").exit_code == 0
    with cli.sessions() as session:
        source = session.scalars(select(Source)).one()
        assert source.state == "new"
        assert submissions.wayback_refusal(source) == "its host 127.0.0.1 is a loopback address (this machine)"
    assert jobs(cli.sessions) == []
    assert cli("wayback", "drain").exit_code == 0
    assert fake.requests == []
    looked = cli("wayback", "lookup", url)
    assert looked.exit_code == 1 and "loopback" in looked.output
    recovered = cli("wayback", "recover", url)
    assert recovered.exit_code == 1 and "not looked up" in recovered.output
    assert fake.requests == []


def test_a_redirect_to_a_private_address_is_not_submitted(site, config, monkeypatch):
    """A page whose redirect chain ends on an address the policy refuses (127.0.0.2 stands for a
    private host here) is not submitted, though its own URL looks public."""
    from archiver.capture import run_pass
    from archiver.sources import add_source
    from tests.siteserver import Site

    def policy(address: str) -> str | None:
        return "a private network address" if address == "127.0.0.2" else None

    monkeypatch.setattr(submissions, "address_policy", policy)
    inner = Site("127.0.0.2").start()
    try:
        inner.set("/wiki/page", PAGE.format(n=2))
        public = site.redirect("/go", inner.url("/wiki/page"), status=302)
        plain = site.set("/plain.html", PAGE.format(n=3))
        config.wayback.enabled = True
        sessions = open_database(config.database.url)
        with sessions.begin() as session:
            add_source(session, public)
            add_source(session, plain)
        summary = run_pass(config, sessions, everything=True)
        assert summary.counts["new"] == 2
    finally:
        inner.stop()
    assert [job.url for job in jobs(sessions)] == [plain]


def test_private_reason_counts_every_address_of_the_chain():
    """An intranet name is as private as the address it resolved to, at any hop of the chain."""
    assert submissions.private_reason(["https://wiki.corp.example/page"], ["8.8.4.4", "10.1.2.3"]) == \
        "it was served from 10.1.2.3, a private network address"
    assert submissions.private_reason(["http://[fe80::1]/x"]).startswith("its host fe80::1 is a link-local")
    assert submissions.private_reason(["http://192.168.1.10/admin"]).endswith("a private network address")
    assert submissions.private_reason(["http://intranet.localhost/"]) == "its host intranet.localhost names this machine"
    assert submissions.private_reason(["http://[::ffff:10.0.0.1]/"]) is not None
    assert submissions.private_reason(["https://www.gov.cn/zhengce/1.htm"], ["8.8.8.8"]) is None


@pytest.mark.usefixtures("loopback_is_public")
def test_no_wayback_sources_are_never_submitted_nor_looked_up(cli, site, fake):
    """`add --no-wayback` keeps a source from the Wayback Machine: no job is queued, one already
    waiting is withdrawn, a drain sends nothing, look-ups and recovery are refused; the flag shows
    in status and show JSON, and `--wayback` allows it again."""
    watched = site.set("/watched.html", PAGE.format(n=4))
    quiet = site.set("/quiet.html", PAGE.format(n=5))
    assert cli("add", watched).exit_code == 0
    added = cli("add", quiet, "--no-wayback", "--json")
    assert json.loads(added.output)["no_wayback"] is True
    assert cli("run", "--no-notify").exit_code == 0
    assert [job.url for job in jobs(cli.sessions)] == [watched]

    again = cli("add", watched, "--no-wayback")
    assert "never sent to the Wayback Machine" in again.output
    assert jobs(cli.sessions) == [], "the waiting submission was withdrawn"
    assert cli("wayback", "drain").exit_code == 0
    assert fake.requests == []
    for command in (("wayback", "lookup", quiet), ("wayback", "recover", watched)):
        refused = cli(*command)
        assert refused.exit_code == 1 and "--no-wayback" in refused.output, refused.output
    assert fake.requests == []

    status = {row["url"]: row for row in json.loads(cli("status", "--json").output)}
    assert status[watched]["no_wayback"] is True and status[quiet]["no_wayback"] is True
    assert json.loads(cli("show", quiet, "--json").output)["no_wayback"] is True

    assert cli("add", watched, "--wayback").exit_code == 0
    site.set("/watched.html", PAGE.format(n=6))
    assert cli("run", "--no-notify", "--all").exit_code == 0
    assert [job.url for job in jobs(cli.sessions)] == [watched]


@pytest.mark.usefixtures("loopback_is_public")
def test_a_job_queued_before_the_flag_is_never_sent(cli, site, fake):
    """A submission the flag could not withdraw (queued by an older version, or by a worker that
    had not yet seen the flag) is skipped by the drain, and `wayback retry` does not revive it."""
    url = site.set("/late.html", PAGE.format(n=7))
    assert cli("add", url).exit_code == 0
    assert cli("run", "--no-notify").exit_code == 0
    with cli.sessions.begin() as session:
        session.scalars(select(Source)).one().no_wayback = True
        job = session.scalars(select(WaybackJob)).one()
        job.status = "failed"
    assert cli("wayback", "retry", "--all-failed").output.startswith("0 failed submissions")
    with cli.sessions.begin() as session:
        session.scalars(select(WaybackJob)).one().status = "pending"
    assert cli("wayback", "drain").exit_code == 0
    assert fake.requests == []


def test_the_no_wayback_column_round_trips_through_import_and_export(cli, tmp_path):
    path = tmp_path / "bib.csv"
    path.write_text("url,lang,no_wayback\nhttps://a.example/1,en,yes\nhttps://a.example/2,en,\n"
                    "https://a.example/3,en,no\n", encoding="utf-8")
    assert cli("import", str(path)).exit_code == 0
    with cli.sessions() as session:
        flags = dict(session.execute(select(Source.url, Source.no_wayback)).all())
    assert flags == {"https://a.example/1": True, "https://a.example/2": False, "https://a.example/3": False}
    exported = cli("export", "-").output
    rows = {row["url"]: row["no_wayback"] for row in csv.DictReader(io.StringIO(exported))}
    assert rows == {"https://a.example/1": "yes", "https://a.example/2": "", "https://a.example/3": ""}
    bad = tmp_path / "bad.csv"
    bad.write_text("url,no_wayback\nhttps://a.example/4,maybe\n", encoding="utf-8")
    result = cli("import", str(bad))
    assert result.exit_code == 2 and "no_wayback must be yes or no" in result.output
    with cli.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 3
