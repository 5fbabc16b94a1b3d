"""A real HTTP server on loopback for tests: serves byte-exact pages that tests can change between rounds."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    """What the server answers for one path: status, headers, body, and an optional delay."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    delay: float = 0.0
    chunk_delay: float = 0.0
    etag: str | None = None
    last_modified: str | None = None


def _not_modified_since(asked: str | None, last_modified: str) -> bool:
    """RFC 9110 If-Modified-Since, as common servers apply it: 304 when the page has not changed
    since the date asked about (the page's Last-Modified is not later than it)."""
    if not asked:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(asked)
    except (TypeError, ValueError):
        return asked == last_modified


class Site:
    """A loopback web site: `site.pages[path] = Page(...)`, `site.url(path)`, `site.requests` log."""

    def __init__(self, host: str = "127.0.0.1", tls=None) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def do_HEAD(self):
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                with site.lock:
                    site.requests.append({"path": self.path, "headers": dict(self.headers), "time": time.time(),
                                          "client": self.client_address})
                    page = site.pages.get(self.path) or site.pages.get(self.path.split("?")[0])
                if page is None:
                    page = site.pages.get("__default__") or Page(b"<html><body><h1>404 Not Found</h1></body></html>", status=404)
                if page.delay:
                    time.sleep(page.delay)
                if page.etag and self.headers.get("If-None-Match") in (page.etag, "*"):
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if page.last_modified and _not_modified_since(self.headers.get("If-Modified-Since"), page.last_modified):
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                if page.content_type:
                    self.send_header("Content-Type", page.content_type)
                if page.etag:
                    self.send_header("ETag", page.etag)
                if page.last_modified:
                    self.send_header("Last-Modified", page.last_modified)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                if head:
                    return
                try:
                    if page.chunk_delay:
                        for i in range(0, len(page.body), 1024):
                            self.wfile.write(page.body[i : i + 1024])
                            self.wfile.flush()
                            time.sleep(page.chunk_delay)
                    else:
                        self.wfile.write(page.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:  # an ssl.SSLContext (server side): the site speaks https
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> Site:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: bytes | str = b"", **kwargs) -> str:
        """Serve `body` at `path` (str bodies are UTF-8 encoded) and return the page's URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.pages[path] = Page(body=body, **kwargs)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 301) -> str:
        """Answer `path` with a redirect to `location` (a path on this site or a full URL)."""
        target = location if "://" in location else self.url(location)
        self.pages[path] = Page(status=status, headers={"Location": target}, content_type=None)
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)
