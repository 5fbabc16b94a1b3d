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


def render(config, url, policy=None, shot=False):
    import asyncio

    from archiver.browser import Browser

    async def go():
        kwargs = {"address_policy": policy} if policy else {}
        async with Browser(config, **kwargs) as browser:
            async with browser.open(url) as page:
                return page.rendered, (await page.screenshot() if shot else None)

    return asyncio.run(go())


@pytest.fixture
def other_loopback_site():
    """A site on 127.0.0.2, which the guard of these tests treats as public (127.0.0.1 stays private)."""
    from tests.siteserver import Site

    s = Site(host="127.0.0.2").start()
    yield s
    s.stop()


def only_127_0_0_2(address: str) -> str | None:
    from archiver.fetch import classify_address

    return None if address == "127.0.0.2" else classify_address(address)


def test_the_guard_refuses_a_subresource_and_a_redirect_to_a_private_address(site, other_loopback_site, config):
    config.fetch.allow_private_addresses = False
    trap = site
    trap.set("/pixel.png", b"\x89PNG", content_type="image/png")
    trap.set("/script.js", "document.title = 'reached';", content_type="application/javascript")
    trap.set("/private", "<html><body><p>Private page behind a redirect.</p></body></html>")
    page = other_loopback_site.set("/page", f"""<html><head><title>Public</title>
        <script src="{trap.url('/script.js')}"></script></head><body><p>A public page with private parts.</p>
        <img src="{trap.url('/pixel.png')}"><iframe src="{other_loopback_site.url('/hop')}"></iframe></body></html>""")
    other_loopback_site.redirect("/hop", trap.url("/private"), status=302)
    rendered, _ = render(config, page, only_127_0_0_2)
    assert rendered.error is None and "A public page with private parts." in rendered.dom
    assert rendered.title == "Public", "the private script never ran"
    blocked = dict(rendered.blocked)
    assert set(blocked) >= {trap.url("/pixel.png"), trap.url("/script.js"), trap.url("/private")}
    assert "loopback" in blocked[trap.url("/private")]
    assert trap.requests == [], "nothing reached the private address"

    other_loopback_site.redirect("/away", trap.url("/private"), status=301)
    rendered, _ = render(config, other_loopback_site.url("/away"), only_127_0_0_2)
    assert rendered.error_kind == "private_address" and "loopback" in rendered.error
    assert trap.requests == []


def test_a_long_page_gives_a_png_of_its_full_height_and_chinese_text_renders(site, config):
    long_page = ("<html><body style='margin:0'><div style='height:6000px;background:#eee'>Top</div>"
                 "<p>Bottom of the page</p></body></html>")
    _, png = render(config, site.set("/long", long_page), shot=True)
    width, height = png_size(png)
    assert width == config.browser.viewport_width and 6000 <= height <= 6100
    config.browser.max_screenshot_height = 2500
    _, png = render(config, site.url("/long"), shot=True)
    assert png_size(png) == (config.browser.viewport_width, 2500), "a very tall page is cut at max_screenshot_height"

    def picture(text: str) -> bytes:
        page = f"<html><body style='margin:0;font-size:40px'><p>{text}</p></body></html>"
        return render(config, site.set(f"/zh{len(site.pages)}", page.encode("utf-8"),
                                       content_type="text/html; charset=utf-8"), shot=True)[1]

    import io

    from PIL import Image, ImageChops

    def ink(png: bytes) -> tuple[Image.Image, float]:
        image = Image.open(io.BytesIO(png)).convert("L")
        dark = sum(image.histogram()[:128])
        return image, dark / (image.width * image.height)

    chinese, chinese_ink = ink(picture("云从科技与津巴布韦政府签署战略合作框架协议"))
    other, _ = ink(picture("根据协议将为机场火车站和汽车站提供人脸识别技术"))
    boxes, _ = ink(picture("\ue000" * 21))  # private-use characters: no font has them, drawn as empty boxes
    assert chinese_ink > 0.003, "the Chinese page is not blank"
    # Without a CJK font every character is the same empty box: two different Chinese lines of the
    # same length would give the same picture, and the same as a line of boxes.
    assert ImageChops.difference(chinese, other).getbbox() is not None
    differing = sum(ImageChops.difference(chinese, boxes).histogram()[65:])
    assert differing > 2000


