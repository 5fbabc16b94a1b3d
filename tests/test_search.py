"""Search across every capture's text: real pages captured from a loopback site, on SQLite and
PostgreSQL, English and Chinese (UTF-8 and GBK), pages edited and deleted since."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from archiver.capture import run_pass
from archiver.config import Config
from archiver.custody import purge_captures, purge_source
from archiver.db import open_database
from archiver.search import QueryError, count_hits, search_captures, unindexed_upto
from archiver.sources import add_source
from archiver.textindex import reindex
from tests.conftest import PG_URL, _drop_pg_database, _fresh_pg_database, make_cli
from tests.siteserver import Site

EN_PAGE = """<html><head><title>{title}</title></head><body><nav>Home | News</nav>
<article><h1>{title}</h1>
<p>{lead} The company signed the agreement in the capital, officials said on Tuesday.</p>
<p>The project covers surveillance cameras, data centres and a command platform for the city police.</p>
<p>Critics said the contract lacked any public tender and raised human rights concerns in the region.</p>
</article><footer>Copyright 2019 Example News</footer></body></html>"""

ZH_PAGE = """<html><head>{meta}<title>{title}</title></head><body><div class="nav">首页 | 新闻 | 政务</div>
<div class="article"><h1>{title}</h1>
<p>{lead}双方将在智慧城市和公共安全领域开展合作，建设视频监控平台。</p>
<p>根据协议，该公司将为机场、火车站和汽车站提供人脸识别技术，并建立数据中心。</p>
<p>该项目是重要合作项目之一，得到了政府的大力支持。</p>
</div><div class="footer">版权所有 2018 示例新闻网</div></body></html>"""

HIKVISION_ZH = "杭州海康威视数字技术股份有限公司与市公安局签署协议，"
HIKVISION_EN = "Hikvision, the camera maker, won the tender."


def en_page(title: str, lead: str) -> str:
    return EN_PAGE.format(title=title, lead=lead)


def zh_page(title: str, lead: str, charset: str | None = "utf-8") -> bytes:
    meta = f'<meta charset="{charset}">' if charset else ""
    return ZH_PAGE.format(meta=meta, title=title, lead=lead).encode(charset or "gbk")


def build_archive(site: Site, db_url: str):
    """Four pages captured in three passes: English (edited after the first pass), Chinese
    UTF-8, Chinese GBK without a declared charset, and a page deleted after the first pass."""
    config = pass_config(db_url)
    sessions = open_database(db_url)
    pages = {
        "en": site.set("/en.html", en_page("Cameras for the city", HIKVISION_EN)),
        "zh": site.set("/zh.html", zh_page("海康威视签约", HIKVISION_ZH)),
        "gbk": site.set("/gbk.html", zh_page("智慧城市项目", "云从科技与津巴布韦政府签署战略合作框架协议，", None),
                        content_type="text/html"),
        "gone": site.set("/gone.html", en_page("Deleted notice", "The bureau ordered Dahua Technology cameras.")),
    }
    with sessions.begin() as session:
        sources = {name: add_source(session, url)[0] for name, url in pages.items()}
        session.flush()
        ids = {name: source.id for name, source in sources.items()}
    run_pass(config, sessions, everything=True)
    del site.pages["/gone.html"]
    site.set("/en.html", en_page("Cameras for the city", "Hikvision, the camera maker, lost the tender."))
    run_pass(config, sessions, everything=True)
    run_pass(config, sessions, everything=True)
    return sessions, ids


def pass_config(db_url: str) -> Config:
    config = Config()
    config.database.url = db_url
    config.fetch.allow_private_addresses = True
    config.fetch.per_host_delay = 0.0
    config.capture.extract_workers = 1
    config.wayback.enabled = False
    return config


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory):
    """One archive (build_archive) for the tests that only read it, on SQLite and PostgreSQL."""
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("ARCHIVER_TEST_DATABASE_URL not set")
    site = Site().start()
    if request.param == "sqlite":
        url, admin = f"sqlite:///{tmp_path_factory.mktemp('search') / 'archive.db'}", None
    else:
        url, admin, name = _fresh_pg_database(PG_URL)
    try:
        yield build_archive(site, url)
    finally:
        site.stop()
        if admin is not None:
            _drop_pg_database(admin, name)


@pytest.fixture
def own_archive(site, db_url):
    """An archive of the test's own, for tests that change it."""
    return build_archive(site, db_url)


def found(sessions, query: str, **kwargs):
    with sessions() as session:
        return search_captures(session, query, **kwargs)


def marked(hit) -> list[str]:
    return [piece for piece, is_match in hit.snippet if is_match]


