"""Adding work from the web interface: track a source, capture a source now, follow a capture job."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from archiver.sources import add_source, parse_interval
from archiver.urls import InvalidURL
from archiver.web.pages import reading, render, source_or_404
from archiver.web.security import checked_form

FIELDS = ("url", "lang", "title", "publisher", "interval")


def add_form(request: Request):
    """The form that adds a source, and the plugins' forms beside it (importing a CSV)."""
    return render(request, "add.html", values={}, error=None)


def _add(request: Request, values: dict, no_wayback: bool):
    hours = parse_interval(values["interval"] or None)
    with request.app.state.sessions.begin() as session:
        source, created = add_source(session, values["url"], lang=values["lang"] or None,
                                     title=values["title"] or None, publisher=values["publisher"] or None,
                                     interval_hours=hours, no_wayback=no_wayback or None)
        return source.id, created


async def add_submit(request: Request):
    """Track the URL of the form; back to the form with the reason when it cannot be."""
    from starlette.concurrency import run_in_threadpool

    form = await checked_form(request)
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    try:
        source_id, created = await run_in_threadpool(_add, request, values, form.get("no_wayback") == "on")
    except (InvalidURL, ValueError) as exc:
        return render(request, "add.html", status_code=400, values=values, error=str(exc))
    return RedirectResponse(f"/source/{source_id}?{'added' if created else 'known'}=1", 303)


async def capture_source(request: Request):
    """Queue a capture of one source now, and show its job."""
    await checked_form(request)
    with reading(request) as (session, _db):
        source = source_or_404(session, request.path_params["source_id"])
        label = source.title or source.url
    job = request.app.state.jobs.submit([source.id], label)
    return RedirectResponse(f"/jobs/{job.id}", 303)


def job_page(request: Request):
    """A capture job's progress, refreshed every two seconds until it ends, then its outcome."""
    job = request.app.state.jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, "There is no such capture job (jobs are forgotten when the server restarts).")
    return render(request, "job.html", job=job)


routes = [
    Route("/add", add_form),
    Route("/add", add_submit, methods=["POST"]),
    Route("/source/{source_id:int}/capture", capture_source, methods=["POST"]),
    Route("/jobs/{job_id:int}", job_page),
]
