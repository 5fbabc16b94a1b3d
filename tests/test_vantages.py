"""Vantage points end to end: two real proxies on loopback (pproxy), one of which refuses a
site as a firewall outside China would, and sources captured from one vantage and checked
again from the other. A page that answers from one vantage only is `blocked`, never
`deleted`; a page gone from every vantage is `deleted`, and the reason names them."""

from __future__ import annotations

import json

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.config import Config, SiteConfig, VantageConfig
from archiver.vantages import DEFAULT, Route, UnknownVantage, check_name, route_for
from archiver.verdict import Verdict, across_vantages
from tests.conftest import make_cli
from tests.proxyserver import ProxyServer
from tests.siteserver import Site

CN_PASSWORD = "cn-pa55-81f2"
NOTICE = ("<html><head><meta charset='gbk'><title>关于印发通知</title></head><body><article>"
          "<p>各省、自治区、直辖市人民政府，国务院各部委、各直属机构：现将《公共安全视频监控建设联网应用工作方案》"
          "印发给你们，请认真贯彻执行。各地区要加快推进视频监控系统建设。</p></article></body></html>")
REPORT = ("<html><head><title>Procurement notice</title></head><body><article><p>The city bureau awarded the "
          "contract for face recognition cameras to the supplier on 3 May; the installation covers every "
          "district.</p></article></body></html>")


def _config() -> Config:
    config = Config()
    config.vantages = {"cn": VantageConfig("socks5://127.0.0.1:1080"), "direct": VantageConfig("")}
    config.sites = {".gov.cn": SiteConfig(vantage="cn", recheck="direct"), "www.miit.gov.cn": SiteConfig(vantage="direct")}
    return config


def test_routes_come_from_the_source_then_the_longest_site_suffix_then_default():
    config = _config()
    assert route_for(config, "https://www.gov.cn/zhengce/1.htm") == Route("cn", "direct")
    assert route_for(config, "https://gov.cn/") == Route("cn", "direct")
    assert route_for(config, "https://www.miit.gov.cn/a.html") == Route("direct", None)
    assert route_for(config, "https://notgov.cn/") == Route(DEFAULT, None)
    assert route_for(config, "https://www.hrw.org/report") == Route(DEFAULT, None)
    assert route_for(config, "https://www.hrw.org/report", "cn", "direct") == Route("cn", "direct")
    assert route_for(config, "https://www.gov.cn/x", None, "cn") == Route("cn", None)  # a recheck from itself is none
    assert check_name(config, "cn") == "cn" and check_name(config, "") is None
    assert check_name(config, "default") == "default"
    with pytest.raises(UnknownVantage, match=r"unknown vantage 'hk': the configuration defines default, cn, direct"):
        check_name(config, "hk")


def _verdict(state: str, good: bool = False) -> Verdict:
    return Verdict(state, f"{state} here", None, good)


@pytest.mark.parametrize("first, first_error, second, second_error, state, words", [
    ("unreachable", "connect", "new", None, "blocked", "reachable from cn, refused from direct"),
    ("unreachable", "timeout", "unchanged", None, "blocked", "reachable from cn, timed out from direct"),
    ("deleted", None, "altered", None, "blocked", "reachable from cn, not found from direct"),
    ("deleted", None, "deleted", None, "deleted", "gone from every vantage (direct, cn)"),
    ("unreachable", "connect", "deleted", None, "deleted", "not found from cn, and direct did not reach the page"),
    ("deleted", None, "unreachable", "timeout", "deleted", "not found from direct, and cn did not reach the page"),
    ("unreachable", "connect", "unreachable", "timeout", "unreachable", "unreachable from every vantage (direct, cn)"),
    ("deleted", None, "unreachable", "proxy", "unreachable", "could not be checked from cn (its proxy failed)"),
])
def test_verdicts_across_vantages(first, first_error, second, second_error, state, words):
    good = second in ("new", "unchanged", "altered")
    combined = across_vantages("direct", _verdict(first), first_error, "cn", _verdict(second, good), second_error)
    assert combined.state == state
    assert combined.reason.startswith(words), combined.reason
    assert combined.good == (state == "blocked")


@pytest.fixture(scope="module")
def proxies():
    """`cn`: a SOCKS5 proxy asking for a password; `direct`: an HTTP proxy whose firewall
    refuses the site on 127.0.0.3, as many Chinese sites refuse visitors from abroad."""
    cn = ProxyServer(user="researcher", password=CN_PASSWORD).start()
    direct = ProxyServer(block=r"127\.0\.0\.3").start()
    yield cn, direct
    cn.stop()
    direct.stop()


@pytest.fixture
def gov_site():
    site = Site("127.0.0.3").start()
    yield site
    site.stop()


@pytest.fixture
def other_site():
    site = Site("127.0.0.2").start()
    yield site
    site.stop()


