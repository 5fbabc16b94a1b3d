"""Verdicts that look at the page itself (rules 5f and 6 of archiver.verdict), judged as the
extraction worker judges them: archiver.tasks.extract_and_judge on real page bodies, English and
Chinese, with the previous capture as the store holds it (its main text only)."""

from __future__ import annotations

import hashlib

import pytest

from archiver.extract import extract
from archiver.tasks import Judging, extract_and_judge
from archiver.verdict import Snapshot, judge

URL = "http://news.example/local/2024/03/12/cycle-lanes"

EN_ARTICLE = [
    "Councillors voted on Tuesday to build 40 kilometres of protected cycle lanes across the city.",
    "The plan, which will cost 35,000 pounds a kilometre, was approved by nine votes to four after a long debate.",
    "Opponents said the lanes would slow buses on the harbour road, a claim the council's engineers dispute.",
    "Work is due to start in the spring and to be finished within two years, the transport committee said.",
    "A public consultation last year drew more than 2,000 responses, most of them in favour of the scheme.",
]
ZH_ARTICLE = [
    "市政府常务会议研究通过了全市视频监控建设三年行动方案，计划在四个城区新增高清摄像头一万二千台。",
    "方案提出，到2025年底前实现重点区域、重要路口和居民小区视频监控全覆盖，并接入市公安局指挥平台。",
    "项目总投资约八亿六千万元，由市财政和各区财政按比例分担，建设单位通过公开招标确定。",
    "会议要求各部门加强数据安全管理，严格落实个人信息保护有关规定，确保系统安全稳定运行。",
    "市公安局负责人介绍，项目建成后将显著提升城市治理和公共安全服务水平。",
]
EN_TEASERS = [
    ("Markets slide as central bank signals rate rise", "Shares fell sharply on Monday as traders priced in a rise."),
    ("The quiet collapse of the regional rail plan", "How a flagship project lost its funding, one year at a time."),
    ("Ten years on, what happened to the harbour tunnel?", "We went back to the site to see what was built."),
    ("Inside the fight over the new stadium", "Residents and the club disagree over who should pay for it."),
    ("Why rents are rising faster than wages", "Our analysis of ten years of data shows a widening gap."),
]
ZH_TEASERS = [
    ("全市经济运行调度会召开", "会议部署做好年末各项工作，确保完成全年目标任务。"),
    ("我市出台支持民营经济发展二十条措施", "措施涵盖融资、用地、人才等方面，自发布之日起施行。"),
    ("地铁3号线二期工程全面开工", "工程全长十八公里，设站十二座，预计三年内建成通车。"),
    ("春节期间全市旅游收入同比增长12%", "全市接待游客人次和旅游收入均创历史同期新高。"),
    ("市政府与某大学签署战略合作协议", "双方将在人才培养、科技创新等领域深化合作。"),
]


def page(lang: str, article: list[str] | None, *, footer: str = "", teasers_reversed: bool = False,
         extra_article: str = "", aside_counter: str = "1,024", lead: str | None = None) -> bytes:
    """A news page: menu, the article (or an empty article element), teasers, a footer."""
    teasers = (EN_TEASERS if lang == "en" else ZH_TEASERS)[:]
    if teasers_reversed:
        teasers.reverse()
    items = "".join(f'<div class="teaser"><h3><a href="/n/{i}.html">{title}</a></h3><p>{summary}</p></div>'
                    for i, (title, summary) in enumerate(teasers))
    menu = ("Home World Business Local Opinion" if lang == "en" else "首页 新闻中心 政务公开 办事服务 互动交流").split()
    nav = "".join(f'<li><a href="/{i}/">{word}</a></li>' for i, word in enumerate(menu))
    title = "Cycle lanes approved" if lang == "en" else "视频监控建设三年行动方案通过"
    body = "".join(f"<p>{p}</p>" for p in article or [])
    standfirst = f'<p class="standfirst">{lead}</p>' if lead else ""
    views = f"Views: {aside_counter}" if lang == "en" else f"浏览次数：{aside_counter}"
    return f"""<html><head><meta charset="utf-8"><title>{title}</title></head><body>
<header><ul class="menu">{nav}</ul></header>
<main><div class="story"><h1>{title}</h1>{standfirst}<div class="story-body">{body}{extra_article}</div></div>
<aside><h2>{"More stories" if lang == "en" else "其他新闻"}</h2>{items}<p class="stats">{views}</p></aside></main>
<footer><p>{"The Harbour Ledger. All rights reserved." if lang == "en" else "版权所有：某市人民政府"} {footer}</p></footer>
</body></html>""".encode()


def first_capture(body: bytes) -> Snapshot:
    """The previous good capture as the store gives it back: main text only (full_text = text)."""
    found = extract(body, "text/html; charset=utf-8", URL)
    return Snapshot(URL, URL, 200, [], found.text, found.text, hashlib.sha256(body).hexdigest(),
                    hashlib.sha256(found.text.encode()).hexdigest(), None, None, "html", found.title)


