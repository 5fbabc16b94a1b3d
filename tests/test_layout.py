"""Where texts sit in a page (archiver.layout), on pages parsed by the real extractor."""

from __future__ import annotations

from archiver.extract import extract
from archiver.layout import PageLayout, text_key
from archiver.verdict import comparable_lines

TEASERS = "".join(
    f'<div class="teaser"><h3><a href="/n/{i}.html">Headline number {i} about the harbour</a></h3>'
    f"<p>A short summary of story {i}, which readers may like.</p></div>"
    for i in range(4)
)
PAGE = f"""<html><head><title>Cycle lanes</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/local">Local</a></li></ul></nav>
<div class="wrap">
 <p class="lead">Councillors voted on Tuesday to build 40 kilometres of protected cycle lanes.</p>
 <div class="body">
  <p>The plan, which will cost 35,000 pounds a kilometre, was approved by nine votes to four.</p>
  <p>Opponents said the lanes would slow buses on the harbour road, a claim the council disputes.</p>
  <p>Work is due to start in the spring and to be finished within <a href="/two">two years</a>.</p>
 </div>
</div>
<aside>{TEASERS}</aside>
<footer><p>The Harbour Ledger, 12 Quay Street. All rights reserved.</p></footer>
</body></html>"""

ZH_PAGE = """<html><head><meta charset="utf-8"><title>视频监控建设项目公告</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/xw/">新闻</a> <a href="/zw/">政务公开</a></div>
<div class="article"><h1>视频监控建设项目公告</h1>
<p>项目由示例视觉科技有限公司承建，在全市四个城区共安装高清摄像头1200台，并接入市公安局指挥平台。</p>
<p>项目总投资8600万元，计划于2019年12月底前完成建设并投入使用。</p></div>
<div class="list"><ul><li><a href="/a/1.html">全市经济运行调度会召开</a></li><li><a href="/a/2.html">我市出台支持民营经济发展二十条措施</a></li></ul></div>
<div class="footer">版权所有：某市人民政府　网站标识码：3301000001</div>
</body></html>"""


def layout(html: str) -> tuple[PageLayout, list[str]]:
    found = extract(html.encode("utf-8"), "text/html; charset=utf-8", "http://news.example/a", keep_tree=True)
    assert found.tree is not None
    return PageLayout(found.tree), comparable_lines(found.text)


def test_shows_ignores_spacing_width_and_quote_marks():
    page, _ = layout(PAGE.replace("a claim the council", "“a claim” the council"))
    assert page.shows('a claim" the council disputes.')
    assert page.shows("Councillors voted on Tuesday to build 40 kilometres")
    assert not page.shows("Councillors voted on Tuesday to build 41 kilometres")
    zh, _ = layout(ZH_PAGE)
    assert zh.shows("项目总投资８６００万元")  # full-width digits fold as in the main text
    assert text_key("a  b\nc") == "a b c" and text_key("中 文") == "中文"


def test_link_share_and_teasers():
    page, _ = layout(PAGE)
    assert page.link_share("Home World Local") == 1.0
    assert page.link_share("The plan, which will cost 35,000 pounds a kilometre, was approved by nine votes to four.") == 0
    summary = "A short summary of story 2, which readers may like."
    assert page.link_share(summary) == 0 and page.furniture_share(summary) == 1.0
    # a link inside an article paragraph does not make the paragraph a teaser
    assert page.furniture_share("Work is due to start in the spring and to be finished within two years.") < 0.5
    assert page.furniture_share("not on the page at all") == 0.0


def test_article_span_takes_the_lead_with_the_body_and_leaves_the_template_out():
    page, lines = layout(PAGE)
    span = page.article_span(lines)
    assert span is not None and span.element.get("class") == "wrap"
    assert page.in_span("Opponents said the lanes would slow buses on the harbour road", span)
    assert page.in_span("Councillors voted on Tuesday to build 40 kilometres of protected cycle lanes.", span)
    assert page.in_span("A short summary of story 1, which readers may like.", span) is False
    assert page.in_span("The Harbour Ledger, 12 Quay Street. All rights reserved.", span) is False
    assert page.in_span("a line the page does not show", span) is None
    assert page.distance("Opponents said the lanes would slow buses", span) == 0
    assert page.distance("The Harbour Ledger, 12 Quay Street.", span) > 100


def test_article_span_on_a_chinese_page():
    page, lines = layout(ZH_PAGE)
    whole = page.article_span(lines)  # this small page's main text is the whole page
    assert whole is not None and whole.element.tag == "body"
    article = [line for line in lines if "项目" in line]
    span = page.article_span(article)
    assert span is not None and span.element.get("class") == "article"
    assert page.in_span("我市出台支持民营经济发展二十条措施", span) is False
    assert page.in_span("项目总投资8600万元，计划于2019年12月底前完成建设并投入使用。", span)


def test_article_span_needs_most_of_the_text_on_the_page():
    page, _ = layout(PAGE)
    assert page.article_span(["A paragraph that is nowhere on this page at all, long enough.", "Another one."]) is None
    assert page.article_span([]) is None
