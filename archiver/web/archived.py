"""An archived page viewed safely: the stored HTML, framed by the app, unable to run anything.

The stored body is served at /archived/{capture id} with a Content-Security-Policy that
- sandboxes it (`sandbox` with no allowances: no script, no form submission, no pop-ups, no
  top-level navigation, and an opaque origin that can never read this app's cookies or pages);
- lets it load nothing but its inline styles and data: images and fonts (the archive keeps a
  page's body, not its subresources, so a page never calls the live site or anyone else);
- lets only this app frame it.
The page around it (/capture/{id}/view) frames it in an <iframe sandbox>, and its own policy
(`frame-src 'self'`) keeps the frame from being navigated to any other site, a link clicked
inside included. The session cookie is SameSite=Strict and HttpOnly besides.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from archiver.web.pages import capture_or_404, reading, render, source_or_404

ARCHIVED_POLICY = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                   "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")
VIEWABLE = ("text/html", "application/xhtml+xml", "text/plain")


def _viewable(capture) -> str:
    """The media type to serve a capture's body as, or 404 when it is not a page to view."""
    media = (capture.content_type or "text/html").split(";", 1)[0].strip().lower()
    if not capture.body_sha256 or media not in VIEWABLE:
        raise HTTPException(404, f"Capture {capture.id} holds no page to view here: download its raw body.")
    return f"{media}; charset={capture.charset}" if capture.charset else media


def view_page(request: Request):
    """The app's page around the sandboxed frame."""
    with reading(request) as (session, _db):
        capture = capture_or_404(session, request.path_params["capture_id"])
        source = source_or_404(session, capture.source_id)
        _viewable(capture)
    return render(request, "view.html", capture=capture, source=source)


def archived_body(request: Request):
    """The stored body itself, under the archived-page policy."""
    from archiver.store import get_blob

    with reading(request) as (session, _db):
        capture = capture_or_404(session, request.path_params["capture_id"])
        media = _viewable(capture)
        body = get_blob(session, capture.body_sha256)
    headers = {"content-security-policy": ARCHIVED_POLICY, "x-frame-options": "SAMEORIGIN",
               "cross-origin-resource-policy": "same-origin", "referrer-policy": "no-referrer"}
    return Response(body, media_type=media, headers=headers)


routes = [Route("/capture/{capture_id:int}/view", view_page), Route("/archived/{capture_id:int}", archived_body)]
