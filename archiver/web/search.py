"""Search across the text of every capture, deleted pages included: the same search as
`archiver search QUERY` (archiver.search), a page of hits at a time, each with its passage."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from archiver.web.pages import int_param, reading, render

PAGE_SIZE = 20


def search_page(request: Request):
    """The search form, and the hits of the query: the passage with the matched words marked,
    the source, and the first and last capture that said it."""
    from archiver.search import QueryError, count_hits, search_captures, unindexed_upto

    query = request.query_params.get("q", "").strip()
    page = int_param(request, "page", 1, low=1)
    hits, total, error, backlog = [], 0, None, None
    with reading(request) as (session, _db):
        backlog = unindexed_upto(session)
        if query:
            try:
                hits = search_captures(session, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
                total = count_hits(session, query)
            except QueryError as exc:
                error = str(exc)
    return render(request, "search.html", status_code=400 if error else 200, q=query, hits=hits, total=total,
                  error=error, backlog=backlog, page=page, pages=max(1, -(-total // PAGE_SIZE)))


routes = [Route("/search", search_page)]
