"""The dashboard: claims at risk (from the evidence plugin), sources by state, the last passes,
the Wayback queue, and what changed since a chosen day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from archiver.history import recent_changes, recent_runs
from archiver.models import SOURCE_STATES
from archiver.sources import state_counts
from archiver.wayback_queue import queue_status
from archiver.web.pages import day_param, reading, render, start_of

DEFAULT_DAYS = 7


def dashboard(request: Request):
    """The first page: what needs attention now."""
    since = day_param(request, "since", date.today() - timedelta(days=DEFAULT_DAYS))
    with reading(request) as (session, db):
        panels = [panel for e in request.app.state.extensions if e.dashboard for panel in [e.dashboard(db)] if panel]
        counts = state_counts(db)
        changes, changed = recent_changes(db, start_of(since), limit=50)
        context: dict[str, Any] = {
            "panels": panels,
            "states": [(state, counts.get(state, 0)) for state in SOURCE_STATES],
            "total": sum(counts.values()),
            "runs": recent_runs(db, 8),
            "wayback": queue_status(session),
            "since": since,
            "changes": changes,
            "changed": changed,
        }
    return render(request, "dashboard.html", **context)


routes = [Route("/", dashboard)]
