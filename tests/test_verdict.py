"""Change verdicts on pairs of captures (previous good, current), Chinese and English.

Each scenario states what a researcher would conclude; `pytest -s` prints the confusion table.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field

import pytest

from archiver import verdict as verdict_module
from archiver.verdict import (
    SHORT_PAGE_WORDS,
    SOFT_404_MIN,
    Snapshot,
    comparable_lines,
    judge,
    looks_like_not_found,
    similarity,
)

ZH_URL = "http://www.tzku.cn/news/201803/93683.html"
EN_URL = "https://zimbabwe.misa.org/2019/10/14/chinese-tech-revolution-comes-to-zim/"

ZH_ARTICLE = """云从科技与津巴布韦政府签署战略合作框架协议
2018年3月，广州云从信息科技有限公司与津巴布韦政府在哈拉雷签署战略合作框架协议，双方将在智慧城市、平安城市等领域开展合作。
根据协议，云从科技将为津巴布韦的机场、火车站和汽车站等公共场所提供人脸识别技术，并协助建设国家人像数据库。
津巴布韦信息通信技术部长表示，该项目是"一带一路"倡议下中津两国科技合作的重要成果，有助于提升当地的公共安全水平。
云从科技负责人介绍，公司此前已在国内多个省市的公安系统部署人脸识别平台，累计识别超过3000万人次。
业内人士认为，此次合作标志着中国人工智能企业开始大规模走向非洲市场。"""

ZH_OTHER = """我市举办第十届农业博览会
5月20日，第十届农业博览会在市会展中心开幕，来自全国各地的三百余家企业参展，展品涵盖粮油、果蔬、茶叶和农机设备。
市农业农村局负责人介绍，本届博览会突出绿色发展主题，设置了乡村振兴成果展区和农产品直播带货专区。
开幕当天，现场签约项目二十六个，签约金额超过十五亿元。博览会将持续五天，免费向市民开放。"""

ZH_HOME = """首页 新闻中心 政务公开 办事服务 互动交流
市政府召开常务会议 研究部署安全生产工作
我市举办第十届农业博览会
关于开展2024年度统计执法检查的通知
市领导调研重点项目建设进展情况
版权所有：某某市人民政府办公室 备案号：京ICP备00000000号"""

ZH_PROBE = """对不起，您访问的内容暂时无法显示
请检查网址是否正确，或返回首页继续浏览。
5秒后自动跳转"""

EN_ARTICLE = """Chinese tech revolution comes to Zimbabwe
In March 2018 the Guangzhou-based start-up CloudWalk Technology signed a strategic cooperation agreement with the government of Zimbabwe to supply facial recognition systems for airports, railway stations and bus terminals.
Under the agreement, CloudWalk will also help build a national facial database, a project the Zimbabwean information minister described as a milestone in cooperation between the two countries.
Critics warned that the deal would give a Chinese company access to the biometric data of millions of Zimbabweans, and that the country had no data protection law in force.
The company said the system had already been deployed by police in more than 20 Chinese provinces, where it had identified more than 10,000 suspects.
Zimbabwe's government has not published the terms of the agreement, and the ministry did not respond to questions about how the data would be stored or who would have access to it.
Analysts say the agreement marks the start of a broader push by Chinese artificial intelligence firms into African markets."""

EN_OTHER = """Football club unveils plans for new stadium
The club's board presented plans on Tuesday for a 40,000-seat stadium on the site of the old railway yard, with construction expected to begin next spring.
Supporters welcomed the design but raised concerns about ticket prices and parking around the ground on match days.
The city council will consider the planning application at its meeting next month."""

EN_HOME = """Home News Business Technology Opinion Sport
Minister opens new highway section
Football club unveils plans for new stadium
Markets close higher on Friday
Subscribe to our newsletter
Copyright 2024 The Herald"""

EN_PROBE = """Oops! Nothing to see here.
Try searching the site, or head back to the front page."""

ZH_LONG_MENTION = ZH_ARTICLE + "\n记者发现，津巴布韦相关部门网站上原有的招标公告现已显示\"页面不存在\"，部分信息已删除。"
EN_LONG_MENTION = (
    EN_ARTICLE
    + "\nVisitors to the ministry's tender page now see a 'Page not found' message, and the procurement notice has been removed."
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snap(
    text: str = "",
    *,
    url: str = EN_URL,
    status: int | None = 200,
    redirects: list[tuple[int, str]] | None = None,
    body: str | None = None,
    kind: str = "html",
    error_kind: str | None = None,
    error: str | None = None,
    title: str | None = None,
) -> Snapshot:
    """A snapshot as the pipeline would build it; the body defaults to the text in markup."""
    redirects = redirects or []
    final = redirects[-1][1] if redirects else (url if status is not None else None)
    if body is None:
        body = f"<html><body><article>{text}</article></body></html>"
    return Snapshot(
        requested_url=url,
        final_url=final,
        status=status,
        redirects=redirects,
        text=text,
        full_text=text,
        body_sha256=sha(body) if status is not None else None,
        text_sha256=sha(text) if status is not None else None,
        error_kind=error_kind,
        error=error,
        kind=kind,
        title=title,
    )


def zh(text: str = "", **kw) -> Snapshot:
    kw.setdefault("url", ZH_URL)
    return snap(text, **kw)


@dataclass
class Case:
    name: str
    previous: Snapshot | None
    current: Snapshot
    expected: str
    reason_has: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)


def _replace_line(text: str, index: int, new: str | None) -> str:
    lines = text.split("\n")
    if new is None:
        del lines[index]
    else:
        lines[index] = new
    return "\n".join(lines)


ZH_META = "发布时间：2018-03-09 10:00 浏览次数：1234 来源：天综网"
ZH_META_LATER = "发布时间：2018-03-09 10:00:00 浏览次数：1301 来源：天综网"
EN_META = "Updated: May 3, 2024\nViews: 5,321"
EN_META_LATER = "Last updated May 4, 2024, 10:32 BST\nViews: 6,102"

CASES = [
    # --- new -------------------------------------------------------------------------------
    Case("zh first capture", None, zh(ZH_ARTICLE), "new"),
    Case("en first capture", None, snap(EN_ARTICLE), "new"),
    Case(
        "en first capture after 301",
        None,
        snap(EN_ARTICLE, redirects=[(301, EN_URL.replace("https://", "https://www."))]),
        "new",
        ("redirected (301)",),
    ),
    Case("en long article mentioning 'page not found', first capture", None, snap(EN_LONG_MENTION), "new"),
    Case("zh long article mentioning 页面不存在, first capture", None, zh(ZH_LONG_MENTION), "new"),
    # --- unchanged -------------------------------------------------------------------------
    Case("en identical bytes", snap(EN_ARTICLE), snap(EN_ARTICLE), "unchanged", ("identical bytes",)),
    Case(
        "zh encoding change GBK -> UTF-8, same text",
        zh(ZH_ARTICLE, body="<meta charset=gbk>" + ZH_ARTICLE),
        zh(ZH_ARTICLE, body="<meta charset=utf-8>" + ZH_ARTICLE),
        "unchanged",
        ("main text identical",),
    ),
    Case(
        "en timestamp and view counter",
        snap(EN_META + "\n" + EN_ARTICLE),
        snap(EN_META_LATER + "\n" + EN_ARTICLE),
        "unchanged",
        ("dates, view counters",),
    ),
    Case(
        "zh 发布时间 and 浏览次数, print/close buttons appear",
        zh(ZH_META + "\n" + ZH_ARTICLE),
        zh(ZH_META_LATER + "\n" + ZH_ARTICLE + "\n【打印】【关闭】"),
        "unchanged",
    ),
    Case(
        "en 'most read' sidebar leftovers",
        snap(EN_ARTICLE + "\nMost read\nMinister opens new highway section\nMarkets close higher on Friday"),
        snap(EN_ARTICLE + "\nMost read\nFootball club unveils plans for new stadium\nHeat wave expected this weekend"),
        "unchanged",
    ),
    Case(
        "zh 相关阅读 sidebar and date-only line",
        zh("2024年5月1日 星期三\n" + ZH_ARTICLE + "\n相关阅读\n我市举办第十届农业博览会\n市领导调研重点项目建设"),
        zh("2024年5月2日 星期四\n" + ZH_ARTICLE + "\n相关阅读\n关于开展统计执法检查的通知"),
        "unchanged",
    ),
    Case(
        "en re-wrapped lines and spacing",
        snap(EN_ARTICLE),
        snap(EN_ARTICLE.replace(", a project", ",\na project").replace(". ", ".  ")),
        "unchanged",
        ("spacing",),
    ),
    Case(
        "zh full-width digits after a template change",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE.replace("3000", "３０００")),
        "unchanged",
        ("character width",),
    ),
    Case("en long article mentioning 'page not found', again", snap(EN_LONG_MENTION), snap(EN_LONG_MENTION + " "), "unchanged"),
    Case("zh long article mentioning 页面不存在, again", zh(ZH_LONG_MENTION, body="a"), zh(ZH_LONG_MENTION, body="b"), "unchanged"),
    Case(
        "zh temporary redirect (302) to https, same text",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE, redirects=[(302, ZH_URL.replace("http://", "https://"))]),
        "unchanged",
        ("still redirected (302)",),
    ),
    Case(
        "zh short notice that says 已删除 and still says it",
        zh("关于删除部分过期公告的说明\n经核查，以下三条过期公告已删除。"),
        zh("关于删除部分过期公告的说明\n经核查，以下三条过期公告已删除。", body="other markup"),
        "unchanged",
    ),
    Case("en identical PDFs", snap("Annual report 2018. " * 20, kind="pdf", body="%PDF-1"), snap("Annual report 2018. " * 20, kind="pdf", body="%PDF-1"), "unchanged"),
    Case("zh identical PDFs", zh(ZH_ARTICLE, kind="pdf", body="%PDF-zh"), zh(ZH_ARTICLE, kind="pdf", body="%PDF-zh"), "unchanged"),
    # --- altered ---------------------------------------------------------------------------
    Case(
        "en one number edited in a sentence",
        snap(EN_ARTICLE),
        snap(EN_ARTICLE.replace("In March 2018", "In March 2019")),
        "altered",
        ("1 paragraph changed", "'2018' -> '2019'"),
    ),
    Case(
        "zh one number edited in a sentence",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE.replace("3000万", "300万")),
        "altered",
        ("'3000' -> '300'",),
    ),
    Case(
        "en one word edited",
        snap(EN_ARTICLE),
        snap(EN_ARTICLE.replace("Critics warned", "Critics suggested")),
        "altered",
        ("'warned' -> 'suggested'",),
    ),
    Case(
        "zh one word edited",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE.replace("战略合作框架协议，双方", "合作框架协议，双方")),
        "altered",
        ("1 paragraph changed",),
    ),
    Case("en paragraph removed", snap(EN_ARTICLE), snap(_replace_line(EN_ARTICLE, 3, None)), "altered", ("1 paragraph removed",)),
    Case(
        "zh two paragraphs removed",
        zh(ZH_ARTICLE),
        zh(_replace_line(_replace_line(ZH_ARTICLE, 4, None), 2, None)),
        "altered",
        ("2 paragraphs removed",),
    ),
    Case(
        "en correction appended",
        snap(EN_ARTICLE),
        snap(EN_ARTICLE + "\nCorrection: an earlier version of this article misstated the number of provinces."),
        "altered",
        ("1 paragraph added",),
    ),
    Case(
        "zh correction appended",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE + "\n更正：本文此前版本中的签约时间有误，现已更正。"),
        "altered",
        ("1 paragraph added",),
    ),
    Case(
        "en changed PDF",
        snap("Annual report 2018. Revenue rose 12 percent. " * 5, kind="pdf", body="%PDF-a"),
        snap("Annual report 2018. Revenue rose 21 percent. " * 5, kind="pdf", body="%PDF-b"),
        "altered",
    ),
    Case(
        "zh scanned PDF replaced, no text either time",
        zh("", kind="pdf", body="%PDF-scan-1"),
        zh("", kind="pdf", body="%PDF-scan-2"),
        "altered",
        ("no text to compare",),
    ),
    Case(
        "en 301 to a rewritten version (not the same content)",
        snap(EN_ARTICLE),
        snap(
            "\n".join(EN_ARTICLE.split("\n")[:3]) + "\nThe deal has since been renegotiated.",
            redirects=[(301, EN_URL + "updated/")],
        ),
        "altered",
        ("redirected (301)",),
    ),
    # --- moved -----------------------------------------------------------------------------
    Case(
        "en 301 to a new address, same text",
        snap(EN_ARTICLE),
        snap(EN_ARTICLE, redirects=[(301, "https://www.misa.org/zimbabwe/chinese-tech-revolution/")]),
        "moved",
        ("permanently redirected (301)",),
    ),
    Case(
        "zh 308 after a 302, same text",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE, redirects=[(302, "http://tzku.cn/news/93683.html"), (308, "https://www.tzku.cn/a/93683")]),
        "moved",
    ),
    Case(
        "zh 301 to a new address, text nearly the same",
        zh(ZH_ARTICLE),
        zh(ZH_ARTICLE + "\n(责任编辑：王明)", redirects=[(301, "https://www.tzku.cn/a/93683")]),
        "moved",
        ("nearly the same",),
    ),
    # --- deleted ---------------------------------------------------------------------------
    Case("en 404", snap(EN_ARTICLE), snap("Not Found", status=404), "deleted", ("status 404",)),
    Case("zh 410", zh(ZH_ARTICLE), zh("", status=410), "deleted", ("status 410",)),
    Case("zh 404 on a first capture", None, zh("页面不存在", status=404), "deleted"),
    Case(
        "en soft 404 (status 200, not-found wording)",
        snap(EN_ARTICLE),
        snap("Sorry, we couldn't find that page.\nIt may have been moved, or the address may be wrong.\nGo to the home page"),
        "deleted",
        ("status 200", "couldn't find that page"),
    ),
    Case(
        "zh soft 404 (status 200, 抱歉，您要访问的页面不存在)",
        zh(ZH_ARTICLE),
        zh("抱歉，您要访问的页面不存在！\n可能原因：网址有误或该信息已删除。\n返回首页"),
        "deleted",
        ("页面不存在",),
    ),
    Case(
        "zh error template with no main text, first capture",
        None,
        Snapshot(ZH_URL, ZH_URL, 200, [], "", "网站首页 | 网站地图\n抱歉，您访问的页面不存在\n返回首页", sha("t"), sha(""), None, None),
        "deleted",
        ("23 characters", "页面不存在"),
    ),
    Case("zh soft 404 by title only", zh(ZH_ARTICLE), zh("返回首页", title="404错误-页面未找到"), "deleted", ("the title says",)),
    Case(
        "en soft 404 matching the site's not-found page",
        snap(EN_ARTICLE),
        snap(EN_PROBE.replace("Oops!", "Oops! /2019/10/14/chinese-tech-revolution-comes-to-zim/")),
        "deleted",
        ("site's not-found page",),
        {"not_found_text": "Oops! /no-such-page-5f3a9 " + EN_PROBE},
    ),
    Case(
        "zh soft 404 matching the site's not-found page",
        zh(ZH_ARTICLE),
        zh(ZH_PROBE),
        "deleted",
        ("site's not-found page",),
        {"not_found_text": ZH_PROBE},
    ),
    Case(
        "en 302 redirect to the home page",
        snap(EN_ARTICLE),
        snap(EN_HOME.replace("Friday", "Monday"), redirects=[(302, "https://zimbabwe.misa.org/")]),
        "deleted",
        ("home page",),
        {"home_text": EN_HOME},
    ),
    Case(
        "zh 301 redirect to the home page, first capture",
        None,
        zh(ZH_HOME, redirects=[(301, "http://www.tzku.cn/index.html")]),
        "deleted",
        ("home page",),
        {"home_text": ZH_HOME},
    ),
    Case(
        "zh meta-refresh to an unrelated page",
        zh(ZH_ARTICLE),
        zh(ZH_OTHER, redirects=[(0, "http://www.tzku.cn/news/202405/120001.html")]),
        "deleted",
        ("meta-refresh", "unrelated"),
    ),
    Case(
        "en 301 to an unrelated page",
        snap(EN_ARTICLE),
        snap(EN_OTHER, redirects=[(301, "https://zimbabwe.misa.org/sport/stadium/")]),
        "deleted",
        ("unrelated",),
    ),
    Case("en article body emptied", snap(EN_ARTICLE), snap("Share this article\nZimbabwe"), "deleted", ("emptied",)),
    Case("zh article body emptied", zh(ZH_ARTICLE), zh("云从科技"), "deleted", ("emptied",)),
    # --- unreachable ------------------------------------------------------------------------
    Case("en timeout", snap(EN_ARTICLE), snap(status=None, error_kind="timeout", error="no answer in 30 s"), "unreachable", ("timeout",)),
    Case("zh connection refused", zh(ZH_ARTICLE), zh(status=None, error_kind="connect", error="Connection refused"), "unreachable"),
    Case("zh DNS failure", zh(ZH_ARTICLE), zh(status=None, error_kind="dns", error="Name or service not known"), "unreachable", ("DNS",)),
    Case("en TLS failure", snap(EN_ARTICLE), snap(status=None, error_kind="tls", error="certificate has expired"), "unreachable", ("TLS",)),
    Case("en 403", snap(EN_ARTICLE), snap("Access denied", status=403), "unreachable", ("403",)),
    Case("en 429", snap(EN_ARTICLE), snap("Too many requests", status=429), "unreachable", ("429",)),
    Case("en 503", snap(EN_ARTICLE), snap("Service unavailable", status=503), "unreachable", ("503",)),
    Case("zh 502", zh(ZH_ARTICLE), zh("502 Bad Gateway", status=502), "unreachable"),
    Case("zh redirect loop", zh(ZH_ARTICLE), zh(status=None, error_kind="redirect_loop", error="loop"), "unreachable"),
    Case("en too many redirects, first capture", None, snap(status=None, error_kind="too_many_redirects"), "unreachable"),
]


def _run(case: Case):
    return judge(case.previous, case.current, **case.options)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario(case: Case):
    verdict = _run(case)
    assert verdict.state == case.expected, verdict.reason
    assert verdict.good == (case.expected in ("new", "unchanged", "altered", "moved"))
    assert verdict.reason
    for fragment in case.reason_has:
        assert fragment in verdict.reason, verdict.reason


def test_scenarios_cover_both_languages_and_every_state():
    zh_cases = sum(1 for c in CASES if c.current.requested_url == ZH_URL)
    en_cases = len(CASES) - zh_cases
    assert zh_cases >= 15 and en_cases >= 15
    assert {c.expected for c in CASES} == {"new", "unchanged", "altered", "moved", "deleted", "unreachable"}


def test_confusion_table():
    states = ["new", "unchanged", "altered", "moved", "deleted", "unreachable"]
    table = Counter((c.expected, _run(c).state) for c in CASES)
    width = max(map(len, states)) + 2
    print("\nexpected \\ judged".ljust(width + 8) + "".join(s.rjust(12) for s in states))
    for expected in states:
        row = "".join(str(table[(expected, got)] or ".").rjust(12) for got in states)
        print(f"{expected.ljust(width + 7)}{row}")
    wrong = [(c.name, c.expected, _run(c).state) for c in CASES if _run(c).state != c.expected]
    assert not wrong


def test_similarity_is_measured_on_words_and_chinese_characters():
    assert similarity(EN_ARTICLE, EN_ARTICLE) == 1.0
    assert similarity("", "") == 1.0
    assert similarity(EN_ARTICLE, "") == 0.0
    assert similarity("In 2018 the company", "in 2018,  the COMPANY") == 1.0
    assert similarity(ZH_ARTICLE, ZH_OTHER) < 0.2
    assert similarity(EN_ARTICLE, EN_OTHER) < 0.2
    edited = ZH_ARTICLE.replace("3000万", "300万")
    assert 0.95 < similarity(ZH_ARTICLE, edited) < 1.0


def test_not_found_wording_only_on_short_pages():
    assert looks_like_not_found("Page not found") == 'the text says "Page not found"'
    assert "信息已删除" in looks_like_not_found("该信息已删除")
    assert "頁面不存在" in looks_like_not_found("抱歉，您要訪問的頁面不存在")
    assert looks_like_not_found("", title="404 Not Found") == 'the title says "404 Not Found"'
    long_text = "The ministry's page not found notice replaced the tender. " + "word " * SHORT_PAGE_WORDS
    assert looks_like_not_found(long_text) is None
    assert looks_like_not_found(EN_LONG_MENTION) is None
    assert looks_like_not_found(ZH_LONG_MENTION) is None
    assert looks_like_not_found("Room 404, Building 3") is None
    assert looks_like_not_found("我们不存在任何问题") is None
    assert looks_like_not_found("经核查，以下三条过期公告已删除。") is None


def test_noise_lines_are_removed_but_numbers_in_sentences_stay():
    lines = comparable_lines(
        "更新时间：2024-05-01 10:00\n浏览次数：1234\nViews: 5,321\n【打印】【关闭】\n"
        "The video had 5,321 views on YouTube.\n会议于2018年3月5日召开。\n分享经济发展迅速"
    )
    assert lines == ["The video had 5,321 views on YouTube.", "会议于2018年3月5日召开。", "分享经济发展迅速"]



def _noise_labels() -> list[str]:
    """Every label the noise patterns name, and every suffix of a count ("1,234 次浏览")."""
    source = verdict_module._STAMP_LABEL + "|" + verdict_module._COUNTER_LABEL
    labels = [piece.strip("(?:)").replace(" ?", " ").rstrip("?") for piece in source.split("|")]
    suffixes = re.search(r"\(\?:(次浏览[^)]*)\)", verdict_module._NOISE_FIELD.pattern).group(1).split("|")
    return [f"{label}: 2024-05-01" for label in labels if label] + [f"1,234 {suffix}" for suffix in suffixes]


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title, lambda s: s.replace("i", "\u0130"),
                                  lambda s: s.replace("i", "\u0131").upper()])
def test_a_line_with_a_noise_field_is_never_skipped_by_the_quick_word_check(case):
    lines = [case(line) for line in _noise_labels()]
    assert len(lines) > 40
    for line in lines + [f"正文第一段。{line} 作者：张三" for line in lines]:
        assert verdict_module._NOISE_FIELD.search(line), line
        assert verdict_module._may_hold_noise(line), line
    assert not verdict_module._may_hold_noise("会议于2018年3月5日召开，共有1,234人参加。")
    assert not verdict_module._may_hold_noise("The 2019 contract was worth $5,321,000.")



def _closeness_in_full(snapshot: Snapshot, reference: str, lines_of, cutoff: float) -> float:
    """What _closeness computes, without stopping early on a long text."""
    def tokens(text: str) -> list[str]:
        return verdict_module._tokens(verdict_module._key(list(lines_of(text))))
    texts = {snapshot.text, snapshot.full_text} - {""}
    return max((verdict_module._token_similarity(tokens(t), tokens(reference), cutoff) for t in texts), default=0.0)


@pytest.mark.parametrize("extra_lines", [0, 1, 2, 3, 5, 40])
@pytest.mark.parametrize("lines_of, cutoff", [
    (verdict_module._lines_without_urls, SOFT_404_MIN), (verdict_module._comparable_lines, 0.8),
])
def test_closeness_stops_early_only_where_the_cutoff_cannot_be_reached(extra_lines, lines_of, cutoff):
    """A long page is dropped from the comparison after a few lines; a page near the reference's
    length, just over or under the cutoff, is compared in full. The last case joins lines that
    a combining mark merges into one token once case-folded (U+0345 folds into a Greek iota)."""
    reference = "\n".join([EN_PROBE, ZH_PROBE, "Return to the home page", "网站首页"])
    filler = [f"{ZH_ARTICLE.splitlines()[1 + i % 5]} Paragraph {i} of the story." for i in range(extra_lines)]
    merging = "\n".join(["a\u0345b"] * 30 + ["\u0345c"] * 30)
    for text in [reference + "\n" + "\n".join(filler), "\n".join(filler) + "\n" + reference, merging,
                 reference + "\nError 404 for request 7 of 9 on server 12 at 3 pm, try again later.",
                 "Sorry, we are very sorry about this.\n" + reference,
                 reference.replace("Return", "Go back"), "\n".join(filler)]:
        current = snap(text)
        current.full_text = "Home | News\n" + text
        for ref in (reference, merging, text):
            assert verdict_module._closeness(current, ref, lines_of, cutoff) == \
                _closeness_in_full(current, ref, lines_of, cutoff)


def test_site_serving_one_shell_page_for_every_url_is_not_soft_404():
    shell = "Loading the application, please enable JavaScript to continue reading this site."
    previous = snap(shell + "\nCloudWalk signed an agreement with Zimbabwe.")
    current = snap(shell + "\nCloudWalk signed an agreement with Zimbabwe in 2018.")
    verdict = judge(previous, current, not_found_text=shell)
    assert verdict.state == "altered"


def test_probe_given_as_all_visible_text_still_matches():
    nav = "Home News Business Technology Opinion Sport\n"
    footer = "\nCopyright 2024 The Herald. All rights reserved."
    probe = nav + "/no-such-page-77 " + EN_PROBE + footer
    current = snap(EN_PROBE)
    current.full_text = nav + EN_PROBE + footer
    assert similarity(current.text, probe) < SOFT_404_MIN
    verdict = judge(snap(EN_ARTICLE), current, not_found_text=probe)
    assert verdict.state == "deleted"
    assert "site's not-found page" in verdict.reason


def test_redirect_to_site_root_without_anything_to_compare_is_not_deleted():
    verdict = judge(None, snap(EN_HOME, redirects=[(302, "https://zimbabwe.misa.org/")]))
    assert verdict.state == "new"
    assert "redirected (302) to https://zimbabwe.misa.org/" in verdict.reason


def test_tracking_the_home_page_itself_is_not_deleted():
    home = "https://www.tzku.cn/"
    verdict = judge(zh(ZH_HOME, url=home), zh(ZH_HOME + "\n新闻一则", url=home), home_text=ZH_HOME)
    assert verdict.state == "altered"


def test_files_without_text_report_no_similarity():
    verdict = judge(zh("", kind="pdf", body="%PDF-scan-1"), zh("", kind="pdf", body="%PDF-scan-2"))
    assert (verdict.state, verdict.similarity) == ("altered", None)


def test_not_modified_keeps_the_previous_baseline():
    verdict = judge(snap(EN_ARTICLE), snap(status=304))
    assert (verdict.state, verdict.good) == ("unchanged", False)
    assert judge(None, snap(status=304)).state == "unreachable"


def test_unreachable_reason_is_readable():
    verdict = judge(zh(ZH_ARTICLE), zh(status=None, error_kind="dns", error="Name or service not known"))
    assert verdict.reason == (
        "dns: the host name could not be resolved (DNS failure) (Name or service not known); "
        "the last good capture stands"
    )
    assert verdict.similarity is None


def test_similarity_is_reported_against_the_previous_capture():
    verdict = judge(snap(EN_ARTICLE), snap(EN_ARTICLE.replace("In March 2018", "In March 2019")))
    assert 0.95 < verdict.similarity < 1.0
    assert "similarity 0.99 to the previous capture" in verdict.reason


def test_a_tiny_edit_never_reads_as_similarity_one():
    verdict = judge(zh(ZH_ARTICLE), zh(ZH_ARTICLE.replace("3000万", "300万")))
    assert verdict.similarity > 0.995
    assert "similarity 0.99 " in verdict.reason


def test_judging_and_quote_checks_load_no_chinese_word_dictionary():
    """A capture pass describes thousands of edits: Chinese ones are compared character by
    character, so neither the pass nor its extraction workers load jieba's 60 MB dictionary."""
    script = """
import sys
from archiver.quotes import check_quote
from archiver.verdict import Snapshot, judge
def snap(text):
    return Snapshot("http://gov.example.cn/a", "http://gov.example.cn/a", 200, [], text, text,
                    None, None, None, None)
before = "项目于2018年3月启动。共安装高清摄像头1200台，覆盖全市主要路口。"
after = "项目于2018年3月启动。共安装高清摄像头1800台，覆盖全市主要路口。"
verdict = judge(snap(before), snap(after))
match = check_quote("共安装高清摄像头1200台", after)
print(verdict.state, "|", verdict.reason, "|", match.status, "|", match.detail, "|", "jieba" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    state, reason, status, detail, jieba_loaded = (part.strip() for part in out.split("|"))
    assert (state, status, jieba_loaded) == ("altered", "missing", "False")
    assert "'1200' -> '1800'" in reason and "'1200' -> '1800'" in detail
