"""Captures removed on purpose: the removal is a sealed purge event, `verify` passes and shows what
was removed, when and why; a removal without one is still a deletion. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from archiver.anchors import anchor_head
from archiver.capture import run_pass
from archiver.chain import add_captures, append_event
from archiver.custody import PurgeError, purge_captures, purge_source
from archiver.db import open_database
from archiver.integrity import verify_store
from archiver.models import Blob, Capture, ChainEvent, Source, WaybackJob
from evidence.models import QuoteCheck
from tests.test_anchors import anchored_store, verify
from tests.test_chain import make_capture
from tests.test_integrity import tamper
from tests.test_report import QUOTE, WITH_QUOTE, make_claim, page


@pytest.mark.parametrize("which", ["first", "last"])
def test_a_purged_source_leaves_a_chain_that_verifies_and_says_what_went(db_url, tmp_path, which):
    """The purged captures include the first capture of the chain, or its head, and anchored heads."""
    sessions, config, made = anchored_store(db_url, tmp_path)
    with sessions() as session:
        source_id = session.scalar(select(Capture.source_id).where(Capture.id == (made[0] if which == "first" else made[-1])))
        url = session.get(Source, source_id).url
        doomed = list(session.scalars(select(Capture.id).where(Capture.source_id == source_id)))
    with sessions.begin() as session:
        append_event(session, "wayback", source_id=source_id, capture_id=doomed[1], payload={"wayback_url": "u"})
        session.add(WaybackJob(source_id=source_id, capture_id=doomed[2], url=url, reason="new", status="pending"))
    with sessions.begin() as session:
        purged = purge_source(session, source_id, "a private intranet page, tracked by mistake", actor="analyst 3")
    assert purged.captures == doomed and len(purged.events) == 1
    assert purged.blobs == [], "the one body and text are shared with the other sources' captures"
    anchor_head(sessions, config, "purge")

    report = verify(sessions, config)
    assert report.ok, report.problems
    assert report.purged == len(doomed) + 1 and report.captures_checked == len(made) - len(doomed)
    assert report.anchors["checked"] == 8, "4 lines and their copies, the anchored purged captures among them"
    assert report.purges == [{
        "event_id": purged.event_id, "at": report.purges[0]["at"], "reason": "a private intranet page, tracked by mistake",
        "actor": "analyst 3", "source_url": url, "captures": len(doomed), "events": 1, "blobs": 0}]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.source_id == source_id)) == 0
        assert session.scalar(select(func.count()).select_from(WaybackJob)) == 0
        source = session.get(Source, source_id)
        assert (source.state, source.capture_count, source.last_capture_id) == ("pending", 0, None)
        event = session.get(ChainEvent, purged.event_id)
        assert event.kind == "purge" and [r["id"] for r in event.payload["removed"]][:len(doomed)] == doomed

    # ids of purged captures and events are never given again, and the chain goes on after the purge
    with sessions.begin() as session:
        source = session.scalars(select(Source).where(Source.id != source_id)).first()
        keys = session.execute(select(Capture.body_sha256, Capture.text_sha256).limit(1)).one()
        more = [make_capture(500 + i, source, *keys) for i in range(3)]
        add_captures(session, more)
        later = append_event(session, "wayback", capture_id=more[0].id, payload={"wayback_url": "v"})
        assert min(c.id for c in more) > made[-1] and later.id > purged.event_id
    anchor_head(sessions, config, "run")
    report = verify(sessions, config)
    assert report.ok, report.problems

    # a capture deleted without a purge event is still a deletion
    with sessions() as session:
        other = session.scalar(select(Capture.id).where(Capture.source_id != source_id).order_by(Capture.id).offset(5))
    tamper(db_url, "DELETE FROM captures WHERE id = :id", {"id": other})
    assert [p.kind for p in verify(sessions, config).problems] == ["chain_broken"]
    sessions.kw["bind"].dispose()


def test_a_purge_record_cannot_be_edited_to_hide_a_deletion(db_url, tmp_path):
    sessions, config, made = anchored_store(db_url, tmp_path, batches=(12,))
    with sessions.begin() as session:
        purged = purge_captures(session, made[3:5], "duplicate captures of a test page")
    assert verify(sessions, config).ok
    with sessions() as session:
        payload = session.get(ChainEvent, purged.event_id).payload
    payload["removed"].append({"element": "capture", "id": made[8], "record_hash": "x", "prev_hash": "y"})
    tamper(db_url, "UPDATE chain_events SET payload = :p WHERE id = :id", {"p": json.dumps(payload), "id": purged.event_id})
    tamper(db_url, "DELETE FROM captures WHERE id = :id", {"id": made[8]})
    kinds = [(p.kind, p.capture_id, p.event_id) for p in verify(sessions, config).problems]
    assert ("event_altered", None, purged.event_id) in kinds
    assert ("chain_broken", made[9], None) in kinds
    sessions.kw["bind"].dispose()


def test_purge_needs_a_reason_and_something_to_remove(sqlite_url, tmp_path):
    sessions, config, made = anchored_store(sqlite_url, tmp_path, batches=(4,))
    with sessions.begin() as session:
        with pytest.raises(PurgeError, match="needs a reason"):
            purge_captures(session, made[:1], "  ")
        with pytest.raises(PurgeError, match="nothing to purge"):
            purge_captures(session, [9999], "gone")
        with pytest.raises(PurgeError, match="no source with id"):
            purge_source(session, 9999, "gone")
    assert verify(sessions, config).ok
    sessions.kw["bind"].dispose()


def test_a_purge_takes_quote_checks_and_unshared_blobs_with_it(site, config, tmp_path):
    """Real captures of cited pages: their quote checks (the evidence package's rows) and the
    bodies no other capture uses go; a report of the claim no longer shows them."""
    sessions = open_database(config.database.url)
    url = site.set("/deal.html", page(WITH_QUOTE))
    keep = site.set("/other.html", page(WITH_QUOTE, title="另一篇 Another article"))
    make_claim(sessions, "deal", [(url, QUOTE), (keep, QUOTE)])
    run_pass(config, sessions, everything=True)
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        source_id = session.scalar(select(Source.id).where(Source.url == url))
        bodies = set(session.scalars(select(Capture.body_sha256).where(Capture.source_id == source_id)))
        assert session.scalar(select(func.count()).select_from(QuoteCheck)) == 4
    with sessions.begin() as session:
        purged = purge_source(session, source_id, "the publisher asked us to remove its page")
    assert bodies <= set(purged.blobs)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(QuoteCheck)) == 2
        assert session.scalar(select(func.count()).select_from(Blob).where(Blob.sha256.in_(purged.blobs))) == 0
        report = verify_store(session)
    assert report.ok, report.problems
    assert report.purged == 2 and report.purges[0]["blobs"] == len(purged.blobs)
    sessions.kw["bind"].dispose()
