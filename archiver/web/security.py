"""Who may use the web interface, and what a page may do in a browser.

- Bound to a loopback address, the interface asks for nothing; on any other address
  `check_binding` refuses to start without `[web] password` or `[web] token`, and every
  page then asks for one (`Gate`).
- The session is a signed cookie (Starlette's SessionMiddleware): HttpOnly, Secure,
  SameSite=Strict. It holds whether the browser signed in and its CSRF token.
- Every form carries the CSRF token (`csrf_token`), and every POST is refused without it
  (`checked_form`); a POST whose Origin is another site is refused too.
- Every response says what the browser may load (`SecurityHeaders`): app pages load their own
  stylesheet and frame only their own archived-page views; no script at all.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archiver.config import WebConfig

APP_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
OPEN_PATHS = ("/login", "/static/")


class InsecureBinding(Exception):
    """The interface would listen beyond this machine with nobody asked to sign in."""


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or "localhost") is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, web: WebConfig) -> None:
    """Refuse to listen on a non-loopback address without a password or a token."""
    if not is_loopback(host) and not (web.password or web.token):
        raise InsecureBinding(
            f"refusing to listen on {host} without a password: anyone who can reach it could read and change "
            "the archive. Set [web] password or [web] token in the settings (or ARCHIVER_WEB_PASSWORD, "
            "ARCHIVER_WEB_TOKEN), or listen on 127.0.0.1 (the default)")


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use: every form sends it back."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is this session's and it comes from this site; 403 otherwise."""
    form = await request.form()
    expected = request.session.get("csrf")
    sent = form.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected) or not _same_origin(request):
        raise HTTPException(403, "This form has expired or did not come from this site: reload the page and try again.")
    return form


def _matches(given: str | None, secret: str) -> bool:
    return bool(secret) and isinstance(given, str) and hmac.compare_digest(given.encode(), secret.encode())


class Gate:
    """Signing in: none on loopback without a password or token; else a password form, or the
    token once in a link (?token=...), remembered in the session."""

    def __init__(self, app: ASGIApp, web: WebConfig) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.web.password or self.web.token):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = request.url.path
        if request.session.get("signed_in") or path.startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        if _matches(request.query_params.get("token"), self.web.token):
            request.session.clear()
            request.session["signed_in"] = True
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            response: Response = RedirectResponse(path + ("?" + urlencode(kept) if kept else ""), 303)
        elif request.method in ("GET", "HEAD"):
            response = RedirectResponse("/login?" + urlencode({"next": request.url.path}), 303)
        else:
            response = Response("Sign in first.", 401, media_type="text/plain")
        await response(scope, receive, send)

    @staticmethod
    def password_ok(web: WebConfig, given: str | None) -> bool:
        """Whether a password typed in the sign-in form is the configured password or token."""
        return _matches(given, web.password) or _matches(given, web.token)


def host_name(header: str) -> str | None:
    """The host name of a Host header, lower case and without port or IPv6 brackets; None when malformed."""
    try:
        return urlsplit("//" + header).hostname
    except ValueError:
        return None


class HostCheck:
    """Answers only requests addressed to one of `names` (400 otherwise): on loopback, a web page
    elsewhere cannot reach the interface through a DNS name rebound to 127.0.0.1. (Starlette's
    TrustedHostMiddleware cuts a Host header at its first colon, so "[::1]:8000" never matched.)"""

    def __init__(self, app: ASGIApp, names: list[str] | None) -> None:
        self.app = app
        self.names = None if names is None else {name.strip("[]").lower() for name in names}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.names is not None:
            header = Headers(scope=scope).get("host", "")
            if host_name(header) not in self.names:
                await Response("Unknown host: open the address `archiver serve` printed.", 400,
                               media_type="text/plain")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the app's Content-Security-Policy and the other protective headers to every
    response that does not set its own (the archived-page view sets a stricter one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", APP_POLICY.encode()))
                for name, value in HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
