"""HTML injected through claim texts, quotes, notes, tags and page titles stays text in every
report format: Markdown (rendered by a CommonMark renderer with raw HTML on) and HTML are opened
in headless Chromium, where no script may run and no request may leave; JSON carries it as data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from archiver.capture import run_pass
from archiver.db import open_database
from archiver.readdb import Reader
from evidence import render
from evidence.claims import Target, add_claim, cite
from evidence.report import all_reports, claim_report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def payloads(leak: str) -> list[str]:
    """Strings that would run a script or fetch something if a report let them through as markup."""
    return [
        "<script>window.__pwned = 'script'; console.log('PWNED')</script>",
        f'<img src="{leak}/img" onerror="window.__pwned=\'img\'">',
        '"><svg onload="window.__pwned=\'svg\'"></svg>',
        f"<iframe src=\"{leak}/frame\"></iframe><link rel=stylesheet href=\"{leak}/css\">",
        f"[click]({leak}/md-link) ![x]({leak}/md-img) <{leak}/autolink> <javascript:alert(1)>",
        "`code` *em* _u_ | pipe | \\ back \\<b>bold</b> &lt;i&gt;entity&lt;/i&gt;",
    ]


def hostile_page(leak: str) -> str:
    """A page whose title and text carry the payloads as text (escaped in its own HTML)."""
    import html

    title = html.escape(payloads(leak)[1] + " Notice")
    body = "".join(f"<p>{html.escape(p)} The bureau bought cameras for the police.</p>" for p in payloads(leak))
    return f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>"


@pytest.fixture
def reports(site, config):
    """A claim, a data point and citations whose every text field is hostile, captured twice."""
    leak = site.url("/leak")
    hostile = payloads(leak)
    sessions = open_database(config.database.url)
    url = site.set("/page.html", hostile_page(leak))
    with sessions.begin() as session:
        add_claim(session, " ".join(hostile[:3]), claim_id="cams", tags=[hostile[2], hostile[4]])
        cite(session, Target(claim_id="cams"), url, quote=hostile[0] + " quoted passage that is not on the page",
             note=hostile[3], title=hostile[1], publisher=hostile[5], accessed="2024-05-01")
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        reader = Reader.of_session(session)
        single, everything = claim_report(reader, "cams"), all_reports(reader)
    site.requests.clear()
    return hostile, single, everything


def _markdown_as_html(text: str) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").render(text)  # raw HTML allowed, as in most Markdown renderers
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


def test_markdown_html_and_json_keep_injected_html_as_text(reports, site, tmp_path):
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (CI installs it)")
    from playwright.sync_api import sync_playwright

    hostile, single, everything = reports
    documents = {
        "report.html": render.report_html(single),
        "all.html": render.reports_html(everything, single.generated_at),
        "report.md.html": _markdown_as_html(render.report_md(single)),
        "all.md.html": _markdown_as_html(render.reports_md(everything, single.generated_at)),
    }
    leaked, consoles, dialogs = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, text in documents.items():
                path = tmp_path / name
                path.write_text(text, encoding="utf-8")
                page = browser.new_page()
                page.on("console", lambda message: consoles.append(message.text))
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

                own = path.as_uri()
                page.on("request", lambda request, own=own: request.url != own and leaked.append(request.url))
                page.route(lambda url: not url.startswith("file:"), lambda request_route: request_route.abort())
                page.goto(own)
                page.wait_for_timeout(300)
                assert page.evaluate("window.__pwned") is None, name
                assert page.evaluate("document.querySelectorAll('script, img, svg, iframe, link').length") == 0, name
                shown = page.inner_text("body")
                assert "window.__pwned = 'script'" in shown and "onerror=" in shown, name
                assert "onload=" in shown and "<iframe src=" in shown, name
                if not name.endswith(".md.html"):
                    assert page.evaluate("[...document.querySelectorAll('a[href]')].every("
                                         "a => a.protocol === 'http:' || a.protocol === 'https:' || "
                                         "a.getAttribute('href').startsWith('#'))"), name
                page.close()
        finally:
            browser.close()
    assert leaked == [] and consoles == [] and dialogs == []
    assert not [r for r in site.requests if r["path"].startswith("/leak")]

    data = render.report_json(single)
    again = json.loads(json.dumps(data, ensure_ascii=False))
    assert again["claim"]["text"] == " ".join(hostile[:3])
    assert again["claim"]["tags"] == [hostile[2], hostile[4]]
    [citation] = again["citations"]
    assert citation["quote"].startswith(hostile[0]) and citation["note"] == hostile[3]
    assert citation["publisher"] == hostile[5]
    assert citation["title"] == hostile[1]
