"""Importing a bibliography CSV from the web interface (the same import as `archiver import FILE`)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from archiver.web.pages import render
from archiver.web.security import checked_form

MAX_UPLOAD = 20 * 1024 * 1024


def import_form(request: Request):
    """The upload form."""
    return render(request, "evidence/import.html", summary=None, error=None, name=None)


async def import_upload(request: Request):
    """Import the uploaded CSV: every good row is imported, each rejected row listed with its reason."""
    from archiver.vantages import names
    from evidence.csvio import CSVFileError, import_bytes

    form = await checked_form(request)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render(request, "evidence/import.html", status_code=400, summary=None, name=None,
                      error="Choose a CSV file to import.")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return render(request, "evidence/import.html", status_code=400, summary=None, name=upload.filename,
                      error=f"The file is larger than {MAX_UPLOAD // 2**20} MB: import it with `archiver import FILE`.")
    encoding = str(form.get("encoding") or "").strip() or None

    def run():
        with request.app.state.sessions.begin() as session:
            return import_bytes(session, data, encoding=encoding, vantages=names(request.app.state.config))

    try:
        summary = await run_in_threadpool(run)
    except CSVFileError as exc:
        return render(request, "evidence/import.html", status_code=400, summary=None, name=upload.filename, error=str(exc))
    return render(request, "evidence/import.html", status_code=400 if summary.all_rejected else 200, summary=summary,
                  name=upload.filename, error="Nothing imported: every row was rejected." if summary.all_rejected else None)


routes = [Route("/import", import_form), Route("/import", import_upload, methods=["POST"])]
