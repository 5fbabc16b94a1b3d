"""Tracking sources and listing them: the rows `archiver status` shows."""

from __future__ import annotations

from datetime import timedelta

from archiver.db import open_database
from archiver.models import Source, utcnow
from archiver.readdb import Reader, connect
from archiver.sources import add_source, list_sources, state_counts, status_rows


def test_list_sources_in_the_order_added_filtered_and_limited(db_url):
    sessions = open_database(db_url)
    since = utcnow() - timedelta(days=3)
    with sessions.begin() as session:
        for i, state in enumerate(["unchanged", "deleted", "altered", "deleted"]):
            source, _ = add_source(session, f"https://www.gov.cn/zhengce/content_{i}.htm", lang="zh", title=f"通知 {i}")
            source.state, source.state_since, source.capture_count = state, since, i + 1
            if state == "deleted":
                source.state_reason, source.last_error = "status 404 (not found)", "页面不存在"
    with connect(db_url) as db:
        rows = list_sources(db)
        assert [r.url[-13:] for r in rows] == ["content_0.htm", "content_1.htm", "content_2.htm", "content_3.htm"]
        deleted = list_sources(db, state="deleted")
        assert [r.id for r in deleted] == [rows[1].id, rows[3].id]
        assert deleted[0].state_reason == "status 404 (not found)" and deleted[0].last_error == "页面不存在"
        assert deleted[0].state_since == since and deleted[0].state_since.tzinfo is not None
        assert deleted[0].captures == 2 and deleted[0].title == "通知 1" and deleted[0].lang == "zh"
        assert [r.id for r in list_sources(db, limit=2)] == [rows[0].id, rows[1].id]
        assert deleted[0].as_json()["state_since"] == since.isoformat()
        assert state_counts(db) == {"unchanged": 1, "deleted": 2, "altered": 1}
        problems_first = status_rows(db, None, 3, ("altered", "deleted"))
        assert [r.id for r in problems_first] == [rows[2].id, rows[1].id, rows[3].id]
    with sessions() as session:
        assert session.get(Source, rows[0].id).url == rows[0].url
        assert list_sources(Reader.of_session(session)) == rows
