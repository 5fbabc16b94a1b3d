"""Pages as a person sees them: a real browser (Chromium, driven by Playwright) for one pass.

A growing share of cited pages (company sites, state-media apps, portals behind script checks)
only show their text once JavaScript runs, and investigators are asked for the page as it
appeared. `Browser` renders such pages and takes full-page screenshots, beside the plain
pipeline:

- one Chromium is started for a whole pass, and only when a page first needs it: a pass
  that renders nothing and takes no screenshot starts no browser;
- at most `[browser] concurrency` pages at once, each in its own browser context (no cookie,
  cache or storage shared between two pages), closed when the page is done;
- a hard time limit per page (`page_timeout`) over everything: loading, scrolling, the
  screenshot;
- the private-address guard of archiver.fetch on every request the browser makes: the page,
  its subresources, and each hop of every redirect. Playwright's own `route()` does not see
  redirect hops, so the guard pauses each request through the DevTools protocol's Fetch
  domain, resolves its host and refuses it (the page is told the request failed) when an
  address is not public, unless `[fetch] allow_private_addresses` is set. Service workers are
  blocked, and iframes of other sites run in the page's own process, so that their requests
  pass the same guard;
- before the DOM is read and the screenshot taken, the page is scrolled to its bottom, so that
  content loaded as one scrolls is there; nothing on the page is clicked.

Chromium is the system's (`[browser] executable`, else `chromium` on PATH), launched with
flags that keep it from reaching anything but the page (no background networking, no
component updates, no sync) and with a fresh profile each time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from archiver.config import Config
from archiver.fetch import classify_address
from archiver.provenance import Exchange, Provenance, Tls, software_versions

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    # Cross-site iframes in the page's process: the guard, attached to the page, sees their requests.
    "--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process",
)
# Scroll to the bottom in steps until the page stops growing (lazy loading), at most this many steps.
SCROLL_STEPS = 40
SCROLL_PAUSE_MS = 100
_SCROLL = """async ([steps, pause]) => {
  let last = -1;
  for (let i = 0; i < steps; i++) {
    window.scrollTo(0, document.documentElement.scrollHeight);
    await new Promise(r => setTimeout(r, pause));
    const height = document.documentElement.scrollHeight;
    if (height === last) break;
    last = height;
  }
  window.scrollTo(0, 0);
}"""


@contextmanager
def _signals_held():
    """Start child processes with SIGINT and SIGTERM blocked, as the extraction workers ignore
    them: Ctrl-C and `systemctl stop` signal the whole process group, and it is the pass that
    decides what to finish (archiver.stopping), then closes the browser itself. The children keep
    the blocked mask across exec; a signal sent to this process meanwhile waits and is delivered
    when the mask is restored, never lost."""
    held = {signal.SIGINT, signal.SIGTERM}
    saved = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved)


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is not installed, or Chromium would not start."""


@dataclass
class Rendered:
    """A page as the browser showed it. `error` says why it could not be rendered (then the
    rest may be empty); `blocked` lists the requests the guard refused, with the reason."""

    url: str
    final_url: str | None = None
    status: int | None = None
    dom: str = ""
    title: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    browser_version: str | None = None

    def provenance(self, user_agent: str, viewport: tuple[int, int]) -> Provenance:
        """The collection record of this rendering."""
        return Provenance(
            agent="chromium", user_agent=user_agent,
            software=software_versions(chromium=self.browser_version or "unknown"),
            exchanges=list(self.exchanges),
            browser={"viewport": f"{viewport[0]}x{viewport[1]}", "scrolled_to_bottom": True,
                     "blocked_requests": len(self.blocked)},
            extra={"blocked": [[url, why] for url, why in self.blocked]} if self.blocked else {},
        )


def find_chromium(configured: str = "") -> str:
    """The Chromium executable to launch: `configured` when set, else chromium on PATH."""
    if configured:
        path = shutil.which(configured)
        if path is None:
            raise BrowserUnavailable(f"[browser] executable = {configured!r} is not an executable file")
        return path
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable("no Chromium found: install it (Debian: apt install chromium fonts-noto-cjk) "
                             "or set [browser] executable")


