"""Full-page screenshots: when they are taken, how they are stored, how to find them.

A capture that is new, altered, moved or deleted gets a full-page PNG screenshot (with
`[browser] screenshots = true`, the default); an unchanged or unreachable one does not, so the
nightly pass over unchanged pages starts no browser. `archiver screenshot URL` takes one now.

A screenshot is a blob like any other (SHA-256 named, zstd-compressed, re-hashed by `verify`)
and enters the hash chain in one of two ways:
- a rendered capture is screenshotted while the browser still shows the page it read: the
  screenshot is the capture's own `screenshot_sha256`, sealed with it;
- a plain capture is screenshotted after it is stored, beside the pass (the plain pipeline
  never waits for a browser): the screenshot is a sealed `screenshot` event of the chain
  (archiver.chain.append_event) naming the capture, the blob and when it was taken.

`screenshots_for(session, capture_id)` returns both kinds for a capture, oldest first: the
one function the CLI, the reports, the exports and a web interface use to find them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archiver.chain import append_event
from archiver.config import Config
from archiver.models import Capture, ChainEvent
from archiver.store import put_blob

SCREENSHOT_STATES = ("new", "altered", "moved", "deleted")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Screenshot:
    """One stored screenshot of a capture. `kind` is "capture" (sealed on the capture itself)
    or "event" (a sealed screenshot event, `event_id`)."""

    capture_id: int
    sha256: str
    kind: str
    taken_at: datetime | None
    url: str | None
    width: int | None = None
    height: int | None = None
    size: int | None = None
    event_id: int | None = None

    def as_json(self) -> dict:
        return {"capture_id": self.capture_id, "sha256": self.sha256, "kind": self.kind,
                "taken_at": self.taken_at.isoformat() if self.taken_at else None, "url": self.url,
                "width": self.width, "height": self.height, "size": self.size, "event_id": self.event_id}


def wants_screenshot(config: Config, state: str | None, forced: bool = False, before: str | None = None) -> bool:
    """Whether a capture judged `state` gets a screenshot, its source's state having been `before`:
    a new or altered capture does, and a moved or deleted one when its source was not already so
    (a page deleted for months is not screenshotted every night)."""
    if forced:
        return True
    if not config.browser.screenshots or state not in SCREENSHOT_STATES:
        return False
    return state in ("new", "altered") or state != before


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG image; ValueError when `data` is not one."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", data[16:24])


def store_screenshot(session: Session, capture_id: int, source_id: int, png: bytes, url: str,
                     final_url: str | None, taken_at: datetime) -> ChainEvent:
    """Store a screenshot taken after its capture was stored, as a blob and a sealed event."""
    width, height = png_size(png)
    key = put_blob(session, png)
    return append_event(session, "screenshot", source_id=source_id, capture_id=capture_id, payload={
        "sha256": key, "url": url, "final_url": final_url, "taken_at": taken_at.isoformat(),
        "width": width, "height": height, "size": len(png), "media_type": "image/png"})


def screenshots_for(session: Session, capture_id: int) -> list[Screenshot]:
    """Every screenshot of a capture: its own (a rendered capture's), then its screenshot events."""
    return screenshots_of(session, [capture_id]).get(capture_id, [])


def screenshots_of(session: Session, capture_ids: list[int]) -> dict[int, list[Screenshot]]:
    """screenshots_for many captures at once: {capture id: screenshots}, captures without any left out."""
    found: dict[int, list[Screenshot]] = {}
    ids = sorted(set(capture_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = session.execute(select(Capture.id, Capture.screenshot_sha256, Capture.ended_at, Capture.final_url,
                                      Capture.requested_url)
                               .where(Capture.id.in_(chunk), Capture.screenshot_sha256.is_not(None)))
        for capture_id, key, ended, final_url, requested in rows:
            found.setdefault(capture_id, []).append(
                Screenshot(capture_id, str(key), "capture", ended, final_url or requested))
        events = session.scalars(select(ChainEvent).where(ChainEvent.kind == "screenshot",
                                                          ChainEvent.capture_id.in_(chunk)).order_by(ChainEvent.id))
        for event in events:
            data = event.payload or {}
            taken = data.get("taken_at")
            if event.capture_id is None or not data.get("sha256"):
                continue
            found.setdefault(event.capture_id, []).append(Screenshot(
                event.capture_id, str(data["sha256"]), "event", datetime.fromisoformat(taken) if taken else event.created_at,
                data.get("final_url") or data.get("url"), data.get("width"), data.get("height"), data.get("size"),
                event.id))
    for shots in found.values():
        for shot in shots:
            if shot.kind == "capture" and shot.width is None:
                from archiver.store import get_blob

                png = get_blob(session, shot.sha256)
                shot.size = len(png)
                shot.width, shot.height = png_size(png)
    return found

