"""Reading chained events (archiver.chain.append_event writes them): what was learned about a
capture after it was sealed.

Kinds in use:
- "wayback": a Wayback Machine copy made of the page when it was captured (the Save Page Now
  queue, archiver.wayback_queue); payload `wayback_url`, `wayback_timestamp`, `original`,
  `job_id`, `reason`, `note`;
- "purge": captures removed on purpose, with what was removed, when and why (archiver.custody);
- "upgrade": the store was upgraded to a new record format (written by a migration);
- "screenshot": a full-page screenshot of a plain capture's page, taken after it was stored
  (archiver.screenshots); payload `sha256`, `url`, `final_url`, `taken_at`, `width`, `height`, `size`.

Plain SQL on an archiver.readdb.Reader, without SQLAlchemy: `archiver report` reads through here.
"""

from __future__ import annotations

from types import SimpleNamespace

from archiver.readdb import Reader, chunks, in_list

WAYBACK = "wayback"
PURGE = "purge"
UPGRADE = "upgrade"
SCREENSHOT = "screenshot"

# A captures row has a Wayback copy: recovered from the Wayback Machine (sealed on the capture),
# or a copy made of it later (a sealed "wayback" event about it).
HAS_WAYBACK_COPY = (
    "(captures.wayback_url IS NOT NULL OR EXISTS (SELECT 1 FROM chain_events"
    " WHERE chain_events.capture_id = captures.id AND chain_events.kind = 'wayback'))"
)


def wayback_copies(db: Reader, capture_ids) -> dict[int, tuple[str, str | None]]:
    """The newest Wayback copy made of each capture, from its "wayback" events: {capture id:
    (wayback URL, 14-digit timestamp)}; captures without one are left out."""
    found: dict[int, tuple[str, str | None]] = {}
    ids = sorted({i for i in capture_ids if i is not None})
    for chunk in chunks(ids):
        rows = db.rows(
            "SELECT chain_events.capture_id, chain_events.payload FROM chain_events"
            f" WHERE chain_events.kind = ? AND chain_events.capture_id IN {in_list(chunk)} ORDER BY chain_events.id",
            [WAYBACK, *chunk],
        )
        for capture_id, payload in rows:
            data = db.json(payload) or {}
            if data.get("wayback_url"):
                found[capture_id] = (data["wayback_url"], data.get("wayback_timestamp"))
    return found


def screenshot_keys(db: Reader, capture_ids) -> dict[int, list[str]]:
    """The SHA-256 of each capture's screenshots, oldest first: the capture's own (a rendered
    capture's), then its "screenshot" events. Captures without any are left out."""
    found: dict[int, list[str]] = {}
    ids = sorted({i for i in capture_ids if i is not None})
    for chunk in chunks(ids):
        for capture_id, key in db.rows(f"SELECT id, screenshot_sha256 FROM captures WHERE id IN {in_list(chunk)}"
                                       " AND screenshot_sha256 IS NOT NULL", chunk):
            found.setdefault(capture_id, []).append(key)
        rows = db.rows("SELECT capture_id, payload FROM chain_events WHERE kind = ?"
                       f" AND capture_id IN {in_list(chunk)} ORDER BY id", [SCREENSHOT, *chunk])
        for capture_id, payload in rows:
            key = (db.json(payload) or {}).get("sha256")
            if key:
                found.setdefault(capture_id, []).append(key)
    return found


def capture_events(db: Reader, capture_id: int) -> list[dict]:
    """The sealed events about one capture, oldest first, as exported: the sealed record and its hash."""
    rows = db.rows(
        "SELECT id, kind, source_id, capture_id, after_capture_id, created_at, payload, seal_version, prev_hash,"
        " record_hash FROM chain_events WHERE capture_id = ? ORDER BY id",
        [capture_id],
    )
    from archiver.chain import event_record
    from archiver.readdb import utc

    found = []
    for row in rows:
        event = SimpleNamespace(id=row[0], kind=row[1], source_id=row[2], capture_id=row[3], after_capture_id=row[4],
                     created_at=utc(row[5]), payload=db.json(row[6]), seal_version=row[7])
        found.append({"event_id": row[0], "kind": row[1], "record_hash": row[9], "prev_hash": row[8],
                      "sealed_record": event_record(event, row[8])})
    return found