def test_chinese_words_found_inside_longer_runs(archive):
    sessions, ids = archive
    for word in ("海康威视", "威视", "股份", "海康威视数字技术", "威", "康威视数字"):
        hits = found(sessions, word)
        assert [h.source_id for h in hits] == [ids["zh"]], word
    assert {h.source_id for h in found(sessions, "公司")} == {ids["zh"], ids["gbk"]}  # 有限公司, 该公司
    hit = found(sessions, "威视")[0]
    assert marked(hit) == ["威视"]
    assert "海康" in "".join(piece for piece, _ in hit.snippet)
    assert hit.captures == 3 and hit.first_captured_at < hit.last_captured_at and hit.current
    assert found(sessions, "威视公司") == []  # not a run of the text


def test_gbk_page_without_charset_is_searchable(archive):
    sessions, ids = archive
    hits = found(sessions, "云从")
    assert [h.source_id for h in hits] == [ids["gbk"]]
    assert marked(hits[0]) == ["云从"]
    assert [h.source_id for h in found(sessions, "津巴布韦 人脸识别")] == [ids["gbk"]]


def test_a_deleted_page_is_still_found(archive):
    sessions, ids = archive
    hits = found(sessions, "Dahua")
    assert [h.source_id for h in hits] == [ids["gone"]]
    assert hits[0].source_state == "deleted" and not hits[0].current
    assert hits[0].captures == 1
    assert marked(hits[0]) == ["Dahua"]


def test_an_edited_page_gives_one_hit_per_version_with_its_dates(archive):
    sessions, ids = archive
    hits = found(sessions, "hikvision tender")
    assert {h.source_id for h in hits} == {ids["en"]} and len(hits) == 2
    newer, older = hits
    assert "lost" in "".join(p for p, _ in newer.snippet) and newer.current and newer.captures == 2
    assert "won" in "".join(p for p, _ in older.snippet) and not older.current and older.captures == 1
    assert older.last_captured_at < newer.first_captured_at
    assert [h.captures for h in found(sessions, '"won the tender"')] == [1]
    assert [h.captures for h in found(sessions, "tender -won", source_id=ids["en"])] == [2]
    assert {h.source_id for h in found(sessions, "tender -won")} == {ids["en"], ids["gone"]}


def test_phrases_prefixes_or_and_case(archive):
    sessions, ids = archive
    assert {h.source_id for h in found(sessions, '"city police"')} == {ids["en"], ids["gone"]}
    assert found(sessions, '"police city"') == []
    assert {h.source_id for h in found(sessions, "SURVEIL*")} == {ids["en"], ids["gone"]}
    assert marked(found(sessions, "surveil*")[0]) == ["surveillance"]
    assert {h.source_id for h in found(sessions, "Dahua OR 云从")} == {ids["gone"], ids["gbk"]}
    assert {h.source_id for h in found(sessions, "监控平台 OR 人脸识别")} == {ids["zh"], ids["gbk"]}
    assert found(sessions, "ＨＩＫＶＩＳＩＯＮ won")[0].source_id == ids["en"]  # full-width letters
    assert [h.source_id for h in found(sessions, "威视 hikvision")] == []  # no page has both


def test_one_source_and_pages(archive):
    sessions, ids = archive
    everything = found(sessions, "the")
    assert len(everything) == 3
    assert [h.source_id for h in found(sessions, "the", source_id=ids["gone"])] == [ids["gone"]]
    first, second = found(sessions, "the", limit=2), found(sessions, "the", limit=2, offset=2)
    assert [h.text_sha256 for h in first + second] == [h.text_sha256 for h in everything]
    with sessions() as session:
        assert count_hits(session, "the") == 3
        assert count_hits(session, "the", source_id=ids["gone"]) == 1
        assert count_hits(session, "hikvision tender") == 2


HOSTILE = ['"', '""', "'", "*", "NEAR(a b)", "hikvision NEAR dahua", "a AND", "OR", "NOT", "(", ")", ":",
           "title:hikvision", "hikvision*)", '"unterminated phrase', "-", "--", "^hik", "{a b}", "a | b & !c",
           "'; DROP TABLE captures; --", "\\", "\x00", "％", "ＯＲ", "海康威视 AND (", "* * *", "a" * 900,
           "hikvision:*", "<-> hikvision", "!hikvision"]


def test_hostile_queries_answer_or_explain(archive):
    sessions, _ = archive
    for query in HOSTILE:
        try:
            hits = found(sessions, query)
        except QueryError as exc:
            assert str(exc)
            continue
        assert isinstance(hits, list), query


def test_hostile_queries_are_read_as_text(archive):
    sessions, ids = archive
    assert [h.source_id for h in found(sessions, "dahua NEAR")] == []  # NEAR is a word here
    assert [h.source_id for h in found(sessions, "title:Dahua")] == []
    assert [h.source_id for h in found(sessions, "(Dahua)")] == [ids["gone"]]
    with pytest.raises(QueryError, match="only leaves words out"):
        found(sessions, "-hikvision")
    with pytest.raises(QueryError, match="no letters"):
        found(sessions, '"*"')
    with pytest.raises(QueryError):
        found(sessions, "x" * 2000)


