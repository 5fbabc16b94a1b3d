"""The HTML citation report opened in a real browser: headless Chromium renders the file and the
Robust Links attributes are read back from its DOM."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from archiver import wayback_queue as wq
from archiver.capture import run_pass
from archiver.db import open_database
from archiver.readdb import Reader
from evidence import render
from evidence.claims import Target, add_claim, cite
from evidence.report import all_reports, claim_report

# Their pages are served on loopback: in these tests, those count as public for the Wayback Machine.
pytestmark = pytest.mark.usefixtures("loopback_is_public")

CHROMIUM = "/usr/bin/chromium"

EN = """<html><head><title>Camera deal</title></head><body><article><h1>Camera deal</h1>
<p>Officials said the contract covers the installation of {n} high-definition cameras in four districts.</p>
<p>The deal is worth 86 million yuan according to a procurement notice published by the city government.</p>
<p>Civil liberties groups asked the city to publish the rules that govern how the footage is stored.</p>
</article></body></html>"""

ZH = """<html><head><meta charset="gbk"><title>视频监控建设项目公告</title></head><body><div class="article">
<h1>视频监控建设项目公告</h1>
<p>项目由示例视觉科技有限公司承建，在全市四个城区的主要路口、交通枢纽和居民小区共安装高清摄像头1200台，并接入市公安局指挥平台。</p>
<p>项目总投资8600万元，计划于2019年12月底前完成建设并投入使用。项目建成后，将实现重点区域视频监控全覆盖。</p>
</div></body></html>"""


def render_dom(path: Path, tmp_path: Path) -> BeautifulSoup:
    """The DOM Chromium builds from the file, as it serialises it."""
    completed = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-extensions", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, timeout=90, check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")[-2000:]
    dom = completed.stdout.decode("utf-8")
    assert "<body" in dom
    return BeautifulSoup(dom, "html.parser")


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (CI installs it)")
    return CHROMIUM


def test_html_report_renders_in_chromium_with_robust_links(chromium, site, config, tmp_path, fake):
    fake.configure(config.wayback)
    replay = fake.base_url + "/web/"
    config.wayback.max_per_minute = 60000.0
    config.wayback.poll_interval = 0.02
    config.wayback.timeout = 3.0
    sessions = open_database(config.database.url)
    en = site.set("/deal.html", EN.format(n="1,200"))
    zh = site.set("/zh.html", ZH.encode("gbk"), content_type="text/html")
    with sessions.begin() as session:
        add_claim(session, "示例视觉在北门市安装了1200台摄像头 <b>not bold</b>", claim_id="cams")
        cite(session, Target(claim_id="cams"), en, quote="the installation of 1,200 high-definition cameras",
             title="Camera deal", publisher="Example News", accessed="2019-04-20")
        cite(session, Target(claim_id="cams"), zh, quote="共安装高清摄像头1200台", lang="zh",
             title="视频监控建设项目公告", publisher="北门市公安局")
    run_pass(config, sessions, everything=True)
    wq.drain(config, sessions)
    site.set("/deal.html", EN.format(n="1,800"))
    config.wayback.enabled = False
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        report = claim_report(Reader.of_session(session), "cams")
        everything = all_reports(Reader.of_session(session))

    single = tmp_path / "report.html"
    single.write_text(render.report_html(report), encoding="utf-8")
    combined = tmp_path / "all.html"
    combined.write_text(render.reports_html(everything, report.generated_at), encoding="utf-8")

    for path in (single, combined):
        dom = render_dom(path, tmp_path)
        links = dom.select("a.source-link")
        assert [a["href"] for a in links] == [en, zh]
        by_url = {c.url: c for c in report.citations}
        for a in links:
            facts = by_url[a["href"]]
            assert a["data-originalurl"] == a["href"]
            assert a["data-versionurl"] == facts.wayback.wayback_url
            assert a["data-versionurl"].startswith(replay)
            stamp = a["data-versionurl"][len(replay):][:8]
            assert a["data-versiondate"] == f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
        version_links = dom.select("a.version-link")
        assert {a["data-originalurl"] for a in version_links} == {en, zh}
        text = dom.get_text(" ")
        assert "共安装高清摄像头1200台" in text and "北门市公安局" in text
        assert "示例视觉在北门市安装了1200台摄像头 <b>not bold</b>" in text
        assert dom.find("b") is None
        assert "1,800" in dom.select_one("blockquote.closest").get_text()
        assert dom.select_one("blockquote.quote[lang=zh]") is not None
        assert "at risk" in dom.select_one(".verdict").get_text()
