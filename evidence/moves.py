"""`archiver move-url OLD NEW`: correct a source's URL (a typo, a better address for the same page).

The old source and its captures stay as they are: they are the record of what OLD answered. The
old source is untracked, its reason naming NEW. Its citations move to NEW (tracked if it was
not), and their quote checks, which were made on OLD's captures, are made again on NEW's. A
citation NEW already has for the same claim or data point and quote is not doubled: the moved
one is merged into it (its access date and note fill what the other lacks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from archiver.sources import add_source, find_source
from archiver.tracking import untrack
from archiver.urls import InvalidURL
from evidence import EvidenceError
from evidence.checks import backfill_checks
from evidence.claims import Target, _drop_checks, check_url, find_citation
from evidence.models import Citation


@dataclass
class MoveResult:
    old_url: str
    new_url: str
    new_source_created: bool
    moved: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    quote_checks: int = 0

    def as_json(self) -> dict:
        return {"old_url": self.old_url, "new_url": self.new_url, "new_source_created": self.new_source_created,
                "citations_moved": self.moved, "citations_merged": self.merged, "quote_checks": self.quote_checks,
                "old_source": "untracked, captures kept"}


def move_url(session: Session, old_url: str, new_url: str, *, reason: str | None = None) -> MoveResult:
    """Move OLD's citations to NEW and untrack OLD (see the module notes)."""
    check_url(new_url)
    try:
        old = find_source(session, old_url)
    except InvalidURL as exc:
        raise EvidenceError(f"bad URL: {exc}") from None
    if old is None:
        raise EvidenceError(f"not tracked: {old_url}")
    new, created = add_source(session, new_url, lang=old.lang, title=old.title, publisher=old.publisher,
                              interval_hours=old.interval_hours)
    if new.id == old.id:
        raise EvidenceError(f"{old_url} and {new_url} are the same URL once normalised")
    if new.untracked_at is not None:
        raise EvidenceError(f"{new.url} is untracked: `archiver retrack` it first")
    result = MoveResult(old.url, new.url, created)
    citations = list(session.scalars(select(Citation).where(Citation.source_id == old.id).order_by(Citation.id)))
    _drop_checks(session, [c.id for c in citations])
    moved = []
    for citation in citations:
        target = Target(citation.claim_id, citation.datapoint_id)
        existing = find_citation(session, target, new.id, citation.quote)
        if existing is not None:
            for name in ("accessed", "note"):
                if getattr(existing, name) is None and getattr(citation, name) is not None:
                    setattr(existing, name, getattr(citation, name))
            session.delete(citation)
            result.merged.append(existing.id)
        else:
            citation.source_id = new.id
            moved.append(citation)
            result.moved.append(citation.id)
    session.flush()
    result.quote_checks = backfill_checks(session, moved)
    untrack(session, old, f"moved to {new.url}" + (f": {reason}" if reason else " (archiver move-url)"))
    return result