def test_purged_texts_cannot_be_found(own_archive):
    sessions, ids = own_archive
    with sessions.begin() as session:
        purge_source(session, ids["gone"], "tracked by mistake")
    assert found(sessions, "Dahua") == []
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM search_texts")).scalar() == 4  # en x2, zh, gbk
        if session.get_bind().dialect.name == "sqlite":  # the words are gone from the index itself
            assert session.execute(text("SELECT count(*) FROM search_terms WHERE search_terms MATCH 'dahua'")).scalar() == 0
            assert session.execute(text("SELECT count(*) FROM search_terms WHERE search_terms MATCH 'tender'")).scalar() == 2


def _listing(sessions) -> list[tuple]:
    return [(h.source_id, h.text_sha256, h.first_capture_id, h.capture_id, h.captures, h.first_captured_at,
             h.last_captured_at) for h in found(sessions, "the OR 的 OR 公司 OR 404")]


def _empty_index(session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO search_terms (search_terms) VALUES ('delete-all')"))
    session.execute(text("DELETE FROM search_texts"))
    session.execute(text("DELETE FROM source_texts"))


def test_backfill_of_captures_stored_before_the_index(own_archive):
    sessions, ids = own_archive
    before = _listing(sessions)
    assert len(before) == 6 and sum(row[4] for row in before) == 12  # 4 sources x 3 passes
    with sessions.begin() as session:
        _empty_index(session)
        last = session.execute(text("SELECT max(id) FROM captures")).scalar()
        session.execute(text("UPDATE search_backfill SET capture_id_upto = :last, done_upto = 0"), {"last": last})
    assert found(sessions, "Dahua") == []
    with sessions() as session:
        assert unindexed_upto(session) == last
    done = reindex(sessions, batch=3)
    assert done.texts_added == 6  # with the "404 Not Found" page the deleted one became
    with sessions() as session:
        assert unindexed_upto(session) is None
    assert _listing(sessions) == before
    assert reindex(sessions).texts_added == 0
    assert _listing(sessions) == before


def test_reindex_everything_repairs_a_damaged_index(own_archive):
    sessions, _ = own_archive
    before = _listing(sessions)
    with sessions.begin() as session:
        _empty_index(session)
    assert _listing(sessions) == []
    assert reindex(sessions, everything=True, batch=2).texts_added == 6
    assert _listing(sessions) == before
    reindex(sessions, everything=True)
    assert _listing(sessions) == before


def test_purging_some_captures_recounts_what_remains(own_archive):
    sessions, ids = own_archive
    [hit] = found(sessions, "lost tender")
    assert hit.captures == 2
    with sessions.begin() as session:
        purge_captures(session, [hit.capture_id], "a capture made by mistake")
    [hit_after] = found(sessions, "lost tender")
    assert hit_after.captures == 1 and hit_after.capture_id == hit.first_capture_id
    assert hit_after.last_captured_at == hit.first_captured_at


def test_cli_search_table_and_json(site, tmp_path, monkeypatch):
    cli = make_cli(tmp_path, monkeypatch)
    url = site.set("/zh.html", zh_page("海康威视签约", HIKVISION_ZH))
    assert cli("add", url).exit_code == 0
    assert cli("run").exit_code == 0
    result = cli("search", "威视", "--json")
    assert result.exit_code == 0, result.output
    [hit] = json.loads(result.output)
    assert hit["url"] == url and hit["captures"] == 1 and ["威视", True] in hit["snippet"]
    table = cli("search", "威视")
    assert table.exit_code == 0 and "威视" in table.output and url in table.output
    bad = cli("search", '"*"')
    assert bad.exit_code == 2 and "no letters" in bad.output
    none = cli("search", "Dahua", "--json")
    assert none.exit_code == 0 and json.loads(none.output) == []
    assert cli("search", "--reindex").exit_code == 0


def test_a_failing_index_never_costs_a_capture(site, sqlite_url):
    """The index refuses every text (a real database error, from a trigger): the pass stores its
    captures all the same, and a repair indexes them afterwards."""
    sessions = open_database(sqlite_url)
    url = site.set("/zh.html", zh_page("海康威视签约", HIKVISION_ZH))
    with sessions.begin() as session:
        add_source(session, url)
        session.execute(text("CREATE TRIGGER broken BEFORE INSERT ON search_texts "
                             "BEGIN SELECT RAISE(ABORT, 'the index is broken'); END"))
    summary = run_pass(pass_config(sqlite_url), sessions, everything=True)
    assert summary.counts["new"] == 1
    assert found(sessions, "威视") == []
    with sessions.begin() as session:
        assert session.execute(text("SELECT count(*) FROM captures WHERE text_sha256 IS NOT NULL")).scalar() == 1
        session.execute(text("DROP TRIGGER broken"))
    assert reindex(sessions, everything=True).texts_added == 1
    assert [h.url for h in found(sessions, "威视")] == [url]
