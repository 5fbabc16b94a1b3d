"""Signing in and out, when `[web] password` or `[web] token` is set."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from archiver.web.pages import render
from archiver.web.security import Gate, checked_form


def _text(value: object) -> str | None:
    """A form field's text (None for a file, or no field)."""
    return value if isinstance(value, str) else None


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


async def login(request: Request):
    """The sign-in form, and its answer."""
    web = request.app.state.config.web
    if request.method == "GET":
        return render(request, "login.html", next=_next(request.query_params.get("next")), failed=False)
    form = await checked_form(request)
    if Gate.password_ok(web, _text(form.get("password"))):
        csrf = request.session.get("csrf")
        request.session.clear()
        request.session.update({"signed_in": True, "csrf": csrf})
        return RedirectResponse(_next(_text(form.get("next"))), 303)
    return render(request, "login.html", status_code=401, next=_next(_text(form.get("next"))), failed=True)


async def logout(request: Request):
    """Forget this browser's session."""
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", 303)


routes = [Route("/login", login, methods=["GET", "POST"]), Route("/logout", logout, methods=["POST"])]
