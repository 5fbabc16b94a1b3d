"""Claims in the web interface, in headless Chromium: search, open a claim's report (the same
content as `archiver report --format html`), add a claim and a citation with its quote through
the forms, edit and delete them, capture a claim's sources now, import a CSV upload."""

from __future__ import annotations

from bs4 import BeautifulSoup
from playwright.sync_api import expect

from archiver.readdb import Reader
from evidence import render
from evidence.report import claim_report


def test_search_and_open_a_claim_report_with_the_cli_s_content(page, archive):
    page.goto("/claims")
    page.fill("#claim-search input[name=q]", "HIKVISION")
    page.click("#claim-search button")
    page.wait_for_url("**/claims?q=HIKVISION")
    page.locator("#claims a", has_text="The ministry bought").click()
    page.wait_for_url("**/claims/cams")
    shown = page.locator("#report").text_content()
    with archive.sessions() as session:
        report = claim_report(Reader.of_session(session), "cams")
    expected = BeautifulSoup(render.report_html(report), "html.parser").find("article").get_text("")
    assert "".join(shown.split()) == "".join(expected.split())
    assert "install 1,200 cameras in the city centre" in shown and "市公安局与海康威视签署合作协议" in shown
    page.goto("/claims?q=nothing-like-this")
    assert "No claim matches." in page.locator("main").inner_text()
    assert page.left == []


def test_adding_a_claim_and_a_citation_then_editing_and_deleting_them(page, archive):
    page.goto("/claims")
    page.fill("#add-claim textarea[name=text]", "<script>alert(1)</script> 海康威视 built the platform")
    page.fill("#add-claim input[name=id]", "platform")
    page.fill("#add-claim input[name=tags]", "hikvision; 平台")
    page.click("#add-claim button")
    page.wait_for_url("**/claims/platform")
    assert "<script>alert(1)</script> 海康威视 built the platform" in page.locator("#report").inner_text()
    page.fill("#cite input[name=url]", archive.zh_url)
    page.fill("#cite textarea[name=quote]", "在城区建设视频监控平台")
    page.fill("#cite input[name=accessed]", "2019-05-02")
    page.click("#cite button")
    page.wait_for_url("**/claims/platform#citations")
    report = page.locator("#report").inner_text()
    assert "在城区建设视频监控平台" in report and "present" in report.lower()
    page.fill("#cite input[name=url]", archive.en_url)
    page.fill("#cite input[name=accessed]", "yesterday")
    page.click("#cite button")
    assert "accessed date" in page.locator("#claim-error").inner_text()

    citation = page.locator("details.citation").first
    citation.locator("summary").click()
    citation.locator("textarea[name=quote]").fill("a passage that was never there")
    citation.locator("button", has_text="Save the citation").click()
    page.wait_for_url("**/claims/platform#citations")
    assert "a passage that was never there" in page.locator("#report").inner_text()
    assert "missing" in page.locator("#report").inner_text().lower()

    page.fill("#edit-claim textarea[name=text]", "Hikvision built the platform")
    page.click("#edit-claim button")
    page.wait_for_url("**/claims/platform")
    assert "Claim platform\n\nHikvision built the platform" in page.locator("#report").inner_text()
    page.click("#delete-claim button")
    assert "has 1 citation(s)" in page.locator("#claim-error").inner_text()
    page.locator("details.citation").first.locator("summary").click()
    page.locator("details.citation").first.locator("button", has_text="Remove this citation").click()
    page.wait_for_url("**/claims/platform#citations")
    page.click("#delete-claim button")
    page.wait_for_url("**/claims")
    assert page.request.get("/claims/platform").status == 404
    assert page.left == []


def test_capturing_a_claim_s_sources_now(page, archive):
    page.goto("/claims/cams")
    page.click("#capture-claim button")
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#job-state")).to_contain_text("Done: 2 of 2 captured", timeout=90_000)
    assert page.locator("#outcomes tbody tr").count() == 2


def test_importing_a_csv_upload(page, archive, site, tmp_path):
    url = site.set("/csv/page.html", "<html><body><p>Imported page</p></body></html>")
    path = tmp_path / "bibliography.csv"
    path.write_bytes(("url,lang,claim_id,claim,quote,accessed\n"
                      f"{url},zh,imported,导入的论断,导入,2024-01-02\n"
                      "not-a-url,en,,,,\n").encode("gb18030"))
    page.goto("/import")
    page.set_input_files("#import input[name=file]", str(path))
    page.click("#import button")
    summary = page.locator("#import-summary").inner_text()
    assert "2 rows: 1 added" in summary and "line 3" in summary
    page.goto("/claims/imported")
    assert "导入的论断" in page.locator("#report").inner_text()
