"""Managing what is tracked: untrack, retrack, move-url; editing and removing claims, citations
and data points; status's next due time and interval; show --text and open. Through the CLI,
on a real loopback site and a real SQLite file (and PostgreSQL when configured)."""

from __future__ import annotations

import json
import stat
import sys

import pytest
from sqlalchemy import func, select

from archiver.db import open_database
from archiver.models import Capture, Source
from evidence.models import Citation, Claim, DataPoint, QuoteCheck
from tests.conftest import make_cli
from tests.siteserver import Page

ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           "<p>{text}</p><p>Other paragraphs of the article fill the page with enough words for the extractor "
           "to keep it as the main text of the page, which it needs.</p></article></body></html>")
ZH_ARTICLE = ("<html><head><meta charset='gbk'><title>{title}</title></head><body><article><h1>{title}</h1>"
              "<p>{text}</p><p>这是一篇新闻报道的其他段落，内容足够长，提取程序会把它当作页面的正文保留下来。"
              "这是一篇新闻报道的其他段落，内容足够长。</p></article></body></html>")


def page(text: str, title: str = "Camera contract", chinese: bool = False) -> Page:
    if chinese:
        return Page(ZH_ARTICLE.format(title=title, text=text).encode("gbk"), content_type="text/html")
    return Page(ARTICLE.format(title=title, text=text).encode("utf-8"))


@pytest.fixture
def cli(tmp_path, monkeypatch, db_url):
    return make_cli(tmp_path, monkeypatch, db_url)


def run(cli) -> dict:
    result = cli("run", "--json", "--no-notify")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def status(cli) -> dict:
    return {row["url"]: row for row in json.loads(cli("status", "--json").output)}


def test_untrack_stops_captures_and_keeps_everything(cli, site):
    site.pages["/a"] = page("Hikvision installed 1,200 cameras.")
    site.pages["/b"] = page("Dahua installed 800 cameras.")
    a, b = site.url("/a"), site.url("/b")
    cli("claim", "add", "Hikvision cameras", "--id", "hik")
    cli("cite", "hik", a, "--quote", "installed 1,200 cameras")
    cli("add", b, "--interval", "6h")
    assert run(cli)["total"] == 2
    result = json.loads(cli("untrack", a, "--reason", "the report no longer cites it", "--json").output)
    assert result["changed"] and not result["tracked"]
    assert json.loads(cli("untrack", a, "--json").output)["changed"] is False
    rows = status(cli)
    assert rows[a]["tracked"] is False and rows[a]["next_due"] is None
    assert rows[a]["untracked_reason"] == "the report no longer cites it"
    assert rows[b]["tracked"] is True and rows[b]["interval_hours"] == 6.0 and rows[b]["next_due"]
    assert rows[a]["interval_hours"] == 24.0
    table = cli("status").output
    assert "next due" in table and "every" in table and "untracked since" in table and "6h" in table
    requests = len(site.requests)
    summary = json.loads(cli("run", "--all", "--json", "--no-notify").output)
    assert summary["total"] == 1, "an untracked source is not captured, even by run --all"
    assert not any(r["path"] == "/a" for r in site.requests[requests:])
    with open_database(cli.db_url)() as session:
        source = session.scalars(select(Source).where(Source.url == a)).one()
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source.id)) == 1
        assert session.scalar(select(func.count()).select_from(Citation)) == 1
    report = json.loads(cli("report", "hik", "--format", "json").output)
    assert report["citations"][0]["quote_status"] == "present"
    assert json.loads(cli("retrack", a, "--json").output)["changed"] is True
    assert status(cli)[a]["tracked"] is True
    assert json.loads(cli("run", "--json", "--no-notify").output)["total"] == 1
    assert cli("untrack", site.url("/never-added")).exit_code == 1
    assert cli("verify").exit_code == 0


