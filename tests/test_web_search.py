"""Searching every capture's text from the web interface (archiver.search, as `archiver search`),
in headless Chromium: a word the page no longer says is found, with its passage and dates."""

from __future__ import annotations


def test_searching_finds_what_a_page_said_before_its_edit(page, archive):
    page.goto("/search")
    page.fill("#search input[name=q]", "海康威视")
    page.click("#search button")
    page.wait_for_url("**/search?q=*")
    hits = page.locator("#hits li.hit")
    assert hits.count() == 1
    hit = hits.first
    assert [m for m in hit.locator("mark").all_inner_texts()] and set(hit.locator("mark").all_inner_texts()) <= {"海康威视", "海康", "威视"}
    assert "市公安局与" in hit.locator(".passage").inner_text()
    assert "the page no longer says this" in hit.inner_text()
    hit.locator("a", has_text="archived page").click()
    page.wait_for_url("**/capture/*/view")
    assert "海康威视" in page.frame_locator("iframe.archived").locator("article").inner_text()
    assert page.left == []


def test_english_words_and_phrases_and_a_query_with_nothing_to_find(page, archive):
    page.goto('/search?q="a spokesman said"')
    assert page.locator("#hits li.hit").count() == 1
    assert "a spokesman said" in " ".join(page.locator("#hits mark").all_inner_texts())
    page.goto("/search?q=cameras -spokesman")
    assert page.locator("#hits li.hit").count() == 1
    page.goto("/search?q=nothingofthissort")
    assert "Nothing found" in page.locator("#search-count").inner_text()
    page.goto("/search?q=-")
    assert page.locator("#search-error").count() == 1