def judged(previous_body: bytes, body: bytes):
    current = Snapshot(URL, URL, 200, [], "", "", hashlib.sha256(body).hexdigest(), None, None, None, "other")
    judging = Judging(current, first_capture(previous_body), None, None, 40, False)
    return extract_and_judge(body, "text/html; charset=utf-8", judging)[3]


ARTICLES = {"en": EN_ARTICLE, "zh": ZH_ARTICLE}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_article_emptied_inside_its_template_is_deleted(lang):
    verdict = judged(page(lang, ARTICLES[lang]), page(lang, None))
    assert verdict.state == "deleted", verdict.reason
    assert verdict.reason.startswith("article body emptied")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_article_replaced_by_teasers_in_its_place_is_deleted(lang):
    """The extractor now returns the teaser list (headline links with a summary each): furniture."""
    teasers = EN_TEASERS if lang == "en" else ZH_TEASERS
    in_place = "".join(f'<div class="item"><h3><a href="/r/{i}.html">{t}</a></h3><p>{s}</p></div>'
                       for i, (t, s) in enumerate(teasers * 2))
    verdict = judged(page(lang, ARTICLES[lang]), page(lang, None, extra_article=in_place))
    assert verdict.state == "deleted", verdict.reason


OTHER = {
    "en": [
        "The harbour authority has postponed the sale of the old ferry terminal until next summer.",
        "Three bidders had been shortlisted, but the authority said none of the offers met its conditions.",
        "Local businesses welcomed the delay, saying the site should be kept for public use.",
        "The authority will publish a new plan for the terminal after a review of its finances.",
    ],
    "zh": [
        "第十届农业博览会在市会展中心开幕，来自全国各地的三百余家企业参展，展品涵盖粮油、果蔬和茶叶。",
        "市农业农村局负责人介绍，本届博览会突出绿色发展主题，设置了乡村振兴成果展区和直播带货专区。",
        "开幕当天，现场签约项目二十六个，签约金额超过十五亿元。",
        "博览会将持续五天，免费向市民开放。",
    ],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_article_replaced_by_another_article_is_altered_not_deleted(lang):
    verdict = judged(page(lang, ARTICLES[lang]), page(lang, OTHER[lang]))
    assert verdict.state == "altered", verdict.reason


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_paragraph_removed_or_a_number_edited_is_altered(lang):
    article = ARTICLES[lang]
    removed = judged(page(lang, article), page(lang, article[:2] + article[3:]))
    assert removed.state == "altered", removed.reason
    edited = [p.replace("2", "3", 1) if "2" in p else p for p in article]
    assert edited != article
    number = judged(page(lang, article), page(lang, edited))
    assert number.state == "altered", number.reason


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_noise_is_unchanged(lang):
    article = ARTICLES[lang]
    noisy = page(lang, article, footer="Page generated 2024-05-01 10:02 (build 7731)", teasers_reversed=True,
                 aside_counter="58,211")
    verdict = judged(page(lang, article), noisy)
    assert verdict.state == "unchanged", verdict.reason


def test_a_line_the_extractor_newly_takes_from_outside_the_article_is_not_a_change():
    """Rule 6: the main text grows by a line that sits outside the article's element: the boundary
    moved, the article did not change."""
    article = ARTICLES["en"]
    before = first_capture(page("en", article))
    joined = before.text + "\nThe Harbour Ledger. All rights reserved."
    current_body = page("en", article)
    found = extract(current_body, "text/html; charset=utf-8", URL, keep_tree=True)
    from archiver.layout import PageLayout

    current = Snapshot(URL, URL, 200, [], joined, found.full_text, "other-sha", None, None, None, "html",
                       found.title, page=PageLayout(found.tree))
    verdict = judge(before, current)
    assert verdict.state == "unchanged", verdict.reason
    assert "where the extractor drew its line" in verdict.reason
    # without the page, the same texts are an alteration: rule 6 needs to see where the line sits
    current.page = None
    assert judge(before, current).state == "altered"


def test_a_line_that_left_the_main_text_but_is_still_in_the_article_is_not_a_removal():
    article = ARTICLES["en"]
    before = first_capture(page("en", article))
    body = page("en", article)
    found = extract(body, "text/html; charset=utf-8", URL, keep_tree=True)
    from archiver.layout import PageLayout

    dropped = "\n".join(line for line in found.text.splitlines() if not line.startswith("Opponents"))
    current = Snapshot(URL, URL, 200, [], dropped, found.full_text, "other-sha", None, None, None, "html",
                       found.title, page=PageLayout(found.tree))
    assert judge(before, current).state == "unchanged"
    removed = page("en", [p for p in article if not p.startswith("Opponents")])
    assert judged(page("en", article), removed).state == "altered"


def test_an_edited_lead_next_to_the_article_is_altered():
    """An edit in a line outside the article's element counts when it stands next to the article."""
    article = ARTICLES["en"]
    lead = "The city will spend 12 million pounds on the lanes over the next two years, officials said."
    verdict = judged(page("en", article, lead=lead), page("en", article, lead=lead.replace("12", "21")))
    assert verdict.state == "altered", verdict.reason