class Guard:
    """Refuses browser requests to non-public addresses: the rule archiver.fetch applies to plain fetches."""

    def __init__(self, allow_private: bool, policy: Callable[[str], str | None]) -> None:
        self.allow_private = allow_private
        self.policy = policy
        self._verdicts: dict[str, str | None] = {}

    async def refusal(self, url: str) -> str | None:
        """Why `url` must not be requested, or None."""
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return None
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return f"only http and https addresses are requested, not {parts.scheme}:"
        if self.allow_private:
            return None
        host = (parts.hostname or "").lower()
        if host not in self._verdicts:
            self._verdicts[host] = await self._judge(host, parts.port or (443 if parts.scheme in ("https", "wss") else 80))
        return self._verdicts[host]

    async def _judge(self, host: str, port: int) -> str | None:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                return f"could not find the address of {host} ({exc})"
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            problem = self.policy(address)
            if problem:
                return f"{host} is {problem}" if address == host else f"{host} resolves to {address}, {problem}"
        return None


class Page:
    """An open, rendered page: its `rendered` record, and `screenshot()` while it is open."""

    def __init__(self, page, rendered: Rendered, max_height: int = 20000) -> None:
        self._page = page
        self.rendered = rendered
        self.max_height = max_height

    async def screenshot(self) -> bytes | None:
        """A full-page PNG of the page as shown (down to `max_height` pixels), or None when the
        page could not be rendered."""
        if self._page is None or self.rendered.error:
            return None
        try:
            height = await self._page.evaluate("document.documentElement.scrollHeight")
            if isinstance(height, (int, float)) and height > self.max_height:
                width = self._page.viewport_size["width"] if self._page.viewport_size else 1280
                return await self._page.screenshot(full_page=True, type="png", animations="disabled",
                                                   clip={"x": 0, "y": 0, "width": width, "height": self.max_height})
            return await self._page.screenshot(full_page=True, type="png", animations="disabled")
        except Exception as exc:  # the page crashed, the browser went away
            self.rendered.error_kind = "browser"
            self.rendered.error = f"the screenshot failed: {_first_line(exc)}"
            return None