def test_cli_add_render_screenshot_show_open_and_verify(site, tmp_path, monkeypatch):
    import json
    import sqlite3

    from tests.conftest import make_cli

    cli = make_cli(tmp_path, monkeypatch)
    url = site.set("/app", script_page(SENTENCES * 2, title="Scripted portal"))
    added = json.loads(cli("add", url, "--render", "--json").output)
    assert added["render"] == "always"
    assert cli("run").exit_code == 0
    shown = json.loads(cli("show", url, "--json").output)
    assert shown["captures"][0]["rendered_sha256"] and shown["captures"][0]["screenshots"] == [], "screenshots off"

    taken = cli("screenshot", url, "-o", str(tmp_path / "shot.png"), "--json")
    assert taken.exit_code == 0, taken.output
    data = json.loads(taken.output)
    assert data["verdict"] == "unchanged" and data["screenshot"]["kind"] == "capture"
    png = (tmp_path / "shot.png").read_bytes()
    assert png_size(png) == (data["screenshot"]["width"], data["screenshot"]["height"])
    table = cli("show", url)
    assert "(rendered)" in table.output and data["screenshot"]["sha256"][:16] in table.output
    opened = cli("open", url, "--screenshot", "--no-open", "-o", str(tmp_path / "again.png"))
    assert opened.exit_code == 0 and (tmp_path / "again.png").read_bytes() == png
    assert cli("verify").exit_code == 0

    with sqlite3.connect(cli.db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM blobs WHERE sha256 = ?", (data["screenshot"]["sha256"],))
    broken = cli("verify")
    assert broken.exit_code != 0 and "screenshot" in broken.output


def test_cli_screenshot_of_a_plain_source_is_a_sealed_event(site, tmp_path, monkeypatch):
    import json

    from tests.conftest import make_cli

    cli = make_cli(tmp_path, monkeypatch)
    url = site.set("/plain", "<html><head><title>Plain</title></head><body><article><p>"
                   + "云从科技与津巴布韦政府签署战略合作框架协议。" * 6 + "</p></article></body></html>")
    cli("add", url, "--render=never")
    cli("run")
    taken = json.loads(cli("screenshot", url, "--json").output)
    assert taken["screenshot"]["kind"] == "capture", "archiver screenshot renders whatever the mode"
    assert cli("verify").exit_code == 0
    missing = cli("screenshot", site.url("/not-tracked"))
    assert missing.exit_code == 1


def test_the_render_column_of_the_csv(tmp_path, cli):
    from archiver.db import open_database

    csv = tmp_path / "sources.csv"
    csv.write_text("url,render\nhttp://example.gov.cn/a,yes\nhttp://example.gov.cn/b,auto\nhttp://example.gov.cn/c,\n",
                   encoding="utf-8")
    assert cli("import", str(csv)).exit_code == 0
    sessions = open_database(cli.db_url)
    with sessions() as session:
        modes = {s.url: s.render for s in session.scalars(select(Source))}
    assert modes == {"http://example.gov.cn/a": "always", "http://example.gov.cn/b": "auto",
                     "http://example.gov.cn/c": None}
    csv.write_text("url,render\nhttp://example.gov.cn/a,sometimes\n", encoding="utf-8")
    bad = cli("import", str(csv))
    assert bad.exit_code != 0 and "render must be always, auto or never" in bad.output
    exported = tmp_path / "out.csv"
    cli("export", str(exported))
    assert "http://example.gov.cn/a" in exported.read_text() and ",always" in exported.read_text()


def test_warc_and_wacz_carry_screenshots_the_rendered_dom_and_provenance(site, config, tmp_path):
    import json
    import subprocess
    import zipfile

    from warcio.archiveiterator import ArchiveIterator

    from archiver.wacz import write_wacz
    from archiver.warc import select_captures, write_warc
    from tests.processes import console_script

    config.fetch.render = "auto"
    config.browser.screenshots = True
    sessions = open_database(config.database.url)
    scripted = site.set("/app/1", script_page(SENTENCES * 3))
    plain = site.set("/plain", "<html><head><title>Plain</title></head><body><article><p>"
                     + "A plain report on the provincial police platform. " * 4 + "</p></article></body></html>")
    track(sessions, scripted)
    track(sessions, plain)
    run_pass(config, sessions)
    with sessions() as session:
        expected = {c.id: [s.sha256 for s in screenshots_for(session, c.id)] for c in session.scalars(select(Capture))}
        write_warc(session, select_captures(session), tmp_path / "out.warc.gz")
        write_wacz(session, select_captures(session), tmp_path / "out.wacz", title="rendered")
    assert all(len(keys) == 1 for keys in expected.values()), expected
    resources, metadata = {}, []
    with open(tmp_path / "out.warc.gz", "rb") as handle:
        for record in ArchiveIterator(handle):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "resource":
                payload = record.content_stream().read()
                import hashlib

                assert record.rec_headers.get_header("WARC-Payload-Digest") == "sha256:" + hashlib.sha256(payload).hexdigest()
                resources[uri] = (record.rec_headers.get_header("Content-Type"), hashlib.sha256(payload).hexdigest())
            elif record.rec_type == "metadata":
                metadata.append(json.loads(record.content_stream().read()))
    assert resources[f"urn:screenshot:{scripted}"][0] == "image/png"
    assert resources[f"urn:screenshot:{plain}"][0] == "image/png"
    assert resources[f"urn:dom:{scripted}"][0].startswith("text/html")
    assert {digest for _, digest in resources.values()} >= {k for keys in expected.values() for k in keys}
    assert all(m["provenance"]["exchanges"] for m in metadata)
    assert any(e["kind"] == "screenshot" for m in metadata for e in m["events"]), "the plain capture's sealed event"

    result = subprocess.run([console_script("wacz"), "validate", "-f", str(tmp_path / "out.wacz")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(tmp_path / "out.wacz") as archive:
        lines = [json.loads(line) for line in archive.read("provenance/provenance.jsonl").decode().splitlines()]
        index = archive.read("indexes/index.cdx.gz")
    assert {line["url"] for line in lines} == {scripted, plain}
    import gzip

    assert b"urn:screenshot:" in gzip.decompress(index)


def test_reports_link_the_best_captures_screenshot_and_show_its_provenance(site, tmp_path, monkeypatch):
    import json

    from tests.conftest import make_cli

    cli = make_cli(tmp_path, monkeypatch)
    cli.config.write_text(cli.config.read_text().replace('render = "never"', 'render = "auto"')
                          .replace("screenshots = false", "screenshots = true"))
    url = site.set("/app", script_page(SENTENCES * 2, title="Scripted portal"))
    cli("add", url)
    assert cli("claim", "add", "The police platform was bought", "--id", "platform").exit_code == 0
    assert cli("cite", "platform", url, "--quote", "a command platform for the city police").exit_code == 0
    assert cli("run").exit_code == 0
    data = json.loads(cli("report", "platform", "--format", "json").output)
    citation = data["citations"][0]
    assert citation["quote_status"] == "present", "the quote is found in the rendered text"
    shots = citation["best_capture"]["screenshots"]
    assert len(shots) == 1 and shots[0]["path"] == f"screenshots/{shots[0]['sha256']}.png"

    (tmp_path / "out").mkdir()
    written = cli("report", "platform", "--format", "html", "-o", str(tmp_path / "out" / "report.html"))
    assert written.exit_code == 0, written.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert f'<img class="thumb" src="{shots[0]["path"]}"' in html and f'<a href="{shots[0]["path"]}">' in html
    assert "How capture 1 was collected" in html and "collected by: chromium" in html
    png = (tmp_path / "out" / shots[0]["path"]).read_bytes()
    import hashlib

    assert hashlib.sha256(png).hexdigest() == shots[0]["sha256"]
    markdown = cli("report", "platform").output
    assert f"]({shots[0]['path']})" in markdown


def test_a_noscript_notice_is_a_script_shell_and_a_plain_page_is_not():
    from archiver.rendering import looks_unrendered
    from archiver.verdict import Snapshot

    def snap(text, full_text=None):
        return Snapshot(requested_url="http://a/", final_url="http://a/", status=200, redirects=[], text=text,
                        full_text=full_text if full_text is not None else text, body_sha256=None, text_sha256=None,
                        error_kind=None, error=None, kind="html", title="Portal")

    shell = b"<html><body><div id=app></div><noscript>x</noscript><script src=app.js></script></body></html>"
    assert looks_unrendered(snap("You need to enable JavaScript to run this app."), shell, 40)
    assert looks_unrendered(snap("", "Portal\n请开启JavaScript以浏览本页"), shell, 40)
    assert looks_unrendered(snap("Short text."), shell, 40)
    article = "The ministry signed the agreement with the provincial government on Tuesday, officials said. " * 3
    assert looks_unrendered(snap(article), shell, 40) is None
    assert looks_unrendered(snap("Short text."), b"<html><body><p>Short text.</p></body></html>", 40) is None


def test_a_page_deleted_again_is_not_screenshotted_again(site, config):
    config.browser.screenshots = True
    url = site.set("/gone", "<html><head><title>Gone soon</title></head><body><article><p>"
                   + "A report on the provincial police platform. " * 4 + "</p></article></body></html>")
    sessions = open_database(config.database.url)
    track(sessions, url)
    run_pass(config, sessions)
    del site.pages["/gone"]
    run_pass(config, sessions, everything=True)
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        found = [(c.verdict, len(screenshots_for(session, c.id))) for c in session.scalars(select(Capture).order_by(Capture.id))]
    assert found == [("new", 1), ("deleted", 1), ("deleted", 0)]
