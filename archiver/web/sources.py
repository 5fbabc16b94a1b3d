"""The sources table: filtered by state, language, site, text and the plugins' filters (the
claims' tags), sorted by any column, a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.routing import Route

from archiver.models import SOURCE_STATES
from archiver.sources import SORTS, SourceQuery, find_sources, language_counts
from archiver.web.pages import int_param, reading, render

PAGE_SIZE = 50
FILTERS = ("state", "lang", "site", "q")


def _query(request: Request, plugin_filters: dict) -> tuple[SourceQuery, dict]:
    params = request.query_params
    chosen = {name: params.get(name, "").strip() for name in (*FILTERS, *plugin_filters)}
    sort = params.get("sort", "added")
    page = int_param(request, "page", 1, low=1)
    query = SourceQuery(
        state=chosen["state"] if chosen["state"] in SOURCE_STATES else None,
        lang=chosen["lang"] or None, site=chosen["site"] or None, text=chosen["q"] or None,
        extra=[where(chosen[name]) for name, (_label, where) in plugin_filters.items() if chosen[name]],
        sort=sort if sort in SORTS else "added", descending=params.get("dir") == "desc",
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )
    return query, {**chosen, "sort": query.sort, "dir": "desc" if query.descending else "asc", "page": page}


def _link(chosen: dict, **changes) -> str:
    """The address of the table with `changes` to the current choices (empty values left out)."""
    values = {**chosen, **changes}
    return "/sources?" + urlencode({k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)})


def sources_table(request: Request):
    """The sources table."""
    plugin_filters = {name: spec for e in request.app.state.extensions for name, spec in e.source_filters.items()}
    query, chosen = _query(request, plugin_filters)
    with reading(request) as (_session, db):
        rows, total = find_sources(db, query)
        languages = sorted(language_counts(db).items(), key=lambda item: -item[1])
    pages = max(1, -(-total // PAGE_SIZE))

    def sort_link(column: str) -> str:
        flip = "desc" if chosen["sort"] == column and chosen["dir"] == "asc" else "asc"
        return _link(chosen, sort=column, dir=flip, page=1)

    return render(request, "sources.html", rows=rows, total=total, chosen=chosen, states=SOURCE_STATES,
                  languages=languages, plugin_filters=plugin_filters, page=chosen["page"], pages=pages,
                  sort_link=sort_link, previous=_link(chosen, page=chosen["page"] - 1),
                  next=_link(chosen, page=chosen["page"] + 1), first=query.offset + 1)


routes = [Route("/sources", sources_table)]
