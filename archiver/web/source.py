"""One source: its captures as a timeline, the comparison of any two side by side, and each
capture's provenance, extracted text, raw body and screenshot."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from archiver.compare import CompareError, compare
from archiver.events import capture_events, wayback_copies
from archiver.screenshots import screenshots_of
from archiver.sources import source_captures
from archiver.web.pages import capture_or_404, int_param, reading, render, source_or_404


def source_page(request: Request):
    """The source's facts, its plugins' panels (the citations), and its captures, newest first."""
    source_id = request.path_params["source_id"]
    with reading(request) as (session, db):
        source = source_or_404(session, source_id)
        captures = source_captures(session, source)
        copies = wayback_copies(db, [c.id for c in captures])
        panels = [panel for e in request.app.state.extensions if e.source_panel
                  for panel in [e.source_panel(session, db, source.id)] if panel]
        shots = screenshots_of(session, [c.id for c in captures])
    with_text = [c for c in captures if c.text_sha256]
    return render(request, "source.html", source=source, captures=list(reversed(captures)), copies=copies,
                  panels=panels, with_text=list(reversed(with_text)), shots=shots,
                  job=request.app.state.jobs.latest_for(source.id))


def compare_page(request: Request):
    """Two captures' main texts side by side, the removed and added words highlighted."""
    source_id = request.path_params["source_id"]
    from_id, to_id = int_param(request, "from"), int_param(request, "to")
    if from_id and to_id and from_id > to_id:
        from_id, to_id = to_id, from_id
    with reading(request) as (session, _db):
        source = source_or_404(session, source_id)
        try:
            found = compare(session, source, from_id, to_id)
        except CompareError as exc:
            raise HTTPException(404, str(exc)) from None
        shots = screenshots_of(session, [found.old.id, found.new.id]) if found else {}
    return render(request, "compare.html", source=source, found=found, shots=shots)


def capture_page(request: Request):
    """A capture's provenance: what was asked, what answered, how it was judged and sealed."""
    with reading(request) as (session, db):
        capture = capture_or_404(session, request.path_params["capture_id"])
        source = source_or_404(session, capture.source_id)
        events = capture_events(db, capture.id)
        copy = wayback_copies(db, [capture.id]).get(capture.id)
        shots = screenshots_of(session, [capture.id])
    return render(request, "capture.html", capture=capture, source=source, events=events, copy=copy, shots=shots)


def capture_text(request: Request):
    """The main text extracted from a capture, as plain text."""
    from archiver.store import get_text

    with reading(request) as (session, _db):
        capture = capture_or_404(session, request.path_params["capture_id"])
        if not capture.text_sha256:
            raise HTTPException(404, f"Capture {capture.id} has no extracted text.")
        text = get_text(session, capture.text_sha256)
    return Response(text, media_type="text/plain; charset=utf-8")


def capture_raw(request: Request):
    """The body as received, to download (never shown by the browser: a hostile page stays a file)."""
    from archiver.store import get_blob

    with reading(request) as (session, _db):
        capture = capture_or_404(session, request.path_params["capture_id"])
        if not capture.body_sha256:
            raise HTTPException(404, f"Capture {capture.id} stored no body.")
        body = get_blob(session, capture.body_sha256)
    name = f"capture-{capture.id}-{capture.body_sha256[:12]}.bin"
    return Response(body, media_type="application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{name}"',
                             "content-security-policy": "default-src 'none'; sandbox"})


def screenshot_image(request: Request):
    """One stored screenshot of a capture, as PNG."""
    from archiver.store import get_blob

    capture_id, sha256 = request.path_params["capture_id"], request.path_params["sha256"]
    with reading(request) as (session, _db):
        shots = screenshots_of(session, [capture_id]).get(capture_id, [])
        if sha256 not in {shot.sha256 for shot in shots}:
            raise HTTPException(404, f"Capture {capture_id} has no such screenshot.")
        png = get_blob(session, sha256)
    return Response(png, media_type="image/png", headers={"content-security-policy": "default-src 'none'; sandbox"})


routes = [
    Route("/source/{source_id:int}", source_page),
    Route("/source/{source_id:int}/compare", compare_page),
    Route("/capture/{capture_id:int}", capture_page),
    Route("/capture/{capture_id:int}/text", capture_text),
    Route("/capture/{capture_id:int}/raw", capture_raw),
    Route("/capture/{capture_id:int}/screenshot/{sha256:str}", screenshot_image),
]