def test_move_url_moves_citations_and_leaves_old_captures(cli, site):
    site.pages["/typo"] = Page(b"<html><body><h1>404 Not Found</h1></body></html>", status=404)
    site.pages["/right"] = page("海康威视承建了墨玉县的视频监控项目。", title="墨玉县项目", chinese=True)
    old, new = site.url("/typo"), site.url("/right")
    cli("claim", "add", "海康威视在墨玉县", "--id", "hik-moyu")
    cli("datapoint", "add", "--entity", "Hikvision", "--country", "China", "--place", "Moyu", "--id", "dp-moyu",
        "--claim", "hik-moyu")
    cli("cite", "hik-moyu", old, "--quote", "承建了墨玉县的视频监控项目", "--accessed", "2019-03-12", "--note", "fn 3")
    cli("cite", "dp-moyu", old, "--note", "fn 3")
    run(cli)
    before = json.loads(cli("report", "hik-moyu", "--format", "json").output)["citations"][0]
    assert before["state"] == "deleted" and before["quote_status"] == "missing"
    moved = json.loads(cli("move-url", old, new, "--reason", "typo in the report", "--json").output)
    assert len(moved["citations_moved"]) == 2 and moved["new_source_created"] is True
    with open_database(cli.db_url)() as session:
        old_source = session.scalars(select(Source).where(Source.url == old)).one()
        assert old_source.untracked_at is not None and new in old_source.untracked_reason
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == old_source.id)) == 1
        assert session.scalar(select(func.count()).select_from(Citation).where(Citation.source_id == old_source.id)) == 0
        assert session.scalar(select(func.count()).select_from(QuoteCheck)) == 0
    run(cli)
    after = json.loads(cli("report", "hik-moyu", "--format", "json").output)
    cited = {c["url"]: c for c in after["citations"]}
    assert set(cited) == {new}
    quoted = [c for c in after["citations"] if c["quote"]][0]
    assert quoted["quote_status"] == "present" and quoted["accessed"] == "2019-03-12" and quoted["note"] == "fn 3"
    assert quoted["best_capture"]["final_url"] == new
    assert cli("move-url", old, new).exit_code == 0  # nothing left to move: still fine
    assert cli("move-url", new, new).exit_code == 2
    assert cli("verify").exit_code == 0


def test_move_url_merges_into_an_existing_citation(cli):
    cli("claim", "add", "A claim", "--id", "c1")
    cli("cite", "c1", "https://example.com/old", "--accessed", "2019-01-02")
    cli("cite", "c1", "https://example.com/new")
    moved = json.loads(cli("move-url", "https://example.com/old", "https://example.com/new", "--json").output)
    assert moved["citations_moved"] == [] and len(moved["citations_merged"]) == 1
    rows = json.loads(cli("cite", "list", "c1", "--json").output)
    assert [(r["url"], r["accessed"]) for r in rows] == [("https://example.com/new", "2019-01-02")]


