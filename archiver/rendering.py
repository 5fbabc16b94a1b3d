"""When a capture is rendered by a browser, and how a rendered capture is made.

A source is captured with a browser (archiver.browser) according to its render mode: the
source's own (`archiver add URL --render`, the `render` column of the CSV) or else
`[fetch] render`:

- "never": plain fetches only;
- "always": every capture is rendered;
- "auto" (the default): a capture is rendered when its plain fetch shows a script shell (an
  HTML page with no text besides its title, what the verdict calls a blank page, or whose only
  text is a short "please enable JavaScript" notice) or an empty article (less than
  `[verdict] min_body_chars` of main text on a page that runs scripts).
  When rendering finds the text, the site is remembered (table `render_sites`): its next pages
  are rendered straight away, without waiting for a blank plain fetch.

A rendered capture still starts with the plain fetch, which gives the raw body (stored as the
capture's body, as on any capture) and the full provenance of the server's answer (certificate
chain included). The browser then loads the page; its DOM, once scripts ran and the page was
scrolled to its bottom, is stored as the capture's `rendered` blob, and its text, extracted in
the extraction pool like any body, is the capture's text: verdicts, quote checks and diffs read
it exactly as they read a plain capture's. The provenance record lists the plain fetch's
requests, then the browser's. Whether the page is screenshotted is archiver.screenshots' rule.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from archiver.blobs import Packed
from archiver.models import RenderSite
from archiver.provenance import Provenance, plain_provenance
from archiver.store import sha256_hex
from archiver.verdict import Snapshot, is_blank_page

log = logging.getLogger(__name__)

RENDER_MODES = ("never", "auto", "always")


def check_mode(value: str | None, where: str = "render") -> str | None:
    """`value` as a render mode (None stays None); a clear error for anything else."""
    if value is None or value == "":
        return None
    mode = str(value).strip().lower()
    if mode not in RENDER_MODES:
        raise ValueError(f"{where} must be one of {', '.join(RENDER_MODES)}, not {value!r}")
    return mode


def site_of(url: str) -> str:
    """The site a URL belongs to, as render_sites names it: scheme://host[:port], lower case."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def remembered_sites(session: Session, urls: list[str]) -> set[str]:
    """Which of these URLs' sites are known to need rendering."""
    sites = sorted({site_of(url) for url in urls})
    found: set[str] = set()
    for start in range(0, len(sites), 500):
        found.update(session.scalars(select(RenderSite.site).where(RenderSite.site.in_(sites[start:start + 500]))))
    return found


def remember_sites(session: Session, learnt: dict[str, tuple[int, str]]) -> None:
    """Record sites found to need rendering: {site: (source id, why)}; known ones are kept as they are."""
    if not learnt:
        return
    known = set(session.scalars(select(RenderSite.site).where(RenderSite.site.in_(list(learnt)))))
    for site, (source_id, reason) in learnt.items():
        if site not in known:
            session.add(RenderSite(site=site, source_id=source_id, reason=reason))


# "Please enable JavaScript", "You need to enable JavaScript to run this app", 请开启/启用 JavaScript ...
_ASKS_FOR_SCRIPTS = re.compile(r"javascript|js\s*(?:is\s*)?(?:disabled|required)|启用\s*js|开启\s*js", re.IGNORECASE)
# A page whose whole visible text is a short "enable JavaScript" notice is a script shell.
SHELL_NOTICE_CHARS = 200


def looks_unrendered(snapshot: Snapshot, body: bytes | None, min_body_chars: int) -> str | None:
    """Why a plain capture looks like a page whose text needs scripts to appear, or None."""
    if snapshot.kind != "html" or snapshot.status is None or not 200 <= snapshot.status < 300:
        return None
    if is_blank_page(snapshot):
        return "its plain fetch shows no text at all, only scripts or markup (a script shell)"
    scripted = body is not None and b"<script" in body[:2_000_000].lower()
    if not scripted:
        return None
    if len(snapshot.text.strip()) < min_body_chars:
        return "its plain fetch shows an empty article on a page that runs scripts"
    shown = snapshot.full_text or snapshot.text
    if len(shown) <= SHELL_NOTICE_CHARS and _ASKS_FOR_SCRIPTS.search(shown):
        return "its plain fetch only asks for JavaScript (a script shell with a <noscript> notice)"
    return None


def rendered_provenance(plain_exchanges, user_agent: str | None, rendered, viewport: tuple[int, int]) -> Provenance:
    """The record of a rendered capture: the plain fetch's requests, then the browser's."""
    record = rendered.provenance(user_agent or "", viewport)
    record.exchanges = list(plain_exchanges) + record.exchanges
    return record


def browser_result(plain_fetch, rendered):
    """The plain fetch's result with the rendered DOM as its body: what the pool extracts and judges."""
    return dataclasses.replace(plain_fetch, body=rendered.dom.encode("utf-8"), content_type="text/html; charset=utf-8",
                               final_url=rendered.final_url or plain_fetch.final_url,
                               status=rendered.status or plain_fetch.status)


def dom_key(dom_blob: Packed | None, dom: bytes) -> str:
    """The SHA-256 the rendered DOM is stored under."""
    return dom_blob.sha256 if dom_blob is not None else sha256_hex(dom)


__all__ = ["RENDER_MODES", "browser_result", "check_mode", "dom_key", "looks_unrendered", "plain_provenance",
           "remember_sites", "remembered_sites", "rendered_provenance", "site_of"]
