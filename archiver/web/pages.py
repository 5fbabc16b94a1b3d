"""What every page handler uses: a read of the database, a rendered template, query values.

Reads go through the library functions the CLI uses, on an archiver.readdb.Reader over the
request's SQLAlchemy session (so ORM and plain-SQL functions see the same transaction).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any, overload

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from archiver.readdb import Reader


@contextlib.contextmanager
def reading(request: Request) -> Iterator[tuple[Session, Reader]]:
    """An SQLAlchemy session and a Reader on its connection, for one page's reads."""
    with request.app.state.sessions() as session:
        yield session, Reader.of_session(session)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` rendered with `context` (every value escaped by Jinja2's autoescape)."""
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status_code)


@overload
def int_param(request: Request, name: str, default: int, *, low: int = 0, high: int = 10**9) -> int: ...
@overload
def int_param(request: Request, name: str, default: None = None, *, low: int = 0, high: int = 10**9) -> int | None: ...
def int_param(request: Request, name: str, default: int | None = None, *, low: int = 0, high: int = 10**9) -> int | None:
    """An integer query value, or 400 with a message people understand."""
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise HTTPException(400, f"{name} must be between {low} and {high}")
    return number


def day_param(request: Request, name: str, default: date) -> date:
    """A YYYY-MM-DD query value, or 400."""
    value = request.query_params.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a day written YYYY-MM-DD, not {value!r}") from None


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def source_or_404(session, source_id: int):
    """The source with this id, or 404."""
    from archiver.models import Source

    source = session.get(Source, source_id)
    if source is None:
        raise HTTPException(404, f"There is no source {source_id}.")
    return source


def capture_or_404(session, capture_id: int):
    """The capture with this id, or 404."""
    from archiver.models import Capture

    capture = session.get(Capture, capture_id)
    if capture is None:
        raise HTTPException(404, f"There is no capture {capture_id}.")
    return capture