def test_edit_and_remove_claims_citations_and_datapoints(cli, site):
    site.pages["/a"] = page("Hikvision installed 1,200 cameras in Moyu.")
    url = site.url("/a")
    cli("claim", "add", "Hikvision cameras in Moyu", "--id", "hik", "--tag", "cameras")
    cli("cite", "hik", url, "--quote", "installed 1,200 cameras")
    cli("datapoint", "add", "--entity", "Hikvision", "--country", "China", "--id", "dp-hik", "--claim", "hik")
    run(cli)
    [citation] = json.loads(cli("cite", "list", "--url", url, "--json").output)
    assert citation["quote"] == "installed 1,200 cameras"
    edited = json.loads(cli("cite", "edit", str(citation["id"]), "--quote", "installed 1,800 cameras",
                            "--accessed", "2019-05-02", "--json").output)
    assert edited["changed"] == ["accessed", "quote"]
    report = json.loads(cli("report", "hik", "--format", "json").output)
    assert report["citations"][0]["quote_status"] == "missing", "the new quote is checked at once"
    assert cli("cite", "edit", str(citation["id"]), "--accessed", "2019-13-01").exit_code == 2
    assert cli("cite", "edit", "9999", "--note", "x").exit_code == 2

    assert cli("datapoint", "edit", "dp-hik", "--place", "Moyu", "--lat", "37.27", "--lon", "79.7").exit_code == 0
    assert cli("datapoint", "edit", "dp-hik", "--lat", "95", "--lon", "79").exit_code == 2
    with open_database(cli.db_url)() as session:
        point = session.get(DataPoint, "dp-hik")
        assert (point.place, point.latitude, point.longitude, point.claim_id) == ("Moyu", 37.27, 79.7, "hik")

    refused = cli("claim", "remove", "hik")
    assert refused.exit_code == 2 and "1 citation" in refused.output
    removed = json.loads(cli("claim", "remove", "hik", "--with-citations", "--json").output)
    assert removed == {"claim_id": "hik", "citations_removed": 1, "datapoints_unlinked": ["dp-hik"]}
    with open_database(cli.db_url)() as session:
        assert session.get(Claim, "hik") is None
        assert session.get(DataPoint, "dp-hik").claim_id is None
        assert session.scalar(select(func.count()).select_from(QuoteCheck)) == 0
        assert session.scalar(select(func.count()).select_from(Capture)) == 1, "captures are never removed by this"
    cli("cite", "dp-hik", url, "--note", "map")
    assert cli("datapoint", "remove", "dp-hik").exit_code == 2
    assert cli("datapoint", "remove", "dp-hik", "--with-citations").exit_code == 0
    cli("claim", "add", "Another", "--id", "other")
    cli("cite", "other", url)
    ids = [r["id"] for r in json.loads(cli("cite", "list", "--json").output)]
    assert cli("cite", "remove", *map(str, ids)).exit_code == 0
    assert json.loads(cli("cite", "list", "--json").output) == []
    assert cli("verify").exit_code == 0


def test_show_text_and_open(cli, site, tmp_path, monkeypatch):
    site.pages["/zh"] = page("云从科技与津巴布韦政府签署了人脸识别合作协议。", title="云从科技", chinese=True)
    url = site.url("/zh")
    cli("add", url)
    assert cli("show", url, "--text").exit_code == 1  # nothing captured yet
    run(cli)
    text = cli("show", url, "--text")
    assert text.exit_code == 0 and "云从科技与津巴布韦政府签署了人脸识别合作协议" in text.output
    data = json.loads(cli("show", url, "--text", "--json").output)
    assert data["capture_id"] and "津巴布韦" in data["text"]
    assert cli("show", url, "--text", "--capture", "999").exit_code == 1

    log = tmp_path / "opened.txt"
    opener = tmp_path / "opener.py"
    opener.write_text(f"import sys\nopen({str(log)!r}, 'w').write(sys.argv[1])\n", encoding="utf-8")
    monkeypatch.setenv("ARCHIVER_OPENER", f"{sys.executable} {opener}")
    result = cli("open", url)
    assert result.exit_code == 0, result.output
    written = result.output.strip().splitlines()[-1]
    assert log.read_text(encoding="utf-8") == written and written.endswith(".html")
    body = open(written, "rb").read()
    assert body == site.pages["/zh"].body, "the stored body, byte for byte (GBK)"
    target = tmp_path / "copy.html"
    assert cli("open", url, "-o", str(target), "--no-open").exit_code == 0
    assert target.read_bytes() == body
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    failing.chmod(failing.stat().st_mode | stat.S_IEXEC)
    bad = cli("open", url, "--opener", str(failing))
    assert bad.exit_code == 1 and "exit 3" in bad.output


