"""The Starlette application of `archiver serve`: middleware, templates and every area's routes."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from archiver import dates, plugins
from archiver.config import Config
from archiver.web import archived, dashboard, login, search, source, sources, work
from archiver.web.jobs import CaptureJobs
from archiver.web.pages import render
from archiver.web.security import Gate, HostCheck, SecurityHeaders, csrf_token

HERE = Path(__file__).parent
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]
NAV = [("Dashboard", "/"), ("Sources", "/sources"), ("Search", "/search"), ("Add", "/add")]


def _templates(extensions: list) -> Jinja2Templates:
    folders = [HERE / "templates", *(e.templates for e in extensions if e.templates)]
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in folders]), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["when"] = lambda value: dates.when(value, utc=True)
    environment.filters["day"] = dates.day
    environment.globals["csrf_token"] = csrf_token
    environment.globals["nav"] = NAV + [link for e in extensions for link in e.nav]
    environment.globals["add_links"] = [link for e in extensions for link in e.add_links]
    return Jinja2Templates(env=environment)


async def _error(request: Request, exc: HTTPException):
    return render(request, "error.html", status_code=exc.status_code, status=exc.status_code, message=exc.detail)


def create_app(config: Config, *, sessions=None, allowed_hosts: list[str] | None = None,
               session_secret: str | None = None, jobs: CaptureJobs | None = None) -> Starlette:
    """The web interface on the archive of `config`.

    allowed_hosts: the Host headers answered (None: any; `archiver serve` on loopback passes the
    loopback names, so a web page elsewhere cannot reach it through DNS rebinding).
    session_secret: signs the session cookie ([web] session_secret, else a random one).
    jobs: the queue of "capture now" jobs (made here by default; stopped when the server stops)."""
    if sessions is None:
        from archiver.db import open_database

        sessions = open_database(config.database.url)
    extensions = plugins.web_extensions()
    secret = session_secret or config.web.session_secret or secrets.token_urlsafe(32)
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(HostCheck, names=allowed_hosts),
        Middleware(SessionMiddleware, secret_key=secret, session_cookie="archiver_session", same_site="strict",
                   https_only=True, max_age=14 * 24 * 3600),
        Middleware(Gate, web=config.web),
    ]
    routes = [*login.routes, *dashboard.routes, *sources.routes, *source.routes, *archived.routes, *work.routes, *search.routes,
              *(route for e in extensions for route in e.routes),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    jobs = jobs if jobs is not None else CaptureJobs(config, sessions)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await run_in_threadpool(jobs.close)

    handlers: dict[Any, Any] = {HTTPException: _error}  # Starlette types each handler for Exception
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.config = config
    app.state.sessions = sessions
    app.state.extensions = extensions
    app.state.templates = _templates(extensions)
    app.state.jobs = jobs
    return app
