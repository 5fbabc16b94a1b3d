"""Claims in the web interface: list and search them, open a claim's citation report (the
content of `archiver report --format html`), add, edit and delete claims and their citations,
and capture a claim's sources now. Every change goes through evidence.claims, as the CLI's."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from archiver.web.pages import int_param, reading, render
from archiver.web.security import checked_form
from evidence import EvidenceError

PAGE_SIZE = 50


def claims_list(request: Request):
    """Every claim, or those matching the search, a page at a time, with the form to add one."""
    from evidence.claims import claim_rows, count_claims

    text = request.query_params.get("q", "").strip() or None
    page = int_param(request, "page", 1, low=1)
    with reading(request) as (session, _db):
        rows = claim_rows(session, text=text, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        total = count_claims(session, text=text)
    return render(request, "evidence/claims.html", rows=rows, total=total, q=text or "", page=page,
                  pages=max(1, -(-total // PAGE_SIZE)), values={}, error=None)


def claim_page(request: Request, *, status_code: int = 200, error: str | None = None, values: dict | None = None):
    """A claim's citation report, with the forms that change the claim and its citations."""
    from evidence import render as report_render
    from evidence.claims import Target, citation_rows
    from evidence.report import claim_report

    claim_id = request.path_params["claim_id"]
    with reading(request) as (session, db):
        try:
            report = claim_report(db, claim_id)
        except EvidenceError as exc:
            raise HTTPException(404, str(exc)) from None
        citations = citation_rows(session, target=Target(claim_id=claim_id))
    return render(request, "evidence/claim.html", status_code=status_code, report=report,
                  report_html=report_render.report_section(report, heading="h2"), citations=citations,
                  error=error, values=values or {})


def _changed(request: Request, change, on_error):
    """Run `change(session)` in one transaction; EvidenceError (or a bad URL) shows `on_error(message)`."""
    from archiver.urls import InvalidURL

    def run():
        with request.app.state.sessions.begin() as session:
            return change(session)

    async def go():
        try:
            return await run_in_threadpool(run), None
        except (EvidenceError, InvalidURL, ValueError) as exc:
            return None, on_error(str(exc))

    return go()


def _fields(form, *names: str) -> dict:
    return {name: str(form.get(name) or "").strip() for name in names}


async def claim_add(request: Request):
    """Add a claim from the list page's form."""
    from evidence.claims import add_claim, parse_tags

    form = await checked_form(request)
    values = _fields(form, "text", "id", "tags")

    def change(session):
        claim, _created = add_claim(session, values["text"], claim_id=values["id"] or None,
                                    tags=parse_tags(values["tags"].split(";")))
        return claim.id

    def failed(message):
        return render(request, "evidence/claims.html", status_code=400, rows=[], total=0, q="", page=1, pages=1,
                      values=values, error=message)

    claim_id, error = await _changed(request, change, failed)
    return error or RedirectResponse(f"/claims/{claim_id}", 303)


async def claim_edit(request: Request):
    """Change a claim's text and tags."""
    from evidence.claims import edit_claim

    form = await checked_form(request)
    values = _fields(form, "text", "tags")
    claim_id = request.path_params["claim_id"]
    _done, error = await _changed(
        request, lambda session: edit_claim(session, claim_id, text=values["text"], tags=values["tags"].split(";")),
        lambda message: claim_page(request, status_code=400, error=message))
    return error or RedirectResponse(f"/claims/{claim_id}", 303)


async def claim_delete(request: Request):
    """Delete a claim (with its citations when the box is ticked)."""
    from evidence.claims import remove_claim

    form = await checked_form(request)
    claim_id = request.path_params["claim_id"]
    _done, error = await _changed(
        request, lambda session: remove_claim(session, claim_id, with_citations=form.get("with_citations") == "on"),
        lambda message: claim_page(request, status_code=400, error=message))
    return error or RedirectResponse("/claims", 303)


async def cite_add(request: Request):
    """Cite a URL for this claim, with its quote, access date and note (the URL is tracked if new)."""
    from evidence.claims import Target, cite

    form = await checked_form(request)
    values = _fields(form, "url", "quote", "accessed", "note")
    claim_id = request.path_params["claim_id"]
    _done, error = await _changed(
        request, lambda session: cite(session, Target(claim_id=claim_id), values["url"], quote=values["quote"] or None,
                                      accessed=values["accessed"] or None, note=values["note"] or None),
        lambda message: claim_page(request, status_code=400, error=message, values=values))
    return error or RedirectResponse(f"/claims/{claim_id}#citations", 303)


async def cite_edit(request: Request):
    """Change a citation's quote, access date or note ("" clears one); a new quote is checked again."""
    from evidence.claims import edit_citation

    form = await checked_form(request)
    values = _fields(form, "quote", "accessed", "note")
    claim_id, citation_id = request.path_params["claim_id"], request.path_params["citation_id"]
    _done, error = await _changed(request, lambda session: edit_citation(session, citation_id, **values),
                                  lambda message: claim_page(request, status_code=400, error=message))
    return error or RedirectResponse(f"/claims/{claim_id}#citations", 303)


async def cite_delete(request: Request):
    """Remove a citation (its source and captures stay)."""
    from evidence.claims import get_citation, remove_citations

    await checked_form(request)
    claim_id, citation_id = request.path_params["claim_id"], request.path_params["citation_id"]
    _done, error = await _changed(request, lambda session: remove_citations(session, [get_citation(session, citation_id)]),
                                  lambda message: claim_page(request, status_code=400, error=message))
    return error or RedirectResponse(f"/claims/{claim_id}#citations", 303)


async def claim_capture(request: Request):
    """Capture every source of this claim now; the job page follows it."""
    from evidence.report import claim_source_ids

    await checked_form(request)
    claim_id = request.path_params["claim_id"]
    with reading(request) as (_session, db):
        try:
            source_ids = claim_source_ids(db, claim_id)
        except EvidenceError as exc:
            raise HTTPException(404, str(exc)) from None
    if not source_ids:
        raise HTTPException(404, f"Claim {claim_id} cites no source.")
    job = request.app.state.jobs.submit(sorted(source_ids), f"the sources of claim {claim_id}")
    return RedirectResponse(f"/jobs/{job.id}", 303)


routes = [
    Route("/claims", claims_list),
    Route("/claims", claim_add, methods=["POST"]),
    Route("/claims/{claim_id:str}", claim_page),
    Route("/claims/{claim_id:str}/edit", claim_edit, methods=["POST"]),
    Route("/claims/{claim_id:str}/delete", claim_delete, methods=["POST"]),
    Route("/claims/{claim_id:str}/cite", cite_add, methods=["POST"]),
    Route("/claims/{claim_id:str}/citations/{citation_id:int}/edit", cite_edit, methods=["POST"]),
    Route("/claims/{claim_id:str}/citations/{citation_id:int}/delete", cite_delete, methods=["POST"]),
    Route("/claims/{claim_id:str}/capture", claim_capture, methods=["POST"]),
]
