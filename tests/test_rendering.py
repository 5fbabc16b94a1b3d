"""Rendered captures with the real Chromium (/usr/bin/chromium) on loopback pages."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from archiver.capture import run_pass
from archiver.db import open_database
from archiver.models import Capture, RenderSite, Source
from archiver.screenshots import png_size, screenshots_for
from archiver.sources import add_source
from archiver.store import get_blob, get_text

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium (apt install chromium)")

SENTENCES = ("The ministry signed the agreement with the provincial government on Tuesday, officials said. "
             "The contract covers surveillance cameras, data centres and a command platform for the city police. ")


def script_page(text: str, title: str = "Portal") -> str:
    """A page whose article is written by JavaScript: a plain fetch sees an empty shell."""
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return (f"<html><head><title>{title}</title></head><body><div id='app'></div><script>"
            f"document.getElementById('app').innerHTML = {'<article>' + paragraphs + '</article>'!r};"
            "</script></body></html>")


def track(sessions, url, **kwargs) -> int:
    with sessions.begin() as session:
        return add_source(session, url, **kwargs)[0].id


def captures(sessions) -> list[Capture]:
    with sessions() as session:
        return list(session.scalars(select(Capture).order_by(Capture.id)))


def test_a_script_page_is_blank_plain_and_rendered_in_auto_mode(site, config):
    url = site.set("/app/1", script_page(SENTENCES * 3))
    never = open_database(config.database.url)
    track(never, url)
    run_pass(config, never)
    plain = captures(never)[-1]
    assert plain.rendered_sha256 is None and "surveillance cameras" not in (plain.page_title or "")
    with never() as session:
        assert "surveillance cameras" not in get_text(session, plain.text_sha256)

    config.fetch.render = "auto"
    run_pass(config, never, everything=True)
    rendered = captures(never)[-1]
    assert rendered.rendered_sha256 and rendered.body_sha256 == plain.body_sha256, "the raw body is the plain one"
    with never() as session:
        assert "surveillance cameras" in get_text(session, rendered.text_sha256)
        assert b"<article>" in get_blob(session, rendered.rendered_sha256)
        assert session.get(RenderSite, f"http://127.0.0.1:{site.port}").source_id == rendered.source_id
    record = rendered.provenance
    assert record["agent"] == "chromium" and record["software"]["chromium"]
    assert [e["client"] for e in record["exchanges"]] == ["httpx", "chromium"]


def test_a_remembered_site_is_rendered_directly_and_an_edit_by_script_is_altered(site, config):
    config.fetch.render = "auto"
    config.browser.screenshots = True
    sessions = open_database(config.database.url)
    first = site.set("/app/1", script_page(SENTENCES * 3))
    track(sessions, first)
    run_pass(config, sessions)
    second = site.set("/app/2", script_page("A second article about the data centre. " * 4))
    track(sessions, second)
    site.set("/app/1", script_page((SENTENCES * 3).replace("Tuesday", "Friday")))
    summary = run_pass(config, sessions, everything=True)
    assert summary.counts == {"altered": 1, "new": 1}
    shots = {}
    with sessions() as session:
        by_url = {s.url: s for s in session.scalars(select(Source))}
        assert by_url[first].state == "altered" and "Friday" in by_url[first].state_reason + get_text(
            session, session.get(Capture, by_url[first].last_capture_id).text_sha256)
        for capture in session.scalars(select(Capture)):
            shots[capture.id] = screenshots_for(session, capture.id)
    assert all(len(found) == 1 and found[0].kind == "capture" for found in shots.values()), shots

    site.pages["/app/1"].body = site.pages["/app/1"].body  # nothing changes
    summary = run_pass(config, sessions, everything=True)
    assert summary.counts == {"unchanged": 2}
    with sessions() as session:
        latest = list(session.scalars(select(Capture).order_by(Capture.id.desc()).limit(2)))
        assert all(c.rendered_sha256 and c.screenshot_sha256 is None for c in latest), "no screenshot when unchanged"
        assert all(screenshots_for(session, c.id) == [] for c in latest)


def test_a_plain_new_capture_gets_a_screenshot_event_and_an_unchanged_one_none(site, config):
    config.browser.screenshots = True
    long_page = ("<html><head><title>Long</title><style>p{height:400px;margin:0}</style></head><body>"
                 + "".join(f"<p>Paragraph {i} of a long report on the provincial police platform.</p>" for i in range(12))
                 + "</body></html>")
    url = site.set("/long", long_page)
    sessions = open_database(config.database.url)
    track(sessions, url)
    run_pass(config, sessions)
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        first, second = session.scalars(select(Capture).order_by(Capture.id))
        found = screenshots_for(session, first.id)
        assert [s.kind for s in found] == ["event"] and screenshots_for(session, second.id) == []
        png = get_blob(session, found[0].sha256)
    width, height = png_size(png)
    assert width == config.browser.viewport_width and 12 * 400 <= height <= 12 * 400 + 100
