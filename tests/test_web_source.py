"""One source in the web interface: its timeline, two captures compared side by side with the
edit highlighted (English words, Chinese word segments), each capture's text, raw body and
provenance, "capture now" and its job page; adding a source through the form."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from archiver.models import Capture


def _captures(archive, source_id: int) -> list[int]:
    with archive.sessions() as session:
        return list(session.scalars(select(Capture.id).where(Capture.source_id == source_id).order_by(Capture.id)))


def test_timeline_and_english_comparison(page, archive):
    first, second = _captures(archive, archive.en_id)
    page.goto(f"/source/{archive.en_id}")
    assert page.locator("h1").inner_text() == "Ministry signs camera deal"
    timeline = page.locator("#timeline tbody tr")
    assert timeline.count() == 2
    assert "altered" in timeline.first.inner_text() and "new" in timeline.last.inner_text()
    page.click("#compare-form button")
    page.wait_for_url(f"**/source/{archive.en_id}/compare?from={first}&to={second}")
    removed = page.locator("#old del").all_inner_texts()
    added = page.locator("#new ins").all_inner_texts()
    assert any("1,200" in text for text in removed) and any("800" in text for text in added)
    assert any("officials" in text for text in removed) and any("spokesman" in text for text in added)
    assert "ministry of public security" in page.locator("#old .text").inner_text()
    assert page.locator("#new del").count() == 0 and page.locator("#old ins").count() == 0
    assert page.locator("#screenshots .noshot").count() == 2  # the test settings take no screenshots
    assert page.left == []


def test_chinese_comparison_highlights_word_segments(page, archive):
    first, second = _captures(archive, archive.zh_id)
    page.goto(f"/source/{archive.zh_id}/compare?from={second}&to={first}")
    assert page.locator("#old del").all_inner_texts() == ["海康威视", "三千万元"]
    assert page.locator("#new ins").all_inner_texts() == ["大华股份", "五千万元"]
    assert "关于智慧城市视频监控平台建设的通知" in page.locator("#new .text").inner_text()


def test_capture_text_raw_body_and_provenance(page, archive):
    first, _second = _captures(archive, archive.zh_id)
    page.goto(f"/capture/{first}")
    provenance = page.locator("#provenance").inner_text()
    assert archive.zh_url in provenance and "200" in provenance and "new" in provenance
    text = page.request.get(f"/capture/{first}/text")
    assert text.headers["content-type"] == "text/plain; charset=utf-8" and "海康威视" in text.text()
    raw = page.request.get(f"/capture/{first}/raw")
    assert raw.headers["content-disposition"].startswith("attachment;")
    assert raw.body().decode("utf-8").startswith("<html><head><meta charset='utf-8'><title>关于")
    assert page.request.get("/capture/999999").status == 404


def test_adding_a_source_through_the_form_and_capturing_it_now(page, archive, site):
    url = site.set("/new/report.html", "<html><head><title>Procurement notice</title></head><body><article><p>"
                   + "The bureau bought 300 cameras for the police stations of the county. " * 5
                   + "</p></article></body></html>")
    page.goto("/add")
    page.fill("input[name=url]", "ftp://example.org/file")
    page.click("#add-source button")
    assert "http" in page.locator("#add-error").inner_text()
    assert page.locator("input[name=url]").input_value() == "ftp://example.org/file"
    page.fill("input[name=url]", url)
    page.fill("input[name=lang]", "en")
    page.click("#add-source button")
    page.wait_for_url("**/source/*?added=1")
    source_page = page.url.split("?")[0]
    assert "state\npending" in page.locator("#facts").inner_text()
    page.click("#capture-now button")
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#job-state")).to_contain_text("Done: 1 of 1 captured", timeout=60_000)
    assert "new" in page.locator("#outcomes").inner_text()
    assert page.locator("head meta[http-equiv=refresh]").count() == 0
    page.goto(source_page)
    assert "state\nnew since" in page.locator("#facts").inner_text()
    assert "done (1 captured)" in page.locator("#capture-now").inner_text()
    assert site.hits("/new/report.html") >= 1 and page.left == []


def test_a_gbk_page_without_a_declared_charset_compares_and_shows_in_chinese(page, archive, site):
    """A GBK page that declares no charset: its two versions compared by word segment, and the
    archived page shown with its characters intact."""
    from archiver.sources import add_source
    from tests.webserver import capture_all

    old = ("<html><head><title>关于加强视频监控建设的通知</title></head><body><article><h1>关于加强视频监控建设的通知</h1>"
           "<p>各区县公安分局：为推进平安城市建设，市局决定在全市范围内新增高清摄像头两千个，由海康威视负责安装调试。</p>"
           "<p>请各单位于本月底前上报点位清单，并做好施工配合工作。</p></article></body></html>")
    new = old.replace("两千个", "五百个").replace("海康威视", "本地企业")
    url = site.set("/gbk/notice.html", old.encode("gbk"), content_type="text/html")
    with archive.sessions.begin() as session:
        source_id = add_source(session, url, lang="zh")[0].id
    capture_all(archive.config, archive.sessions)
    site.set("/gbk/notice.html", new.encode("gbk"), content_type="text/html")
    capture_all(archive.config, archive.sessions)
    first, second = _captures(archive, source_id)
    page.goto(f"/source/{source_id}/compare")
    assert page.locator("#old del").all_inner_texts() == ["两千个", "海康威视"]
    assert page.locator("#new ins").all_inner_texts() == ["五百个", "本地企业"]
    page.goto(f"/capture/{first}/view")
    frame = page.frame_locator("iframe.archived")
    assert "由海康威视负责安装调试" in frame.locator("article").inner_text()
    assert page.left == []


def test_the_screenshots_of_two_captures_side_by_side(chromium_browser, site, config):
    """With [browser] screenshots on, the new and the altered capture each have a full-page
    screenshot, shown side by side under the comparison and on each capture's page."""
    from tests.webserver import Served, make_archive

    config.browser.screenshots = True
    archive = make_archive(site, config)
    first, second = _captures(archive, archive.en_id)
    server = Served(archive.config, archive.sessions).start()
    context = chromium_browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        page.goto(f"/source/{archive.en_id}/compare")
        shots = page.locator("#screenshots img")
        assert [shots.nth(n).get_attribute("alt") for n in range(shots.count())] == [
            f"screenshot of capture {first}", f"screenshot of capture {second}"]
        assert page.evaluate("[...document.querySelectorAll('#screenshots img')].every(i => i.complete && i.naturalWidth > 0)")
        image = page.request.get(shots.first.get_attribute("src"))
        assert image.headers["content-type"] == "image/png" and image.body().startswith(b"\x89PNG")
        page.goto(f"/capture/{second}")
        assert page.locator("p.shot img").count() == 1
        assert page.request.get(f"/capture/{second}/screenshot/{'0' * 64}").status == 404
    finally:
        context.close()
        server.stop()
