"""What the archiver's notification digest needs from the evidence tables.

Called through the evidence plugin's hooks (evidence.plugin), so the archiver can name the
claims at risk without importing this package:
- `claims_for_sources`: the claims and data points that cite each source, with their quotes;
- `findings`: the quotes that went missing in a run, that is whose check against one of the
  run's captures is `missing` while the citation's check against the capture before was
  `present` (the checks themselves are recorded by evidence.checks during the pass).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from archiver.models import Capture
from archiver.readdb import chunks
from evidence import PRESENT_STATUSES
from evidence.models import Citation, Claim, DataPoint, QuoteCheck


def _citation_rows(session: Session, condition) -> list[tuple[Citation, Claim | None, DataPoint | None]]:
    point = aliased(DataPoint)
    direct = aliased(Claim)
    through_point = aliased(Claim)
    query = (
        select(Citation, direct, point, through_point)
        .outerjoin(point, Citation.datapoint_id == point.id)
        .outerjoin(direct, Citation.claim_id == direct.id)
        .outerjoin(through_point, point.claim_id == through_point.id)
        .where(condition)
        .order_by(Citation.source_id, Citation.id)
    )
    return [(citation, claim or via, dp) for citation, claim, dp, via in session.execute(query)]


def _describe(citation: Citation, claim: Claim | None, point: DataPoint | None) -> dict:
    return {
        "citation_id": citation.id,
        "claim": claim.id if claim else None,
        "claim_text": claim.text if claim else None,
        "datapoint": point.id if point else None,
        "datapoint_text": " · ".join(p for p in (point.entity, point.place, point.country) if p) if point else None,
        "quote": citation.quote,
        "accessed": citation.accessed,
        "note": citation.note,
    }


def claims_for_sources(session: Session, source_ids: list[int]) -> dict[int, list[dict]]:
    """Every citation of the given sources, with the claim (or the data point's claim) it supports."""
    cited: dict[int, list[dict]] = {}
    for chunk in chunks(sorted(set(source_ids))):
        for citation, claim, point in _citation_rows(session, Citation.source_id.in_(chunk)):
            cited.setdefault(citation.source_id, []).append(_describe(citation, claim, point))
    return cited


def findings(session: Session, run_id: int) -> list[dict]:
    """Quotes that went missing in this run: checked `missing` now, `present` at the check before."""
    checks = session.execute(
        select(QuoteCheck, Capture.source_id)
        .join(Capture, QuoteCheck.capture_id == Capture.id)
        .where(Capture.run_id == run_id, QuoteCheck.status == "missing")
        .order_by(QuoteCheck.id)
    ).all()
    found = []
    for check, source_id in checks:
        previous = session.scalar(
            select(QuoteCheck.status)
            .where(QuoteCheck.citation_id == check.citation_id, QuoteCheck.capture_id < check.capture_id)
            .order_by(QuoteCheck.capture_id.desc(), QuoteCheck.id.desc())
            .limit(1)
        )
        if previous not in PRESENT_STATUSES:
            continue
        rows = _citation_rows(session, Citation.id == check.citation_id)
        if not rows:
            continue
        citation, claim, point = rows[0]
        found.append(
            {"kind": "quote_missing", "source_id": source_id, "capture_id": check.capture_id, "detail": check.detail}
            | _describe(citation, claim, point)
        )
    return found
