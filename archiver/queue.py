"""Work claiming with leases, so several workers (processes or machines) share one database.

A worker claims a small batch of due sources by writing its name and a lease expiry on
them in one conditional UPDATE; another worker skips leased rows. While it works, the
worker renews its leases every third of the lease time, so a long batch is never taken
over, and it stores a capture only while it still holds the lease; a crashed worker's
leases simply run out. Leases held by dead processes on this machine are released at
once, so a run killed with Ctrl-C or SIGKILL is continued by the next run without waiting.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from archiver.models import Run, Source, utcnow


def worker_name() -> str:
    """A name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_local_owners(owners: Iterable[str | None]) -> list[str]:
    host = socket.gethostname()
    dead = []
    for owner in owners:
        if not owner:
            continue
        parts = owner.split(":")
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            dead.append(owner)
    return dead


def release_dead_leases(session: Session) -> int:
    """Free leases and close runs left behind by processes on this machine that no longer exist."""
    owners = set(session.scalars(select(Source.lease_owner).where(Source.lease_owner.is_not(None)).distinct()))
    dead = dead_local_owners(owners)
    freed = 0
    if dead:
        freed = cast(CursorResult, session.execute(
            update(Source).where(Source.lease_owner.in_(dead)).values(lease_owner=None, lease_expires_at=None)
        )).rowcount
    running = set(session.scalars(select(Run.worker).where(Run.status == "running", Run.worker.is_not(None))))
    dead_runs = dead_local_owners(running)
    if dead_runs:
        session.execute(
            update(Run)
            .where(Run.worker.in_(dead_runs), Run.status == "running")
            .values(status="interrupted", ended_at=utcnow(), error="the process running this pass stopped before it finished")
        )
    return freed


def _lease_free(now: datetime):
    return or_(Source.lease_owner.is_(None), Source.lease_expires_at < now)


def claim_sources(
    session: Session,
    worker: str,
    limit: int,
    lease_seconds: float,
    *,
    due_before: datetime | None = None,
    source_ids: list[int] | None = None,
) -> list[int]:
    """Lease up to `limit` due, unleased sources to `worker` and return their ids (commits).

    The UPDATE checks the whole condition again: between the SELECT and the UPDATE another
    worker may have captured a candidate (no longer due) or leased it.
    """
    now = utcnow()
    due_before = due_before or now
    condition = and_(Source.next_due_at <= due_before, _lease_free(now), Source.untracked_at.is_(None))
    if source_ids is not None:
        condition = and_(condition, Source.id.in_(source_ids))
    candidates = select(Source.id).where(condition).order_by(Source.next_due_at, Source.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        session.commit()
        return []
    session.execute(
        update(Source)
        .where(Source.id.in_(ids), condition)
        .values(lease_owner=worker, lease_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    claimed = list(session.scalars(select(Source.id).where(Source.id.in_(ids), Source.lease_owner == worker)))
    session.commit()
    return claimed


def renew_leases(session: Session, worker: str, source_ids: list[int], lease_seconds: float) -> int:
    """Push back the expiry of the leases this worker still holds (commits): a live worker keeps its work
    however long its batch takes, and only a dead one's leases run out.

    On PostgreSQL, rows locked by a transaction in progress (this worker storing those very
    sources) are skipped rather than waited for.
    """
    renewed = 0
    if source_ids:
        mine = and_(Source.id.in_(source_ids), Source.lease_owner == worker)
        if session.get_bind().dialect.name == "postgresql":
            mine = Source.id.in_(select(Source.id).where(mine).with_for_update(skip_locked=True))
        renewed = cast(CursorResult, session.execute(
            update(Source)
            .where(mine)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )).rowcount
    session.commit()
    return renewed


def hold_leases(session: Session, worker: str, source_ids: list[int], lease_seconds: float) -> set[int]:
    """The sources among `source_ids` this worker still leases, held for the rest of the transaction.

    The conditional UPDATE takes the rows (PostgreSQL) or the write lock (SQLite) first, so no
    other worker can claim them before the caller stores its captures and commits. Does not commit.
    """
    if not source_ids:
        return set()
    mine = and_(Source.id.in_(source_ids), Source.lease_owner == worker)
    session.execute(
        update(Source)
        .where(mine)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return set(session.scalars(select(Source.id).where(mine)))


def release_sources(session: Session, worker: str, source_ids: list[int]) -> None:
    """Give back leases on sources this worker claimed but did not capture (commits)."""
    if source_ids:
        session.execute(
            update(Source)
            .where(Source.id.in_(source_ids), Source.lease_owner == worker)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def make_all_due(session: Session, source_ids: list[int] | None = None) -> None:
    """Mark every tracked source (or the given ones) due now, for `archiver run --all`."""
    query = update(Source).where(Source.untracked_at.is_(None)).values(next_due_at=utcnow())
    if source_ids is not None:
        query = query.where(Source.id.in_(source_ids))
    session.execute(query.execution_options(synchronize_session=False))
    session.commit()