def vantage_cli(tmp_path, monkeypatch, cn: str, direct: str, **sections: str):
    """`archiver` on a configuration with the vantages cn and direct (their proxy URLs) and
    `sections`, with time limits a loaded machine keeps within."""
    return make_cli(tmp_path, monkeypatch, sections={
        "fetch": "allow_private_addresses = true\nper_host_delay = 0.0\ntimeout = 20.0\ntotal_timeout = 30.0\n",
        "vantages.cn": f'proxy = "{cn}"\n', "vantages.direct": f'proxy = "{direct}"\n', **sections})


def _json(result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_blocked_and_deleted_end_to_end(tmp_path, monkeypatch, proxies, gov_site, other_site):
    cn, direct = proxies
    cli = vantage_cli(tmp_path, monkeypatch, cn.url("socks5h"), direct.url("http"),
                      sites='"127.0.0.3" = { vantage = "direct", recheck = "cn" }\n')
    notice = gov_site.set("/zhengce/notice.html", NOTICE.encode("gbk"), content_type="text/html")
    report = other_site.set("/report.html", REPORT)
    outputs = []
    assert cli("add", notice).exit_code == 0
    added = _json(cli("add", report, "--vantage", "direct", "--recheck", "cn", "--json"))
    assert (added["vantage"], added["recheck_vantage"]) == ("direct", "cn")
    assert cli("run").exit_code == 0

    # The notice: refused from direct, captured from cn -> blocked; the report: captured from direct.
    status = {row["url"]: row for row in _json(cli("status", "--json"))}
    assert status[notice]["state"] == "blocked"
    assert status[notice]["reason"].startswith("reachable from cn, refused from direct")
    assert status[report]["state"] == "new" and status[report]["vantage"] == "direct"
    shown = _json(cli("show", notice, "--json"))
    assert [(c["vantage"], c["verdict"]) for c in shown["captures"]] == [("direct", "blocked"), ("cn", "new")]
    assert shown["captures"][1]["title"] == "关于印发通知"
    for capture in shown["captures"]:
        record = _json(cli("show", notice, "--provenance", "--capture", str(capture["id"]), "--json"))
        assert record["provenance"]["extra"]["vantage"] == capture["vantage"]
    assert "vantage: cn" in cli("show", notice, "--provenance", "--capture", str(shown["captures"][1]["id"])).output
    assert "127.0.0.3" in direct.refused()
    assert f"127.0.0.3:{gov_site.port}" in cn.forwarded()
    text = cli("show", notice, "--text")
    assert "公共安全视频监控建设联网应用工作方案" in text.output
    outputs += [text.output, json.dumps(shown)]

    # Both pages removed: the report is gone from both vantages; the notice is not found from
    # cn, and direct never reached it.
    gov_site.set("/zhengce/notice.html", "<h1>404 页面不存在</h1>", status=404)
    other_site.set("/report.html", "<h1>Not Found</h1>", status=404)
    ran = cli("run", "--all", "--json")
    outputs.append(ran.output)
    status = {row["url"]: row for row in _json(cli("status", "--json"))}
    assert status[report]["state"] == "deleted"
    assert status[report]["reason"].startswith("gone from every vantage (direct, cn)")
    assert status[notice]["state"] == "deleted"
    assert status[notice]["reason"].startswith("not found from cn, and direct did not reach the page")
    table = cli("status")
    outputs.append(table.output)
    for output in outputs:
        assert CN_PASSWORD not in output


def test_blocked_stays_blocked_and_ends_when_the_page_answers_again(tmp_path, monkeypatch, proxies, gov_site):
    """A page refused from direct stays blocked (its text from cn is the baseline: unchanged);
    when direct reaches it again, it is judged from there as usual."""
    cn, direct = proxies
    cli = vantage_cli(tmp_path, monkeypatch, cn.url("socks5"), direct.url("socks5"))
    notice = gov_site.set("/n.html", NOTICE.encode("gbk"), content_type="text/html")
    assert cli("add", notice, "--vantage", "direct", "--recheck", "cn").exit_code == 0
    for _ in range(2):
        assert cli("run", "--all").exit_code == 0
    shown = _json(cli("show", notice, "--json"))
    assert shown["state"] == "blocked"
    assert [(c["vantage"], c["verdict"]) for c in shown["captures"]] == [
        ("direct", "blocked"), ("cn", "new"), ("direct", "blocked"), ("cn", "unchanged")]
    assert "from cn: unchanged" in shown["reason"]
    warc = tmp_path / "all.warc.gz"
    assert cli("export", "--warc", str(warc)).exit_code == 0
    with open(warc, "rb") as stream:
        vantages = [record.rec_headers.get_header("X-Archiver-Vantage") for record in ArchiveIterator(stream)
                    if record.rec_type == "response"]
    assert vantages == ["cn", "cn"]  # the two captures that got the page; the refused ones have no response
    # Straight from cn, without a second check.
    assert cli("add", notice, "--vantage", "cn").exit_code == 0
    assert cli("run", "--all").exit_code == 0
    shown = _json(cli("show", notice, "--json"))
    assert shown["state"] == "unchanged" and shown["captures"][-1]["vantage"] == "cn"


def test_unknown_vantages_are_clear_errors(cli, site):
    url = site.set("/p.html", "<p>page</p>")
    result = cli("add", url, "--vantage", "cn")
    assert result.exit_code == 2
    assert "unknown vantage 'cn': the configuration defines default" in result.output
    cli.config.write_text(cli.config.read_text(encoding="utf-8") + '[sites]\n".gov.cn" = "cn"\n', encoding="utf-8")
    result = cli("status")
    assert result.exit_code != 0
    assert "[sites] '.gov.cn' names the vantage 'cn', which is not defined" in result.output


@pytest.mark.usefixtures("loopback_is_public")
def test_report_names_the_vantage_and_what_save_page_now_saw(tmp_path, monkeypatch, proxies, gov_site, other_site, fake):
    """A blocked page cited for a claim: the report gives its state, the vantage its capture
    was made from, and says that Save Page Now could not see it; a page captured as usual
    from direct is submitted and archived without such a note."""
    cn, direct = proxies
    cli = vantage_cli(tmp_path, monkeypatch, cn.url("socks5h"), direct.url("http"),
                      sites='"127.0.0.3" = { vantage = "direct", recheck = "cn" }\n',
                      wayback=fake.config_toml() + f'access_key = "{fake.access_key}"\nsecret_key = "{fake.secret_key}"\n'
                              "poll_interval = 0.05\n")
    notice = gov_site.set("/zhengce/notice.html", NOTICE.encode("gbk"), content_type="text/html")
    report = other_site.set("/report.html", REPORT)
    for url in (notice, report):
        assert cli("add", url).exit_code == 0
    assert cli("claim", "add", "The province builds a video surveillance network", "--id", "video").exit_code == 0
    assert cli("cite", "video", notice, "--quote", "加快推进视频监控系统建设").exit_code == 0
    assert cli("cite", "video", report, "--quote", "face recognition cameras").exit_code == 0
    assert cli("run").exit_code == 0
    fake.spn_error(notice, "error:no-access", "The page refused our request")
    assert cli("wayback", "drain").exit_code == 0

    data = _json(cli("report", "video", "--format", "json"))
    cited = {c["url"]: c for c in data["citations"]}
    blocked = cited[notice]
    assert blocked["state"] == "blocked" and blocked["support"] == "live"
    assert blocked["quote_status"] == "present"
    assert blocked["best_capture"]["vantage"] == "cn"
    assert "source blocked" in blocked["problems"]
    assert (blocked["wayback_note"] or "").startswith("Save Page Now could not see the page")
    assert "refused our request" in blocked["wayback_note"]
    usual = cited[report]
    assert usual["state"] == "new" and usual["wayback_note"] is None
    assert usual["wayback"]["url"].startswith(f"{fake.base_url}/web/")
    assert usual["best_capture"]["vantage"] == "default"
    text = cli("report", "video", "--format", "md").output
    assert "from vantage cn" in text and "Save Page Now could not see the page" in text
    assert "reachable from cn, refused from direct" in text
    assert CN_PASSWORD not in text


def test_csv_columns_choose_the_vantages_and_round_trip(tmp_path, monkeypatch):
    cli = vantage_cli(tmp_path, monkeypatch, "socks5h://researcher:pw-in-config@127.0.0.1:1080", "")
    bibliography = tmp_path / "bib.csv"
    bibliography.write_text(
        "url,lang,title,vantage,recheck\n"
        "https://www.gov.cn/zhengce/1.htm,zh,国务院通知,direct,cn\n"
        "https://www.miit.gov.cn/2.htm,zh,,cn,\n"
        "https://www.cac.gov.cn/3.htm,zh,,hk,\n", encoding="utf-8")
    summary = _json(cli("import", str(bibliography), "--json"))
    assert [(r["line"], r["reason"]) for r in summary["rejected"]] == [
        (4, "vantage: unknown vantage 'hk': the configuration defines default, cn, direct")]
    rows = {row["url"]: row for row in _json(cli("status", "--json"))}
    assert (rows["https://www.gov.cn/zhengce/1.htm"]["vantage"], rows["https://www.gov.cn/zhengce/1.htm"]["recheck_vantage"]) == ("direct", "cn")
    assert (rows["https://www.miit.gov.cn/2.htm"]["vantage"], rows["https://www.miit.gov.cn/2.htm"]["recheck_vantage"]) == ("cn", None)
    exported = tmp_path / "out.csv"
    assert cli("export", str(exported)).exit_code == 0
    text = exported.read_text(encoding="utf-8-sig")
    assert "https://www.gov.cn/zhengce/1.htm" in text and ",direct,cn" in text
    assert "pw-in-config" not in text
