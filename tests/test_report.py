"""Citation reports checked against real captures of loopback pages: verdicts, best captures,
Wayback copies, JSON interface, Markdown and HTML output, query counts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from archiver.capture import run_pass
from archiver.db import open_database
from archiver.events import wayback_copies
from archiver.models import Capture, Source
from archiver.readdb import Reader, connect
from evidence import render
from evidence.claims import DataPointInput, Target, add_claim, add_datapoint, cite
from evidence.report import all_reports, claim_report
from tests.conftest import make_cli

# Their pages are served on loopback: in these tests, those count as public for the Wayback Machine.
pytestmark = pytest.mark.usefixtures("loopback_is_public")

ARTICLE = """<html><head><title>{title}</title></head><body><nav><a href="/">Home</a> | <a href="/news">News</a></nav>
<article><h1>{title}</h1>
<p>{first}</p>
<p>The deal is worth 86 million yuan according to a procurement notice published by the city government on
its website, which also lists the districts where the work will take place.</p>
<p>Civil liberties groups asked the city to publish the rules that govern how the footage is stored and searched.</p>
</article><footer>Copyright Example News</footer></body></html>"""

QUOTE = "the contract covers the installation of 1,200 high-definition cameras"
WITH_QUOTE = "Officials said the contract covers the installation of 1,200 high-definition cameras in four districts."
WITHOUT_QUOTE = "Officials said the contract covers new equipment for the police in four districts of the city."


def page(first: str, title: str = "Camera deal signed") -> str:
    return ARTICLE.format(title=title, first=first)


@pytest.fixture
def both_sessions(config, db_url):
    """Sessions on SQLite, and on PostgreSQL too when ARCHIVER_TEST_DATABASE_URL is set."""
    config.database.url = db_url
    return open_database(db_url)


def make_claim(sessions, claim_id: str, cites: list[tuple[str, str | None]], text: str = "Cameras were installed") -> None:
    with sessions.begin() as session:
        add_claim(session, text, claim_id=claim_id)
        for url, quote in cites:
            cite(session, Target(claim_id=claim_id), url, quote=quote, accessed="2019-05-02", note="fn 1",
                 title="Camera deal", publisher="Example News", lang="en")


def report_of(sessions, claim_id: str):
    with sessions() as session:
        return claim_report(Reader.of_session(session), claim_id)


def captures_of(sessions, url: str) -> list[Capture]:
    with sessions() as session:
        source = session.scalars(select(Source).where(Source.url == url)).one()
        return list(session.scalars(select(Capture).where(Capture.source_id == source.id).order_by(Capture.id)))


def test_a_quote_removed_between_two_captures_turns_the_verdict(site, config, both_sessions):
    sessions = both_sessions
    url = site.set("/deal.html", page(WITH_QUOTE))
    make_claim(sessions, "deal", [(url, QUOTE)])
    run_pass(config, sessions, everything=True)
    before = report_of(sessions, "deal")
    assert (before.verdict.level, before.verdict.live, before.verdict.archive) == ("ok", 1, 0)
    assert before.citations[0].quote_status == "present"

    site.set("/deal.html", page(WITHOUT_QUOTE))
    run_pass(config, sessions, everything=True)
    first, second = captures_of(sessions, url)
    after = report_of(sessions, "deal")
    c = after.citations[0]
    assert (after.verdict.level, after.verdict.live, after.verdict.archive, after.verdict.none) == ("at risk", 0, 1, 0)
    assert after.verdict.summary == "Of 1 citation, 0 still support it live, 1 only through archives and 0 not at all."
    assert (c.state, c.quote_status, c.support) == ("altered", "missing", "archive")
    assert c.best_capture.id == first.id and c.best_capture.body_sha256 == first.body_sha256
    assert c.quote_missing_since == second.started_at
    assert c.closest and "contract covers new equipment" in c.closest
    assert c.state_since is not None and c.problems == ["source altered", "quote missing"]
    assert c.citation_line == (f"Camera deal, Example News, {url} (accessed 2019-05-02; captured "
                               f"{first.started_at:%Y-%m-%d}, sha256 {first.body_sha256[:16]}…)")


def test_a_deleted_page_supports_only_through_an_archived_capture_with_the_quote(site, config, both_sessions):
    sessions = both_sessions
    kept = site.set("/kept.html", page(WITH_QUOTE))
    misquoted = site.set("/misquoted.html", page(WITHOUT_QUOTE, title="Another deal"))
    make_claim(sessions, "kept", [(kept, QUOTE)])
    make_claim(sessions, "misquoted", [(misquoted, QUOTE)])
    run_pass(config, sessions, everything=True)
    site.set("/kept.html", "<html><body><h1>Not Found</h1></body></html>", status=404)
    site.set("/misquoted.html", "<html><body><h1>Not Found</h1></body></html>", status=410)
    run_pass(config, sessions, everything=True)
    kept_report, misquoted_report = report_of(sessions, "kept"), report_of(sessions, "misquoted")
    assert kept_report.citations[0].state == "deleted"
    assert kept_report.citations[0].support == "archive"
    assert kept_report.citations[0].best_capture.id == captures_of(sessions, kept)[0].id
    assert misquoted_report.citations[0].support == "none"
    assert misquoted_report.citations[0].best_capture is None
    assert (misquoted_report.verdict.none, misquoted_report.verdict.level) == (1, "at risk")
    assert "no archived copy with the quote" in misquoted_report.citations[0].citation_line
    with sessions() as session:
        order = [r.id for r in all_reports(Reader.of_session(session))]
    assert order == ["misquoted", "kept"]


def test_an_unreachable_source_is_archive_support_until_it_answers_again(site, config, sessions):
    url = site.set("/slow.html", page(WITH_QUOTE))
    make_claim(sessions, "deal", [(url, QUOTE)])
    run_pass(config, sessions, everything=True)
    site.set("/slow.html", "busy", status=503)
    run_pass(config, sessions, everything=True)
    c = report_of(sessions, "deal").citations[0]
    assert (c.state, c.support, c.quote_status) == ("unreachable", "archive", "present")
    assert c.unreachable_since is not None and c.problems == ["source unreachable"]
    site.set("/slow.html", page(WITH_QUOTE))
    run_pass(config, sessions, everything=True)
    assert report_of(sessions, "deal").citations[0].support == "live"


def test_unchecked_and_unquoted_citations(site, config, sessions):
    url = site.set("/plain.html", page(WITH_QUOTE))
    make_claim(sessions, "plain", [(url, None), ("http://127.0.0.1:9/never-captured", QUOTE)])
    report = report_of(sessions, "plain")
    assert [c.support for c in report.citations] == ["unchecked", "unchecked"]
    assert report.verdict.level == "unchecked"
    run_pass(config, sessions, source_ids=[1], everything=True)
    report = report_of(sessions, "plain")
    unquoted = report.citations[0]
    assert (unquoted.support, unquoted.quote_status) == ("live", None)
    assert unquoted.best_capture is not None


def test_data_point_citations_count_for_their_claim(site, config, sessions):
    url = site.set("/dp.html", page(WITH_QUOTE))
    with sessions.begin() as session:
        add_claim(session, "Cameras in Northgate", claim_id="cams")
        add_datapoint(session, DataPointInput("Example Vision", "Ruritania", "smart city/public security",
                                              "Northgate", "45.2", "19.8", "2019", claim_id="cams"),
                      datapoint_id="dp-ev")
        cite(session, Target(datapoint_id="dp-ev"), url, quote=QUOTE)
        add_claim(session, "The deal is worth 86 million yuan", claim_id="price")
        cite(session, Target(claim_id="price", datapoint_id="dp-ev"), url, quote="worth 86 million yuan")
    run_pass(config, sessions, everything=True)
    report = report_of(sessions, "cams")
    assert [(c.datapoint.id, c.quote) for c in report.citations] == [("dp-ev", QUOTE)]
    assert report.verdict.live == 1
    assert [c.quote for c in report_of(sessions, "price").citations] == ["worth 86 million yuan"]
    with sessions() as session:
        grouped = {r.id: [c.quote for c in r.citations] for r in all_reports(Reader.of_session(session))}
    assert grouped == {"cams": [QUOTE], "price": ["worth 86 million yuan"]}
    point_report = report_of(sessions, "dp-ev")
    assert point_report.kind == "datapoint" and point_report.verdict.live == 2


def test_report_json_through_the_cli(tmp_path, monkeypatch, site):
    cli = make_cli(tmp_path, monkeypatch)
    url = site.set("/deal.html", page(WITH_QUOTE))
    cli("claim", "add", "Cameras were installed", "--id", "deal", "--tag", "cams")
    cli("cite", "deal", url, "--quote", QUOTE, "--accessed", "2019-05-02")
    cli("run", "--all")
    site.set("/deal.html", page(WITHOUT_QUOTE))
    cli("run", "--all")
    result = cli("report", "deal", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema"] == "source-archiver/citation-report/1"
    assert data["claim"] == {"id": "deal", "text": "Cameras were installed", "tags": ["cams"]}
    assert data["verdict"]["level"] == "at risk" and data["verdict"]["archive_only"] == 1
    citation = data["citations"][0]
    assert {k: citation[k] for k in ("url", "state", "quote", "quote_status", "support")} == {
        "url": url, "state": "altered", "quote": QUOTE, "quote_status": "missing", "support": "archive",
    }
    assert re.fullmatch(r"[0-9a-f]{64}", citation["best_capture"]["body_sha256"])
    everything = json.loads(cli("report", "--all", "--format", "json").output)
    assert everything["schema"] == "source-archiver/citation-reports/1"
    assert [r["claim"]["id"] for r in everything["reports"]] == ["deal"]
    unknown = cli("report", "nope")
    assert unknown.exit_code == 2 and "unknown claim id 'nope'" in unknown.output
    assert cli("report").exit_code == 2
    out = tmp_path / "r.md"
    assert cli("report", "deal", "--output", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("# Citation report: deal")
    html_out = tmp_path / "all.html"
    assert cli("report", "--all", "--format", "html", "-o", str(html_out)).exit_code == 0
    assert f'data-originalurl="{url}"' in html_out.read_text(encoding="utf-8")
    overview = cli("report", "--all", "--format", "md").output
    assert "| deal | at risk | 0 | 1 | 0 | 0 |" in overview


def test_every_documented_json_field_is_produced(site, config, sessions):
    doc = Path(__file__).resolve().parent.parent / "docs" / "report-json.md"
    documented = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", doc.read_text(encoding="utf-8"), re.M))
    url = site.set("/deal.html", page(WITH_QUOTE))
    make_claim(sessions, "deal", [(url, QUOTE)])
    run_pass(config, sessions, everything=True)
    data = render.report_json(report_of(sessions, "deal"))

    def paths(value, prefix=""):
        for key, item in value.items():
            yield prefix + key
            if isinstance(item, dict):
                yield from paths(item, prefix + key + ".")
            if isinstance(item, list) and item and isinstance(item[0], dict):
                yield from paths(item[0], prefix + key + "[].")

    produced = {p.replace("[]", "") for p in paths(data)}
    assert produced <= documented, produced - documented
    assert {"citations.url", "citations.state", "citations.quote", "citations.quote_status"} <= produced


def test_markdown_and_html_escape_what_they_show(site, config, sessions):
    url = site.set("/x.html", page(WITH_QUOTE, title="A <b>bold</b> & *starred* title"))
    make_claim(sessions, "esc", [(url, QUOTE)], text='Claim with <script>alert("x")</script> | pipes *and* 中文')
    with sessions.begin() as session:
        session.scalars(select(Source)).one().title = "A <b>bold</b> & *starred* title"
    run_pass(config, sessions, everything=True)
    report = report_of(sessions, "esc")
    markdown = render.report_md(report)
    assert "\\<script" in markdown and "\\|" in markdown and "\\*and\\*" in markdown and "中文" in markdown
    page_html = render.report_html(report)
    assert "<script" not in page_html and "&lt;script&gt;" in page_html
    assert "A &lt;b&gt;bold&lt;/b&gt; &amp; *starred* title" in page_html
    assert not re.search(r"<(link|img|script|iframe)\b", page_html)
    assert not re.search(r"\bsrc=", page_html)
    assert '<p class="claim" lang="zh">' in page_html


def test_wayback_copies_appear_in_the_report_and_citation_line(site, config, sessions, fake):
    from archiver import wayback_queue as wq

    fake.configure(config.wayback)
    config.wayback.max_per_minute = 60000.0
    config.wayback.poll_interval = 0.02
    config.wayback.timeout = 3.0
    url = site.set("/deal.html", page(WITH_QUOTE))
    make_claim(sessions, "deal", [(url, QUOTE)])
    run_pass(config, sessions, everything=True)
    wq.drain(config, sessions)
    capture = captures_of(sessions, url)[0]
    assert capture.wayback_url is None, "the sealed capture row is not edited"
    with sessions() as session:
        wayback_url, stamp = wayback_copies(Reader.of_session(session), [capture.id])[capture.id]
    assert wayback_url.startswith(fake.base_url) and len(stamp) == 14
    c = report_of(sessions, "deal").citations[0]
    assert c.wayback.wayback_url == wayback_url and c.wayback.id == capture.id
    day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    assert f"archived {day} at {wayback_url}, sha256 {capture.body_sha256[:16]}…" in c.citation_line
    link = render.source_link(c)
    assert f'data-versionurl="{wayback_url}"' in link and f'data-versiondate="{day}"' in link


def test_a_page_recovered_from_the_wayback_machine_counts_as_archive_support(site, config, sessions, fake):
    from archiver import recover as rc

    fake.configure(config.wayback)
    config.wayback.timeout = 3.0
    url = site.set("/gone.html", "<html><body><h1>Not Found</h1></body></html>", status=404)
    fake.add_snapshot(url, page(WITH_QUOTE), "20190503120000")
    make_claim(sessions, "gone", [(url, QUOTE)])
    config.wayback.enabled = False
    run_pass(config, sessions, everything=True)
    assert report_of(sessions, "gone").citations[0].support in ("none", "unchecked")
    config.wayback.enabled = True
    with sessions() as session:
        source_id = session.scalars(select(Source.id)).one()
    rc.recover_source(config, sessions, source_id)
    c = report_of(sessions, "gone").citations[0]
    assert (c.support, c.best_capture.origin) == ("archive", "wayback")
    assert c.wayback is not None and "/web/20190503120000" in c.wayback.wayback_url
    assert "archived 2019-05-03 at" in c.citation_line


def test_report_queries_do_not_grow_with_the_number_of_citations(site, config, both_sessions):
    sessions = both_sessions

    def statements_for(claim_id: str, n: int) -> int:
        urls = [site.set(f"/{claim_id}/{i}.html", page(WITH_QUOTE, title=f"Deal {i}")) for i in range(n)]
        make_claim(sessions, claim_id, [(u, QUOTE) for u in urls] + [(u, None) for u in urls])
        run_pass(config, sessions, everything=True)
        with connect(config.database.url) as db:
            report = claim_report(db, claim_id)
        assert report.verdict.live == 2 * n
        return db.statements

    assert statements_for("small", 2) == statements_for("large", 7)


def test_every_report_format_shows_the_chain_head_and_verify_checks_the_archive_against_it(tmp_path, monkeypatch, site):
    """A report kept with a publication is an anchor: `verify --anchor REPORT` fails once the
    archive no longer holds the head the report printed, even with the anchor log gone too."""
    cli = make_cli(tmp_path, monkeypatch)
    url = site.set("/deal.html", page(WITH_QUOTE))
    other = site.set("/other.html", page(WITH_QUOTE, title="合同签署 Contract signed"))
    cli("claim", "add", "Cameras were installed", "--id", "deal")
    cli("cite", "deal", url, "--quote", QUOTE, "--accessed", "2019-05-02")
    cli("cite", "deal", other, "--quote", QUOTE)
    assert cli("run", "--no-progress").exit_code == 0
    assert cli("run", "--all", "--no-progress").exit_code == 0
    with connect(cli.db_url) as db:
        capture_id, head_hash = db.rows("SELECT capture_id, record_hash FROM chain_heads WHERE id = 1")[0]
    assert capture_id == 4
    files = {}
    for fmt in ("md", "html", "json"):
        files[fmt] = tmp_path / f"report.{fmt}"
        assert cli("report", "deal", "--format", fmt, "-o", str(files[fmt])).exit_code == 0
    assert f"Archive hash-chain head: capture 4, record hash `{head_hash}`" in files["md"].read_text()
    assert f'Archive hash-chain head: capture 4, record hash <code class="hash">{head_hash}</code>' in files["html"].read_text()
    assert json.loads(files["json"].read_text())["chain_head"] == {"capture_id": 4, "event_id": None,
                                                                  "record_hash": head_hash}
    everything = tmp_path / "all.json"
    assert cli("report", "--all", "--format", "json", "-o", str(everything)).exit_code == 0
    assert json.loads(everything.read_text())["chain_head"]["record_hash"] == head_hash
    for fmt, file in files.items():
        result = cli("verify", "--anchor", str(file))
        assert result.exit_code == 0, (fmt, result.output)
        assert f"{file}: 1 head(s)" in result.output

    from tests.test_integrity import tamper

    for table in ("quote_checks", "chain_anchors"):
        tamper(cli.db_url, f"DELETE FROM {table} WHERE 1 = 1")
    Path(str(tmp_path / "archive.db") + ".anchors.jsonl").unlink()
    tamper(cli.db_url, "DELETE FROM captures WHERE id > 2")
    tamper(cli.db_url, "UPDATE chain_heads SET capture_id = 2, record_hash = (SELECT record_hash FROM captures "
                       "WHERE id = 2) WHERE id = 1")
    assert cli("verify").exit_code == 0, "with the anchor log and its copies gone, the cut chain looks whole"
    for fmt, file in files.items():
        result = cli("verify", "--anchor", str(file))
        assert result.exit_code == 1, fmt
        assert "the chain was cut short" in result.output and str(file) in result.output
        assert "reached capture 4" in result.output and "now ends at capture 2" in result.output


def test_a_quote_shown_outside_the_main_text_supports_the_claim_live(site, config, sessions):
    """The quote sits in a box of the page the extractor leaves out: the report says "present
    (outside the main text)", in JSON, Markdown and HTML, and the citation supports the claim live."""
    boxed = (ARTICLE.replace("</article>", "</article><aside class=\"box\"><p>Fact box: {box}</p></aside>")
             .format(title="Camera deal signed", first=WITHOUT_QUOTE, box=WITH_QUOTE))
    url = site.set("/boxed.html", boxed)
    make_claim(sessions, "boxed", [(url, QUOTE)])
    run_pass(config, sessions, everything=True)
    report = report_of(sessions, "boxed")
    c = report.citations[0]
    assert (c.quote_status, c.support, c.problems) == ("present (outside the main text)", "live", [])
    assert render.report_json(report)["citations"][0]["quote_status"] == "present (outside the main text)"
    assert "present (outside the main text; checked" in render.report_md(report)
    assert 'quote-status present">present (outside the main text; checked' in render.report_html(report)