class Browser:
    """One Chromium for a pass, started on first use: `async with Browser(config) as browser`,
    then `async with browser.open(url) as page`. `started` says whether it ever ran."""

    def __init__(self, config: Config, *, address_policy: Callable[[str], str | None] = classify_address) -> None:
        self.config = config
        self.address_policy = address_policy
        self.slots = asyncio.Semaphore(max(1, config.browser.concurrency))
        self.started = False
        self._lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop Chromium and the Playwright driver, if they were started."""
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        try:
            if browser is not None:
                await browser.close()
        finally:
            if playwright is not None:
                await playwright.stop()

    async def _launch(self):
        async with self._lock:
            if self._browser is not None:
                return self._browser
            try:
                from playwright.async_api import async_playwright
            except ImportError as exc:
                raise BrowserUnavailable(f"Playwright is not installed ({exc})") from None
            executable = find_chromium(self.config.browser.executable)
            with _signals_held():
                self._playwright = await async_playwright().start()
            try:
                self._browser = await self._playwright.chromium.launch(
                    executable_path=executable, args=list(CHROMIUM_FLAGS), timeout=60_000,
                    handle_sigint=False, handle_sigterm=False, handle_sighup=False)
            except Exception as exc:
                await self._playwright.stop()
                self._playwright = None
                raise BrowserUnavailable(f"Chromium ({executable}) would not start: {exc}") from None
            self.started = True
            log.info("started Chromium %s for this pass", self._browser.version)
            return self._browser

    @asynccontextmanager
    async def open(self, url: str) -> AsyncIterator[Page]:
        """Render `url` in a fresh context (after scrolling to its bottom) and yield it as a Page;
        never raises for a page that fails: `page.rendered.error` says why. The context is closed
        on leaving. `page_timeout` bounds the whole visit, the caller's work with the open page
        included: past it, that work is abandoned, the block is left, and `rendered.error` says so."""
        settings = self.config.browser
        async with self.slots:
            rendered = Rendered(url=url)
            context = None
            yielded = False
            try:
                async with asyncio.timeout(settings.page_timeout):
                    try:
                        browser = await self._launch()
                        rendered.browser_version = browser.version
                        context = await browser.new_context(
                            user_agent=self.config.fetch.user_agent, service_workers="block", accept_downloads=False,
                            viewport={"width": settings.viewport_width, "height": settings.viewport_height},
                            extra_http_headers={"Accept-Language": self.config.fetch.accept_language})
                        page = await context.new_page()
                        await self._guard(context, page, rendered)
                        await self._visit(page, rendered)
                    except BrowserUnavailable as exc:
                        rendered.error_kind, rendered.error = "browser", str(exc)
                    except (TimeoutError, asyncio.CancelledError):
                        raise
                    except Exception as exc:  # Chromium or its driver died: this page fails, not the pass
                        log.warning("the browser failed on %s: %r", url, exc)
                        rendered.error_kind = "browser"
                        rendered.error = f"the browser failed: {_first_line(exc)}"
                    yielded = True
                    yield Page(None if rendered.error else page, rendered, settings.max_screenshot_height)
            except TimeoutError:
                rendered.error_kind = "timeout"
                rendered.error = f"the browser gave up after {settings.page_timeout:g} s (the time limit for one page)"
                if not yielded:
                    yield Page(None, rendered)
            finally:
                rendered.ended_at = datetime.now(UTC)
                if context is not None:
                    try:
                        await context.close()
                    except Exception:
                        log.debug("closing a browser context failed", exc_info=True)

    async def _guard(self, context, page, rendered: Rendered) -> None:
        guard = Guard(self.config.fetch.allow_private_addresses, self.address_policy)
        session = await context.new_cdp_session(page)

        async def decide(event: dict) -> None:
            url = event["request"]["url"]
            try:
                why = await guard.refusal(url)
                if why:
                    rendered.blocked.append((url, why))
                    await session.send("Fetch.failRequest", {"requestId": event["requestId"],
                                                             "errorReason": "BlockedByClient"})
                else:
                    await session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
            except Exception:  # the page or its context closed meanwhile
                log.debug("the guard could not answer for %s", url, exc_info=True)

        session.on("Fetch.requestPaused", lambda event: asyncio.ensure_future(decide(event)))
        await session.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})

    async def _visit(self, page, rendered: Rendered) -> None:
        settings = self.config.browser
        rendered.started_at = datetime.now(UTC)
        try:
            response = await page.goto(rendered.url, wait_until="load", timeout=settings.page_timeout * 1000)
        except Exception as exc:
            refused = next((why for url, why in rendered.blocked if url == rendered.url or url == page.url), None)
            if refused or rendered.blocked and "ERR_BLOCKED_BY_CLIENT" in str(exc):
                rendered.error_kind = "private_address"
                rendered.error = f"refused to load {rendered.blocked[-1][0]}: {refused or rendered.blocked[-1][1]}"
            else:
                rendered.error_kind = "browser"
                rendered.error = f"the browser could not load the page: {str(exc).splitlines()[0]}"
            return
        try:
            await page.wait_for_load_state("networkidle", timeout=settings.settle_seconds * 1000)
        except Exception:
            pass  # a page that keeps polling is read as it stands
        await page.evaluate(_SCROLL, [SCROLL_STEPS, SCROLL_PAUSE_MS])
        try:
            await page.wait_for_load_state("networkidle", timeout=settings.settle_seconds * 1000)
        except Exception:
            pass
        rendered.final_url = page.url
        rendered.status = response.status if response is not None else None
        rendered.dom = await page.content()
        rendered.title = await page.title()
        if response is not None:
            rendered.exchanges = await _document_chain(response)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def _document_chain(response) -> list[Exchange]:
    """The main document's requests, redirects first, as provenance exchanges."""
    requests = []
    request = response.request
    while request is not None:
        requests.append(request)
        request = request.redirected_from
    exchanges = []
    for request in reversed(requests):
        answer = await request.response()
        sent = [[k, v] for k, v in (await request.all_headers()).items()]
        if answer is None:
            exchanges.append(Exchange(url=request.url, status=None, server_ip=None, http_version=None,
                                      request_headers=sent, response_headers=[], client="chromium"))
            continue
        address = await answer.server_addr()
        security = await answer.security_details()
        tls = Tls(version=security.get("protocol"), cipher=None,
                  details={k: security[k] for k in ("subjectName", "issuer", "validFrom", "validTo") if k in security}
                  ) if security else None
        exchanges.append(Exchange(
            url=request.url, status=answer.status, server_ip=address["ipAddress"] if address else None,
            http_version=None, request_headers=sent,
            response_headers=[[h["name"], h["value"]] for h in await answer.headers_array()], tls=tls,
            client="chromium"))
    return exchanges
