"""What the archive did lately: the recent capture passes and the changes found since a day.

Plain SQL on an archiver.readdb.Reader, shared by `archiver runs` and the web dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from archiver.readdb import Reader, in_list, utc

# The captures that failed (an error recorded, no verdict, or the page unreachable) and those that
# found a change: the conditions of two partial indexes (migration 0009, archiver.models), written
# once so that the queries repeat them word for word and both databases use the indexes.
FAILED_CAPTURE = "error IS NOT NULL OR verdict IS NULL OR verdict = 'unreachable'"
CHANGED_CAPTURE = "verdict IN ('altered', 'moved', 'deleted')"


def recent_runs(db: Reader, limit: int = 20) -> list[dict]:
    """The newest `limit` passes, newest first: id, started_at, ended_at, status, worker,
    trigger, counts, errors (how many of its captures failed) and error."""
    rows = db.rows("SELECT id, started_at, ended_at, status, worker, trigger, counts, error"
                   " FROM runs ORDER BY id DESC LIMIT ?", [limit])
    errors: dict[int, int] = {}
    if rows:
        ids = [r[0] for r in rows]
        errors = dict(db.rows(f"SELECT run_id, count(*) FROM captures WHERE run_id IN {in_list(ids)} AND ({FAILED_CAPTURE})"
                              " GROUP BY run_id", ids))
    return [{"id": r[0], "started_at": utc(r[1]), "ended_at": utc(r[2]), "status": r[3], "worker": r[4],
             "trigger": r[5], "counts": db.json(r[6]) or {}, "errors": errors.get(r[0], 0), "error": r[7]}
            for r in rows]


@dataclass
class Change:
    """A capture that found a source altered, moved or deleted."""

    capture_id: int
    source_id: int
    url: str
    title: str | None
    captured_at: datetime
    verdict: str
    reason: str | None


def recent_changes(db: Reader, since: datetime, limit: int = 100) -> tuple[list[Change], int]:
    """The captures since `since` whose verdict is a change (altered, moved, deleted), newest first,
    at most `limit`, and how many there are in all. Read on the started_at index."""
    since = since.astimezone(UTC)
    where = f"c.started_at >= ? AND {CHANGED_CAPTURE}"
    params = [since.replace(tzinfo=None).isoformat(" ", "microseconds") if db.dialect == "sqlite" else since]
    rows = db.rows("SELECT c.id, c.source_id, s.url, s.title, c.started_at, c.verdict, c.verdict_reason"
                   f" FROM captures c JOIN sources s ON s.id = c.source_id WHERE {where}"
                   " ORDER BY c.started_at DESC, c.id DESC LIMIT ?", [*params, limit])
    [(total,)] = db.rows(f"SELECT count(*) FROM captures c WHERE {where}", params)
    return [Change(r[0], r[1], r[2], r[3], utc(r[4]), r[5], r[6]) for r in rows], total
