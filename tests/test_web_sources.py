"""The sources table: filters (state, language, site, text, claim tag), sort, pages; the query
is archiver.sources.find_sources, tested on SQLite and PostgreSQL."""

from __future__ import annotations

from archiver.db import open_database
from archiver.readdb import Reader
from archiver.sources import SourceQuery, add_source, find_sources
from evidence.claims import Target, add_claim, cite, tagged_sources_condition


def _store(url: str) -> object:
    sessions = open_database(url)
    with sessions.begin() as session:
        for n in range(30):
            site = "www.gov.cn" if n % 3 == 0 else ("example.org" if n % 3 == 1 else "notgov.cn")
            add_source(session, f"https://{site}/page/{n:02d}_x.html", lang="zh" if n % 2 else "en",
                       title=f"Notice {n:02d} 通知" if n % 5 == 0 else None)
        add_claim(session, "Tagged", claim_id="t", tags=["监控", "cams_1"])
        cite(session, Target(claim_id="t"), "https://www.gov.cn/page/00_x.html")
        cite(session, Target(claim_id="t"), "https://example.org/page/01_x.html")
    return sessions


def _urls(sessions, **kwargs) -> tuple[list[str], int]:
    with sessions() as session:
        rows, total = find_sources(Reader.of_session(session), SourceQuery(**kwargs))
    return [r.url.split("/")[-1] for r in rows], total


def test_find_sources_filters_sorts_and_pages(db_url):
    sessions = _store(db_url)
    assert _urls(sessions, limit=5) == (["00_x.html", "01_x.html", "02_x.html", "03_x.html", "04_x.html"], 30)
    assert _urls(sessions, limit=2, offset=28) == (["28_x.html", "29_x.html"], 30)
    assert _urls(sessions, limit=3, sort="url", descending=True)[0] == ["27_x.html", "24_x.html", "21_x.html"]
    assert _urls(sessions, site="gov.cn")[1] == 10
    assert _urls(sessions, site="www.gov.cn", lang="en")[1] == 5
    assert _urls(sessions, text="NOTICE 1")[0] == ["10_x.html", "15_x.html"]
    assert _urls(sessions, text="通知")[1] == 6
    assert _urls(sessions, text="_x.")[1] == 30 and _urls(sessions, text="x%")[1] == 0
    assert _urls(sessions, text="0_")[0] == ["00_x.html", "10_x.html", "20_x.html"]
    assert _urls(sessions, extra=[tagged_sources_condition("监控")])[0] == ["00_x.html", "01_x.html"]
    assert _urls(sessions, extra=[tagged_sources_condition("cams_1")])[1] == 2
    assert _urls(sessions, extra=[tagged_sources_condition("cams")])[1] == 0
    assert _urls(sessions, state="altered") == ([], 0)


def test_filtering_and_sorting_the_table_in_chromium(page, archive):
    page.goto("/sources")
    assert page.locator("#count").inner_text() == "1–2 of 2 sources"
    page.select_option("select[name=lang]", "zh")
    page.click("#filters button")
    page.wait_for_url("**/sources?*lang=zh*")
    rows = page.locator("#sources tbody tr")
    assert rows.count() == 1 and "/zh/notice.html" in rows.inner_text()
    page.goto("/sources?tag=nothing")
    assert page.locator("#count").inner_text() == "No source matches."
    page.goto("/sources?tag=hikvision&q=deal")
    assert page.locator("#sources tbody tr").count() == 1
    page.locator("#sources a", has_text="Ministry signs camera deal").first.click()
    page.wait_for_url(f"**/source/{archive.en_id}")
    page.goto("/sources?sort=url&dir=desc")
    first = page.locator("#sources tbody tr").first.inner_text()
    assert "/zh/notice.html" in first
    page.goto("/sources?page=x")
    assert "page must be a whole number" in page.locator(".error").inner_text()
    assert page.left == []
