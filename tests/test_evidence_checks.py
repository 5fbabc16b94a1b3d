"""Quote checks recorded by the evidence plugin during real capture passes over loopback pages."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from archiver.capture import run_pass
from archiver.db import open_database
from archiver.models import Capture, Source
from archiver.store import get_text
from evidence.checks import backfill_checks, record_checks_many
from evidence.claims import Target, add_claim, cite
from evidence.models import Citation, QuoteCheck

EN = """<html><head><title>Camera deal</title></head><body><nav><a href="/">Home</a></nav><article>
<h1>Camera deal signed</h1>
<p>The bureau said on Friday that the contract covers the installation of {n} high-definition cameras across the
four districts of the city, linked to a central command platform run by the police.</p>
<p>The deal is worth 86 million yuan according to a procurement notice published by the city government.</p>
<p>Civil liberties groups asked the city to publish the rules that govern how the footage is stored.</p>
</article></body></html>"""

ZH = """<html><head><meta charset="gbk"><title>视频监控建设项目公告</title></head><body><div class="article">
<h1>视频监控建设项目公告</h1>
<p>项目由示例视觉科技有限公司承建，在全市四个城区的主要路口、交通枢纽和居民小区共安装高清摄像头1200台，并接入市公安局指挥平台。</p>
<p>项目总投资8600万元，计划于2019年12月底前完成建设并投入使用。项目建成后，将实现重点区域视频监控全覆盖。</p>
</div></body></html>"""


@pytest.fixture
def sessions(config, db_url):
    """Sessions on SQLite, and on PostgreSQL too when ARCHIVER_TEST_DATABASE_URL is set."""
    config.database.url = db_url
    return open_database(db_url)


def cite_now(sessions, url: str, quote: str, claim_id: str = "c1") -> int:
    with sessions.begin() as session:
        add_claim(session, "A claim about cameras", claim_id=claim_id)
        return cite(session, Target(claim_id=claim_id), url, quote=quote).citation.id


def checks(sessions, citation_id: int) -> list[tuple[str, str | None, str]]:
    with sessions() as session:
        rows = session.execute(
            select(QuoteCheck.status, QuoteCheck.closest, QuoteCheck.detail, Capture.verdict)
            .join(Capture, Capture.id == QuoteCheck.capture_id)
            .where(QuoteCheck.citation_id == citation_id)
            .order_by(Capture.id)
        ).all()
    return [tuple(r) for r in rows]


def test_an_edited_number_turns_the_quote_missing_and_keeps_the_history(site, config, sessions):
    url = site.set("/deal.html", EN.format(n="1,200"))
    citation = cite_now(sessions, url, "the contract covers the installation of 1,200 high-definition cameras")
    run_pass(config, sessions, everything=True)
    site.set("/deal.html", EN.format(n="1,800"))
    run_pass(config, sessions, everything=True)
    history = checks(sessions, citation)
    assert [(status, verdict) for status, _, _, verdict in history] == [("present", "new"), ("missing", "altered")]
    assert history[1][1] == "the contract covers the installation of 1,800 high-definition cameras"
    assert "'1,200' -> '1,800'" in history[1][2]


def test_a_deleted_page_records_missing_and_an_unreachable_one_records_nothing(site, config, sessions):
    gone = site.set("/gone.html", EN.format(n="1,200"))
    down = site.set("/down.html", EN.format(n="1,200"))
    a = cite_now(sessions, gone, "installation of 1,200 high-definition cameras")
    b = cite_now(sessions, down, "installation of 1,200 high-definition cameras")
    run_pass(config, sessions, everything=True)
    site.set("/gone.html", "<html><body><h1>404 Not Found</h1></body></html>", status=404)
    site.set("/down.html", "<html><body>Service unavailable</body></html>", status=503)
    run_pass(config, sessions, everything=True)
    deleted = checks(sessions, a)
    assert [(s, v) for s, _, _, v in deleted] == [("present", "new"), ("missing", "deleted")]
    assert deleted[1][2].startswith("the page is deleted: status 404")
    assert [(s, v) for s, _, _, v in checks(sessions, b)] == [("present", "new")]


def test_a_gbk_page_matches_a_quote_despite_punctuation_and_spacing(site, config, sessions):
    url = site.set("/zh.html", ZH.encode("gbk"), content_type="text/html")
    citation = cite_now(sessions, url, "主要路口、交通枢纽和居民小区 共安装高清摄像头 1200 台")
    run_pass(config, sessions, everything=True)
    assert [s for s, *_ in checks(sessions, citation)] == ["present"]


def test_citations_without_a_quote_get_no_checks(site, config, sessions):
    url = site.set("/deal.html", EN.format(n="1,200"))
    citation = cite_now(sessions, url, "")
    run_pass(config, sessions, everything=True)
    assert checks(sessions, citation) == []


def test_backfill_checks_a_late_citation_against_every_earlier_capture_once(site, config, sessions):
    url = site.set("/deal.html", EN.format(n="1,200"))
    cite_now(sessions, url, "covers the installation", claim_id="early")
    run_pass(config, sessions, everything=True)
    site.set("/deal.html", EN.format(n="1,800"))
    run_pass(config, sessions, everything=True)
    site.set("/deal.html", "", status=404)
    run_pass(config, sessions, everything=True)
    late = cite_now(sessions, url, "installation of 1,200 high-definition cameras", claim_id="late")
    assert [(s, v) for s, _, _, v in checks(sessions, late)] == [
        ("present", "new"), ("missing", "altered"), ("missing", "deleted"),
    ]
    with sessions.begin() as session:
        assert backfill_checks(session, [session.get(Citation, late)]) == 0


def test_a_batch_of_captures_looks_up_its_citations_in_one_query(site, config, sessions):
    """A pass stores captures in batches; the quote checks of a batch ask for its citations once."""
    urls = [site.set(f"/deal{i}.html", EN.format(n=f"{i + 1},000")) for i in range(12)]
    cited = {}
    for i, url in enumerate(urls[:8]):
        cited[url] = cite_now(sessions, url, f"installation of {i + 1},000 high-definition cameras", claim_id=f"c{i}")
    run_pass(config, sessions, everything=True)
    assert all([c[0] for c in checks(sessions, cid)] == ["present"] for cid in cited.values())

    with sessions() as session:
        sources = session.scalars(select(Source).order_by(Source.id)).all()
        stored = []
        for source in sources:
            capture = session.get(Capture, source.last_capture_id)
            stored.append((source, capture, get_text(session, capture.text_sha256)))
        statements = []
        engine = session.get_bind()
        listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            rows = record_checks_many(session, stored)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len([s for s in statements if "FROM citations" in s]) == 1
        assert sorted(row.citation_id for row in rows) == sorted(cited.values())
        assert {row.status for row in rows} == {"present"}
        session.rollback()


BLOG = """<html><head><title>Field notes</title></head><body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<div class="post"><h2>Visit to the data centre</h2>
<p>We visited the new data centre on the edge of the city last week, where the operator showed us the halls.</p>
<p>The operator said the first phase holds 3,000 racks and draws its power from the new substation nearby.</p>
<p>A second phase is planned for next year, subject to approval by the provincial development commission.</p>
<p>Local residents told us they had not been consulted about the noise from the cooling systems at night.</p>
</div>
<div class="sidebar"><h3>Earlier post</h3>
<p>{earlier}</p></div>
</body></html>"""
EARLIER = "The bureau confirmed that 1,200 cameras were installed in the old town in 2019."


def test_a_quote_outside_the_main_text_is_present_outside_and_turns_missing_when_removed(site, config, sessions):
    """A passage in a part of the page the extractor leaves out (an earlier post in the sidebar)
    is recorded "present (outside the main text)" from the first capture on; when the page stops
    showing it, "missing"."""
    url = site.set("/blog.html", BLOG.format(earlier=EARLIER))
    citation = cite_now(sessions, url, "1,200 cameras were installed in the old town")
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        capture = session.scalars(select(Capture)).one()
        assert "1,200 cameras" not in get_text(session, capture.text_sha256)  # not in the main text
    site.set("/blog.html", BLOG.format(earlier="The bureau declined to say how many cameras were installed."))
    run_pass(config, sessions, everything=True)
    found = checks(sessions, citation)
    assert [(status, verdict) for status, _, _, verdict in found] == [
        ("present (outside the main text)", "new"), ("missing", "unchanged"),
    ]
    assert "outside the main text" in found[0][2]
    # a citation added later is backfilled the same way
    late = cite_now(sessions, url, "cameras were installed in the old town in 2019", claim_id="late")
    assert [status for status, *_ in checks(sessions, late)] == ["present (outside the main text)", "missing"]


def test_the_closest_passage_and_the_diff_keep_chinese_punctuation(site, config, sessions, tmp_path, monkeypatch):
    """What a researcher reads is the page's own text: full-width ，、：（） stay as they are in the
    closest passage of a missing quote and in `archiver diff`."""
    import json

    from tests.conftest import make_cli

    url = site.set("/zh.html", ZH.encode("gbk"), content_type="text/html")
    citation = cite_now(sessions, url, "共安装高清摄像头1200台，并接入市公安局指挥平台")
    run_pass(config, sessions, everything=True)
    site.set("/zh.html", ZH.replace("1200台", "1500台").encode("gbk"), content_type="text/html")
    run_pass(config, sessions, everything=True)
    history = checks(sessions, citation)
    assert [(s, v) for s, _, _, v in history] == [("present", "new"), ("missing", "altered")]
    assert "共安装高清摄像头1500台，并接入市公安局指挥平台" in history[1][1]
    cli = make_cli(tmp_path, monkeypatch, config.database.url)
    out = json.loads(cli("diff", url, "--json").output)
    text = "".join(piece for segment in out["segments"] for piece in [segment.get("text") or segment.get("new") or ""])
    assert "，" in text and "、" in text and "," not in text, out


def test_texts_stored_before_punctuation_was_kept_still_compare_the_same(site, config, sessions):
    """Captures made before the stored text kept full-width punctuation hold its half-width
    form: the next capture of the same page is unchanged, not altered."""
    from sqlalchemy import update

    from archiver.extract import fold_text
    from archiver.sources import add_source
    from archiver.store import put_blobs

    url = site.set("/zh.html", ZH.encode("gbk"), content_type="text/html")
    with sessions.begin() as session:
        add_source(session, url)
    run_pass(config, sessions, everything=True)
    with sessions.begin() as session:
        capture = session.scalars(select(Capture)).one()
        old_text = fold_text(get_text(session, capture.text_sha256))
        assert "，" not in old_text
        (key,), _ = put_blobs(session, [old_text.encode("utf-8")])
        session.execute(update(Capture).where(Capture.id == capture.id).values(text_sha256=key))
    run_pass(config, sessions, everything=True)
    with sessions() as session:
        assert session.scalars(select(Source)).one().state == "unchanged"
