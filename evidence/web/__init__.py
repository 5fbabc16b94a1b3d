"""The evidence package in the web interface (`archiver serve`): claims, their citations and
reports, the claims at risk on the dashboard, a source's citations on its page, the sources
table filtered by claim tag, and importing a bibliography CSV.

The archiver never imports this package: evidence.plugin's `web_extension` hook calls
`extension`, when the archiver's web application starts.
"""

from __future__ import annotations

from pathlib import Path

from archiver.web.extension import Panel, WebExtension

AT_RISK_SHOWN = 15


def dashboard_panel(db) -> Panel:
    """The claims at risk, first on the dashboard, with their text."""
    from evidence.report import claims_at_risk

    found = claims_at_risk(db)
    return Panel("evidence/at_risk.html", {"claims": found[:AT_RISK_SHOWN], "total": len(found)})


def source_panel(session, db, source_id: int) -> Panel | None:
    """What this source is cited for, on its page: each citation's claim, quote and quote status."""
    from evidence.claims import citation_rows
    from evidence.report import quote_status

    rows = citation_rows(session, source_id=source_id)
    for row in rows:
        row["status"] = quote_status(db, row["id"]) if row["quote"] else None
    return Panel("evidence/source_citations.html", {"citations": rows})


def tagged_sources_condition(tag: str) -> tuple[str, list]:
    """The sources cited by a claim with this tag (evidence.claims.tagged_sources_condition)."""
    from evidence.claims import tagged_sources_condition as condition

    return condition(tag)


def extension() -> WebExtension:
    """What the evidence package adds to the web interface."""
    from evidence.web import claims, imports

    return WebExtension(
        routes=[*claims.routes, *imports.routes],
        templates=Path(__file__).parent / "templates",
        nav=[("Claims", "/claims"), ("Import CSV", "/import")],
        add_links=[("Import a bibliography CSV", "/import"), ("Add a claim", "/claims#add")],
        dashboard=dashboard_panel,
        source_panel=source_panel,
        source_filters={"tag": ("Claim tag", tagged_sources_condition)},
    )