def test_datapoint_and_claim_reports_back_each_other(cli):
    cli("claim", "add", "CloudWalk signed a facial recognition deal with Zimbabwe", "--id", "cloudwalk-zw")
    cli("cite", "cloudwalk-zw", "https://www.biometricupdate.com/201804/cloudwalk-zimbabwe", "--note", "fn 60")
    cli("datapoint", "add", "--entity", "CloudWalk", "--country", "Zimbabwe", "--place", "Harare",
        "--category", "surveillance relationship", "--id", "dp-cw", "--claim", "cloudwalk-zw")
    cli("cite", "dp-cw", "https://www.herald.co.zw/cloudwalk-harare", "--note", "map")
    point = json.loads(cli("report", "dp-cw", "--format", "json").output)
    assert point["kind"] == "datapoint" and point["claim_id"] == "cloudwalk-zw"
    assert {c["url"] for c in point["citations"]} == {
        "https://www.biometricupdate.com/201804/cloudwalk-zimbabwe", "https://www.herald.co.zw/cloudwalk-harare"}
    claim = json.loads(cli("report", "cloudwalk-zw", "--format", "json").output)
    assert [p["id"] for p in claim["datapoints"]] == ["dp-cw"] and claim["claim_id"] is None
    assert "dp-cw" in cli("report", "cloudwalk-zw").output
    assert "dp-cw" in cli("report", "cloudwalk-zw", "--format", "html").output
    every = json.loads(cli("report", "--all", "--format", "json").output)["reports"]
    assert [r["datapoints"][0]["id"] for r in every if r["kind"] == "claim"] == ["dp-cw"]


def test_purge_needs_purge_and_yes_and_is_a_custody_event_verify_lists(cli, site):
    site.pages["/mistake"] = page("A page published by mistake, naming a private person.")
    site.pages["/keep"] = page("Dahua installed 800 cameras.")
    mistake, keep = site.url("/mistake"), site.url("/keep")
    cli("claim", "add", "A claim", "--id", "c")
    cli("cite", "c", mistake, "--quote", "published by mistake")
    cli("add", keep)
    run(cli)
    cli("run", "--all", "--no-notify")
    with open_database(cli.db_url)() as session:
        source_id = session.scalars(select(Source.id).where(Source.url == mistake)).one()
        before = session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source_id))
        assert before == 2 and session.scalar(select(func.count()).select_from(QuoteCheck)) == 2

    asked = cli("untrack", mistake, "--purge", "--reason", "names a private person", "--json")
    assert asked.exit_code == 1 and "nothing removed" in asked.output
    assert json.loads(asked.output[:asked.output.index("}") + 1])["captures"] == 2
    assert cli("untrack", mistake, "--purge", "--yes").exit_code == 2, "a purge needs a reason"
    assert cli("untrack", mistake, "--yes").exit_code == 2, "--yes alone purges nothing"
    assert cli("untrack", mistake, "--reason", "x").exit_code == 0  # untrack alone removes nothing
    with open_database(cli.db_url)() as session:
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source_id)) == 2

    done = cli("untrack", mistake, "--purge", "--yes", "--reason", "names a private person", "--by", "editor",
               "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["purged"] and len(result["purge"]["captures"]) == 2 and not result["tracked"]
    with open_database(cli.db_url)() as session:
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source_id)) == 0
        assert session.scalar(select(func.count()).select_from(Capture)) == 2, "the other source keeps its captures"
        assert session.scalar(select(func.count()).select_from(QuoteCheck)) == 0
        assert session.scalar(select(func.count()).select_from(Citation)) == 1, "the citation stays"
    verified = cli("verify", "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["ok"] and report["purged_records"] >= 2
    [purge] = report["purges"]
    assert (purge["reason"], purge["actor"], purge["source_url"], purge["captures"]) == (
        "names a private person", "editor", mistake, 2)
    assert "removed on purpose" in cli("verify").output
    row = status(cli)[mistake]
    assert row["tracked"] is False and row["captures"] == 0 and "names a private person" in row["untracked_reason"]
    again = cli("untrack", mistake, "--purge", "--yes", "--reason", "again")
    assert again.exit_code == 1 and "nothing" in again.output
