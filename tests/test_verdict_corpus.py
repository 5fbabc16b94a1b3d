"""End-to-end proof of the change verdicts (issue 3): a corpus of page pairs, two real passes.

Round 1 serves the original pages from loopback web sites and runs the real capture pass
(fetch, decode, extract, not-found probe and home page, judge, store in a SQLite file). Round 2
changes every page the way the web changes pages (noise only, edits, moves, deletions, outages)
and runs the pass again. Each case is then checked on its own: the source's state, the verdict
and reason stored on the round-2 capture, and for some cases whether a quoted passage is still
there. `pytest -s` prints the confusion table (expected x actual) reported in docs/verdicts.md.

The sites, one per publisher, as researchers meet them:
- news  127.0.0.1  an English news site; real 404s for unknown paths.
- gov   127.0.0.2  a Chinese city government portal (GBK, table layout); real 404s.
- media 127.0.0.3  a Chinese state-media site that answers *every* unknown path with status 200
                   and a "temporarily unavailable" page (only the not-found probe can tell).
- zhco  127.0.0.4  a Chinese company's news centre (UTF-8).
- ngo   127.0.0.5  an English NGO; also answers unknown paths with 200.
- enco  127.0.0.6  an English company's case studies.
- new   127.0.0.7  the new domain some pages move to.
- down  127.0.0.8  a site that is switched off between the rounds (connection refused).
(Where only 127.0.0.1 exists, as on macOS, each site gets its own port there instead.)

Quotes: some cases cite a passage. The evidence plugin checks it as each capture is stored
(QuoteCheck rows), and the test also checks it against the stored texts with check_quote.
"""

from __future__ import annotations

import io
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from archiver.capture import run_pass
from archiver.config import Config
from archiver.db import open_database
from archiver.models import Capture, Source
from archiver.quotes import check_quote
from archiver.sources import add_source
from archiver.store import get_text
from evidence.models import Citation, Claim, QuoteCheck
from tests.siteserver import Site

CORPUS = Path(__file__).parent / "corpus"
ARTICLES = tomllib.loads((CORPUS / "articles.toml").read_text(encoding="utf-8"))
STATES = ("new", "unchanged", "altered", "moved", "deleted", "unreachable")
# The time limit for one page in these passes. Generous for loopback, because the pass judges
# pages on its event loop (the first Chinese diff loads jieba, about a second) while the other
# fetches' clocks run, and test machines are often busy.
TOTAL_TIMEOUT = 4.0
SLOW = 8.0  # how long a "timeout" page keeps the client waiting

GB2312_META = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
UTF8_META = '<meta charset="utf-8">'
BIG5_META = '<meta http-equiv="Content-Type" content="text/html; charset=big5">'

ZH_HEADLINES = [
    "全市经济运行调度会召开 部署做好年末各项工作", "我市出台支持民营经济发展二十条措施", "市领导调研重点项目建设情况",
    "地铁3号线二期工程全面开工", "我市入选全国文明城市提名城市", "市人大常委会召开第十八次会议",
    "关于开展安全生产大检查的通知", "春节期间全市旅游收入同比增长12%", "市政府与某大学签署战略合作协议",
    "全市优化营商环境大会召开", "我市启动城市更新三年行动", "2024年全市高考考点设置公布",
]
ZH_SECTION_LIST = [
    "市农业农村局开展春季动物防疫督导检查", "市水利局召开防汛抗旱工作部署会", "市卫健委发布流感防控健康提示",
    "市教育局举行中小学校长培训班开班仪式", "市市场监管局开展食品安全专项整治", "市交通运输局推进农村公路提档升级",
    "市生态环境局通报一季度空气质量状况", "市税务局举办减税降费政策宣讲会", "市文旅局公布第五批非遗代表性项目名录",
]
HK_HEADLINES = ["立法會通過撥款議案", "港鐵新線明年通車", "天文台發出酷熱天氣警告", "恆指收市升三百點",
                "政府公佈施政報告諮詢", "機管局擴建三跑道系統", "教育局推出新課程", "食環署加強街市巡查"]
EN_HEADLINES = [
    "Markets slide as central bank signals rate rise", "The quiet collapse of the regional rail plan",
    "Ten years on, what happened to the harbour tunnel?", "Shipping giant posts record profit",
    "Election 2024: the seats to watch", "Inside the fight over the new stadium",
    "Heatwave warning issued for the weekend", "Why rents are rising faster than wages",
    "Opinion: the port deal needs scrutiny", "Five things we learnt from the budget",
    "Police chief resigns after inquiry", "Ferry strike called off at last minute",
]


# --- pages -------------------------------------------------------------------------------------


def headlines(lang: str, turn: int) -> str:
    """A sidebar list: a different selection for each turn, as "most read" lists change daily."""
    pool = {"zh": ZH_HEADLINES, "hk": HK_HEADLINES, "en": EN_HEADLINES}[lang]
    start = turn * 5
    items = [pool[(start + i) % len(pool)] for i in range(6)]
    return "\n".join(f'<li><a href="/n/{start + i}.html">{item}</a></li>' for i, item in enumerate(items))


def _wrap(text: str) -> str:
    """Break a paragraph across source lines the way another editor would."""
    if " " in text:
        at = text.find(" ", len(text) // 3)
        return text[:at] + "\n        " + text[at + 1:] if at > 0 else text
    third = len(text) // 3
    return text[:third] + "\n        " + text[third:]


def body_html(paragraphs: list[str], style: str = "plain") -> str:
    """The article body. "cms" is the same text as another CMS would mark it up: styled spans
    splitting each paragraph, full-width indentation, source line breaks, character entities."""
    if style == "plain":
        return "\n".join(f"<p>{p}</p>" for p in paragraphs)
    out = []
    for p in paragraphs:
        cut = len(p) // 2
        if " " in p:
            cut = p.rfind(" ", 0, cut) + 1
        first, second = _wrap(p[:cut]), p[cut:]
        indent = "" if " " in p else "　　"
        markup = (
            f'<p class="MsoNormal" style="text-indent:2em;line-height:200%">\n'
            f'    <span style="font-family:宋体;font-size:16px">{indent}{first}</span><span\n'
            f'      style="font-size:16px">{second}</span></p>'
        )
        out.append(markup.replace("“", "&ldquo;").replace("”", "&rdquo;"))
    return "\n".join(out)


def render(template: str, key: str, *, paragraphs: list[str] | None = None, style: str = "plain",
           meta: str = UTF8_META, charset: str = "utf-8", counter: str = "1,024", updated: str = "",
           hot: int = 0, ad: str = "", footer: str = "", title: str | None = None,
           body: str | None = None) -> str:
    """One page of a corpus template filled with an article (see tests/corpus/)."""
    article = ARTICLES[key]
    lang = "hk" if template == "zh_hk" else ("zh" if template.startswith("zh") else "en")
    slots = {
        "META": meta,
        "CHARSET": charset,
        "TITLE": title or article["title"],
        "COLUMN": "工作动态",
        "DATE": article["date"],
        "SOURCE": article.get("source", ""),
        "EDITOR": article["editor"],
        "UPDATED": updated,
        "COUNTER": counter,
        "BODY": body if body is not None else body_html(paragraphs or article["paragraphs"], style),
        "HOT": headlines(lang, hot),
        "RELATED": headlines(lang, hot + 1),
        "AD": ad,
        "FOOTER": footer,
    }
    html = (CORPUS / f"{template}.html").read_text(encoding="utf-8")
    for name, value in slots.items():
        html = html.replace("{{" + name + "}}", value)
    assert "{{" not in html, f"unfilled slot in {template}"
    return html


def paragraphs(key: str) -> list[str]:
    return list(ARTICLES[key]["paragraphs"])


def edited(key: str, old: str, new: str) -> list[str]:
    """The article's paragraphs with one edit made inside the text."""
    text = "\n".join(paragraphs(key))
    assert text.count(old) == 1, old
    return text.replace(old, new).split("\n")


def home_page(name: str, lang: str) -> str:
    """A portal home page: navigation and lists of headlines, no article."""
    pool = ZH_HEADLINES if lang == "zh" else EN_HEADLINES
    nav = "首页 新闻 政务公开 政务服务 互动交流" if lang == "zh" else "Home World Business Technology Opinion"
    items = "\n".join(f'<li><a href="/n/{i}.html">{h}</a> <span>2024-05-{i + 1:02d}</span></li>' for i, h in enumerate(pool))
    box = "要闻" if lang == "zh" else "Top stories"
    return (
        f"<html><head>{UTF8_META}<title>{name}</title></head><body><div class='nav'>{nav}</div>"
        f"<div class='box'><h2>{box}</h2><ul>{items}</ul></div>"
        f"<div class='footer'>{name} {'版权所有' if lang == 'zh' else 'All rights reserved'}</div></body></html>"
    )


def make_pdf(lines: list[str], title: str) -> bytes:
    """A minimal one-page PDF with a Helvetica text layer, built by hand."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    stream = b"BT /F1 11 Tf 14 TL 72 720 Td\n" + b"".join(b"(" + line.encode("latin-1") + b") Tj T*\n" for line in escaped) + b"ET"
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        5: b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        6: b"<< /Title (" + title.encode("latin-1") + b") /Producer (Report Writer 1.0) /CreationDate (D:20231201090000Z) >>",
    }
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 7\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, 7))
    out += b"trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def regenerated(pdf: bytes) -> bytes:
    """The same document written again by another program: new metadata, compressed streams."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Producer": "Another PDF Library 9.2", "/CreationDate": "D:20240315120000Z",
                         "/ModDate": "D:20240315120000Z"})
    for page in writer.pages:
        page.compress_content_streams()
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


REPORT_LINES = [
    "Annual Report 2023",
    "Our investigators visited 41 factories in six provinces.",
    "We found evidence of forced labour risks at 17 of them.",
    "Revenue from donations rose to 2.4 million dollars.",
]


def gbk(html: str) -> bytes:
    return html.encode("gbk")


def zh_not_found_page() -> bytes:
    return gbk(
        "<html><head><title>404错误页面</title></head><body><div class='err'><img src='/images/404.png'>"
        "<p>抱歉，您访问的页面不存在或已被删除！</p><p><a href='/'>返回首页</a></p></div></body></html>"
    )


EN_NOT_FOUND_404 = (
    "<html><head><title>Page not found | The Harbour Ledger</title></head><body><header>The Harbour Ledger</header>"
    "<h1>404</h1><p>The page you requested could not be found.</p></body></html>"
)
MEDIA_SOFT_404 = render(
    "zh_media", "zh_labour", title="温馨提示",
    body="<p>您所请求的稿件暂时无法访问，请返回首页浏览其他内容。</p><p>感谢您对某某新闻网的关注。</p>",
)
NGO_SOFT_404 = render(
    "en_ngo", "en_cotton", title="Oops",
    body="<p>Oops! This page seems to have wandered off. Try the search box above or browse our latest research.</p>",
)
META_REFRESH_HOME = (
    '<html><head><meta http-equiv="refresh" content="0; url=/"><title>跳转中</title></head>'
    "<body><p>页面跳转中……</p></body></html>"
)


JS_CHALLENGE = (
    '<html><head><meta charset="utf-8"><script type="text/javascript" r="m">'
    "$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=48761;$_ts.cd='qGrcrAAlqEWlrGALqqqsqrqlqrcxrGAx';"
    '</script><script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.dfe1675.js"></script>'
    '</head><body><script type="text/javascript" r="m">$_ts.l__(function(){return 1;});</script></body></html>'
)


# --- the web the cases are served from -----------------------------------------------------------


@dataclass
class Web:
    news: Site
    gov: Site
    media: Site
    zhco: Site
    ngo: Site
    enco: Site
    new: Site
    down: Site

    def sites(self) -> list[Site]:
        return [self.news, self.gov, self.media, self.zhco, self.ngo, self.enco, self.new, self.down]


@dataclass
class Case:
    """One page pair: what round 1 and round 2 serve, and what the archiver must conclude.

    reason: a phrase the round-2 verdict's reason must contain (the rule that decided).
    quote: a passage cited from the page; quote_after: its expected status in round 2 (None:
    not checked, since an unreachable page says nothing new about it).
    """

    name: str
    lang: str
    expected: str
    reason: str
    serve: Callable[[Web, int], str]
    quote: str | None = None
    quote_after: str | None = None


CASES: list[Case] = []


def case(name: str, lang: str, expected: str, reason: str, quote: str | None = None, quote_after: str | None = None):
    def register(serve: Callable[[Web, int], str]):
        CASES.append(Case(name, lang, expected, reason, serve, quote, quote_after))
        return serve

    return register


# --- Chinese: unchanged despite noise --------------------------------------------------------------


@case("zh-gov-counter-and-update-stamp", "zh", "unchanged", "", quote="新增高清摄像机3.5万路", quote_after="present")
def _(w: Web, rnd: int) -> str:
    stamp = "更新时间：2018-03-05 11:20" if rnd == 1 else "更新时间：2024-05-01 08:03"
    counter = "1234" if rnd == 1 else "58211"
    html = render("zh_gov", "zh_police", meta=GB2312_META, counter=counter, updated=stamp, hot=rnd)
    return w.gov.set("/art/2018/3/5/art_1229_5501.html", gbk(html), content_type="text/html")


@case("zh-media-hot-news-and-reads", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    html = render("zh_media", "zh_datacentre", counter="3.2万" if rnd == 1 else "10.6万", hot=rnd * 2)
    return w.media.set("/world/2019-04/10/c_1124350001.htm", html)


@case("zh-gov-footer-line", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    footer = "您是第102345位访问者" if rnd == 1 else "您是第109876位访问者　本网站支持IPv6访问　建议使用1920×1080分辨率浏览"
    html = render("zh_gov", "zh_meeting", meta=GB2312_META, footer=footer)
    return w.gov.set("/art/2019/4/12/art_1229_6120.html", gbk(html), content_type="text/html")


@case("zh-media-banner-ad", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    ad = "某某银行信用卡 首年免年费 立即申请" if rnd == 1 else "广告 某某手机新品首发 限时优惠 点击抢购"
    return w.media.set("/local/2019-02/20/c_1124140002.htm", render("zh_media", "zh_labour", ad=ad))


@case("zh-gbk-reserved-as-utf8", "zh", "unchanged", "", quote="初级工每人800元", quote_after="present")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        return w.gov.set("/art/2018/6/20/art_1230_7001.html", gbk(render("zh_gov", "zh_policy", meta=GB2312_META)),
                         content_type="text/html")
    return w.gov.set("/art/2018/6/20/art_1230_7001.html", render("zh_gov", "zh_policy", meta=UTF8_META),
                     content_type="text/html; charset=utf-8")


@case("zh-undeclared-gbk-reserved-as-utf8", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        return w.gov.set("/art/2018/3/5/art_1229_5502.html", gbk(render("zh_gov", "zh_police", meta="")),
                         content_type="text/html")
    return w.gov.set("/art/2018/3/5/art_1229_5502.html", render("zh_gov", "zh_police", meta=UTF8_META),
                     content_type="text/html")


@case("zh-gov-new-cms-markup", "zh", "unchanged", "", quote="取得职业资格证书或职业技能等级证书", quote_after="present")
def _(w: Web, rnd: int) -> str:
    html = render("zh_gov", "zh_policy", meta=GB2312_META, style="plain" if rnd == 1 else "cms")
    if rnd == 2:
        html = "\n".join(line.strip() for line in html.splitlines())
    return w.gov.set("/art/2018/6/20/art_1230_7002.html", gbk(html), content_type="text/html")


@case("zh-big5-counter-and-hot-news", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    html = render("zh_hk", "zh_hk", meta=BIG5_META, counter="845" if rnd == 1 else "2,310", hot=rnd)
    return w.media.set("/hk/20200915/bkn-20200915112000.htm", html.encode("big5"), content_type="text/html")


@case("zh-company-entities-and-full-width", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_port")
    if rnd == 2:
        text[1] = text[1].replace("5.8亿美元", "５.８亿美元").replace("3个", "３个")
    return w.zhco.set("/news/2018/0518/352.html", render("zh_company", "zh_port", paragraphs=text,
                                                         style="plain" if rnd == 1 else "cms"))


@case("zh-byline-reads-and-inline-ad-in-body", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    reads = "阅读：3456" if rnd == 1 else "阅读：12876"
    ad = "某某银行信用卡 首年免年费 立即申请" if rnd == 1 else "某某手机新品首发 限时优惠 点击抢购"
    text = paragraphs("zh_datacentre")
    body = (
        f'<p class="byline">来源：新华网　作者：李某　{reads}</p>\n'
        + "\n".join(f"<p>{p}</p>" for p in text[:2])
        + f'\n<div class="ad-inline"><a href="https://ad.example.cn/c?id=7"><span>广告</span>{ad}</a></div>\n'
        + "\n".join(f"<p>{p}</p>" for p in text[2:])
    )
    return w.media.set("/world/2019-04/10/c_1124350006.htm", render("zh_media", "zh_datacentre", body=body))


@case("zh-wrong-charset-declaration-corrected", "zh", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        html = render("zh_gov", "zh_meeting", meta='<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />')
        return w.gov.set("/art/2019/4/12/art_1229_6124.html", gbk(html), content_type="text/html; charset=utf-8")
    return w.gov.set("/art/2019/4/12/art_1229_6124.html", render("zh_gov", "zh_meeting", meta=UTF8_META),
                     content_type="text/html; charset=utf-8")


# --- Chinese: altered ----------------------------------------------------------------------------------


@case("zh-year-edited", "zh", "altered", "'2018' -> '2019'", quote="双方将在2018年底前建成覆盖全市主要街道", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_police") if rnd == 1 else edited("zh_police", "2018年底前", "2019年底前")
    html = render("zh_gov", "zh_police", paragraphs=text, meta=GB2312_META)
    return w.gov.set("/art/2018/3/5/art_1229_5503.html", gbk(html), content_type="text/html")


@case("zh-number-edited-with-new-counter", "zh", "altered", "1200", quote="首批1200名农村富余劳动力", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_labour") if rnd == 1 else edited("zh_labour", "首批1200名", "首批2100名")
    html = render("zh_media", "zh_labour", paragraphs=text, counter="1.2万" if rnd == 1 else "1.9万", hot=rnd)
    return w.media.set("/local/2019-02/20/c_1124140003.htm", html)


@case("zh-paragraph-removed", "zh", "altered", "1 paragraph removed", quote="高级工每人2000元", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_policy")
    if rnd == 2:
        del text[4]
    html = render("zh_gov", "zh_policy", paragraphs=text, meta=GB2312_META)
    return w.gov.set("/art/2018/6/20/art_1230_7003.html", gbk(html), content_type="text/html")


@case("zh-paragraph-added", "zh", "altered", "1 paragraph added", quote="配备服务器机柜400个", quote_after="present")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_datacentre")
    if rnd == 2:
        text.insert(2, "据悉，该数据中心还将接入该国警方的城市视频监控系统，实现全国治安数据集中存储和分析。")
    return w.media.set("/world/2019-04/10/c_1124350002.htm", render("zh_media", "zh_datacentre", paragraphs=text))


@case("zh-word-edited", "zh", "altered", "1 paragraph changed", quote="当地警方可实时调阅重点区域视频画面", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_safecity") if rnd == 1 else edited("zh_safecity", "当地警方可实时", "当地政府可实时")
    return w.zhco.set("/news/2019/1102/418.html", render("zh_company", "zh_safecity", paragraphs=text))


@case("zh-correction-appended", "zh", "altered", "1 paragraph added", quote="合同金额约5.8亿美元", quote_after="present")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("zh_port")
    if rnd == 2:
        text.append("更正：本文此前版本将开工仪式日期误写为5月8日，现已更正为5月18日。")
    return w.zhco.set("/news/2018/0518/353.html", render("zh_company", "zh_port", paragraphs=text))


# --- Chinese: moved --------------------------------------------------------------------------------------


@case("zh-moved-301-same-site", "zh", "moved", "permanently redirected (301)", quote="项目总投资约12亿元", quote_after="present")
def _(w: Web, rnd: int) -> str:
    html = gbk(render("zh_gov", "zh_police", meta=GB2312_META))
    if rnd == 1:
        return w.gov.set("/art/2018/3/5/art_1229_5504.html", html, content_type="text/html")
    w.gov.set("/zwgk/xxgk/2018/03/05/5504.html", html, content_type="text/html")
    return w.gov.redirect("/art/2018/3/5/art_1229_5504.html", "/zwgk/xxgk/2018/03/05/5504.html", 301)


@case("zh-moved-308-new-domain", "zh", "moved", "permanently redirected (308)")
def _(w: Web, rnd: int) -> str:
    html = render("zh_media", "zh_datacentre")
    if rnd == 1:
        return w.media.set("/world/2019-04/10/c_1124350003.htm", html)
    w.new.set("/world/2019-04/10/c_1124350003.htm", html)
    return w.media.redirect("/world/2019-04/10/c_1124350003.htm", w.new.url("/world/2019-04/10/c_1124350003.htm"), 308)


@case("zh-moved-301-new-template", "zh", "moved", "permanently redirected (301)")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        return w.zhco.set("/news/2019/1102/419.html", render("zh_company", "zh_safecity", footer="2019"))
    w.new.set("/zh/news/419", render("zh_company", "zh_safecity", footer="网站由某某网络提供技术支持", hot=3, counter="9,876"))
    return w.zhco.redirect("/news/2019/1102/419.html", w.new.url("/zh/news/419"), 301)


# --- Chinese: deleted --------------------------------------------------------------------------------------


@case("zh-404", "zh", "deleted", "status 404", quote="项目总投资约12亿元", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        return w.gov.set("/art/2018/3/5/art_1229_5505.html", gbk(render("zh_gov", "zh_police", meta=GB2312_META)),
                         content_type="text/html")
    return w.gov.set("/art/2018/3/5/art_1229_5505.html", zh_not_found_page(), status=404, content_type="text/html")


@case("zh-410", "zh", "deleted", "status 410")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        return w.media.set("/local/2019-02/20/c_1124140004.htm", render("zh_media", "zh_labour"))
    return w.media.set("/local/2019-02/20/c_1124140004.htm", "<html><body><h1>410 Gone</h1></body></html>", status=410)


@case("zh-soft-404-page-does-not-exist", "zh", "deleted", "页面不存在")
def _(w: Web, rnd: int) -> str:
    path = "/art/2019/4/12/art_1229_6121.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_meeting", meta=GB2312_META)), content_type="text/html")
    html = render("zh_gov", "zh_meeting", meta=GB2312_META, title="提示信息", body="<p>对不起，您访问的页面不存在！</p>")
    return w.gov.set(path, gbk(html), content_type="text/html")


@case("zh-soft-404-information-deleted", "zh", "deleted", "信息已删除", quote="公司平安城市解决方案已服务全球90多个国家", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    path = "/news/2019/1102/420.html"
    if rnd == 1:
        return w.zhco.set(path, render("zh_company", "zh_safecity"))
    return w.zhco.set(path, render("zh_company", "zh_safecity", title="提示", body="<p>该信息已删除</p>"))


@case("zh-soft-404-information-expired", "zh", "deleted", "信息已失效")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/6/20/art_1230_7004.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_policy", meta=GB2312_META)), content_type="text/html")
    bare = "<html><head><title>提示</title></head><body><div class='msg'>信息已失效</div><a href='/'>返回首页</a></body></html>"
    return w.gov.set(path, gbk(bare), content_type="text/html")


@case("zh-site-answers-200-for-everything", "zh", "deleted", "the site's not-found page")
def _(w: Web, rnd: int) -> str:
    path = "/local/2019-02/20/c_1124140005.htm"
    if rnd == 1:
        return w.media.set(path, render("zh_media", "zh_labour"))
    w.media.pages.pop(path)
    return w.media.url(path)


@case("zh-302-to-home-page", "zh", "deleted", "shows the site's home page")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/3/5/art_1229_5506.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_police", meta=GB2312_META)), content_type="text/html")
    return w.gov.redirect(path, "/", 302)


@case("zh-meta-refresh-to-home-page", "zh", "deleted", "redirected (meta-refresh)")
def _(w: Web, rnd: int) -> str:
    path = "/world/2019-04/10/c_1124350004.htm"
    if rnd == 1:
        return w.media.set(path, render("zh_media", "zh_datacentre"))
    return w.media.set(path, META_REFRESH_HOME)


@case("zh-301-to-unrelated-article", "zh", "deleted", "an unrelated page")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/6/20/art_1230_7005.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_policy", meta=GB2312_META)), content_type="text/html")
    return w.gov.redirect(path, "/art/2019/4/12/art_1229_6120.html", 301)


@case("zh-article-body-emptied", "zh", "deleted", "article body emptied", quote="每人每年最多享受三次", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/6/20/art_1230_7006.html"
    html = render("zh_gov", "zh_policy", meta=GB2312_META, body=None if rnd == 1 else "<p>&nbsp;</p>")
    return w.gov.set(path, gbk(html), content_type="text/html")


@case("zh-301-to-news-list", "zh", "deleted", "an unrelated page")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/3/5/art_1229_5508.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_police", meta=GB2312_META)), content_type="text/html")
    return w.gov.redirect(path, "/xw/gzdt/", 301)


# --- Chinese: unreachable -------------------------------------------------------------------------------


@case("zh-timeout", "zh", "unreachable", "timeout")
def _(w: Web, rnd: int) -> str:
    html = gbk(render("zh_gov", "zh_meeting", meta=GB2312_META))
    return w.gov.set("/art/2019/4/12/art_1229_6122.html", html, content_type="text/html", delay=0 if rnd == 1 else SLOW)


@case("zh-403-firewall", "zh", "unreachable", "status 403")
def _(w: Web, rnd: int) -> str:
    path = "/world/2019-04/10/c_1124350005.htm"
    if rnd == 1:
        return w.media.set(path, render("zh_media", "zh_datacentre"))
    block = "<html><head><title>访问被拒绝</title></head><body><h1>403 Forbidden</h1><p>您的访问请求被网站防火墙拦截。</p></body></html>"
    return w.media.set(path, block, status=403)


@case("zh-502", "zh", "unreachable", "status 502")
def _(w: Web, rnd: int) -> str:
    path = "/art/2019/4/12/art_1229_6123.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_meeting", meta=GB2312_META)), content_type="text/html")
    return w.gov.set(path, "<html><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
                     status=502)


@case("zh-500", "zh", "unreachable", "status 500")
def _(w: Web, rnd: int) -> str:
    path = "/news/2018/0518/354.html"
    if rnd == 1:
        return w.zhco.set(path, render("zh_company", "zh_port"))
    return w.zhco.set(path, "<html><body><h1>服务器内部错误</h1><p>请稍后再试。</p></body></html>", status=500)


@case("zh-connection-refused", "zh", "unreachable", "connect")
def _(w: Web, rnd: int) -> str:
    return w.down.set("/art/2018/3/5/art_1229_5507.html", gbk(render("zh_gov", "zh_police", meta=GB2312_META)),
                      content_type="text/html")


@case("zh-tls-failure-after-https-redirect", "zh", "unreachable", "tls")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/6/20/art_1230_7007.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_policy", meta=GB2312_META)), content_type="text/html")
    return w.gov.redirect(path, w.gov.url(path).replace("http://", "https://"), 301)


@case("zh-anti-bot-412", "zh", "unreachable", "status 412")
def _(w: Web, rnd: int) -> str:
    path = "/art/2019/4/12/art_1229_6125.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_meeting", meta=GB2312_META)), content_type="text/html")
    return w.gov.set(path, JS_CHALLENGE, status=412)


@case("zh-anti-bot-script-page-200", "zh", "unreachable", "shows no text at all")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/6/20/art_1230_7008.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_policy", meta=GB2312_META)), content_type="text/html")
    return w.gov.set(path, JS_CHALLENGE)


@case("zh-redirect-loop-cookie-check", "zh", "unreachable", "redirect_loop")
def _(w: Web, rnd: int) -> str:
    path = "/art/2018/6/20/art_1230_7009.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_policy", meta=GB2312_META)), content_type="text/html")
    return w.gov.redirect(path, path + "?wzwschallenge=1", 302)


@case("zh-429", "zh", "unreachable", "status 429")
def _(w: Web, rnd: int) -> str:
    path = "/local/2019-02/20/c_1124140006.htm"
    if rnd == 1:
        return w.media.set(path, render("zh_media", "zh_labour"))
    return w.media.set(path, "<html><body><p>访问过于频繁，请稍后再试。</p></body></html>", status=429)


@case("zh-503", "zh", "unreachable", "status 503")
def _(w: Web, rnd: int) -> str:
    path = "/news/2019/1102/421.html"
    if rnd == 1:
        return w.zhco.set(path, render("zh_company", "zh_safecity"))
    return w.zhco.set(path, "<html><body><h1>系统维护中</h1><p>网站正在升级维护，请稍后访问。</p></body></html>", status=503)


@case("zh-dns-failure-after-redirect", "zh", "unreachable", "dns")
def _(w: Web, rnd: int) -> str:
    path = "/art/2019/4/12/art_1229_6126.html"
    if rnd == 1:
        return w.gov.set(path, gbk(render("zh_gov", "zh_meeting", meta=GB2312_META)), content_type="text/html")
    return w.gov.redirect(path, "http://www.nonexistent.invalid/art/2019/4/12/art_1229_6126.html", 301)


# --- English: unchanged despite noise ---------------------------------------------------------------------


@case("en-updated-stamp-and-views", "en", "unchanged", "", quote="the supplier had bought 35,000 tonnes of polysilicon",
      quote_after="present")
def _(w: Web, rnd: int) -> str:
    updated = "Updated 19 February 2024 10:02 GMT" if rnd == 1 else "Updated 3 May 2024 08:15 GMT"
    html = render("en_news", "en_port", updated=updated, counter="12,345" if rnd == 1 else "48,210")
    return w.news.set("/business/2024/02/19/port-operator-drops-supplier", html)


@case("en-most-read-and-ad", "en", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    ad = "Advertisement: Try our premium newsletter, first month free!" if rnd == 1 else "Advertisement: Fly to Bangkok from $399 return"
    return w.news.set("/world/2019/05/02/city-surveillance-contract", render("en_news", "en_cameras", ad=ad, hot=rnd * 2))


@case("en-footer-and-cookie-line", "en", "unchanged", "", quote="fallen from 25 minutes to nine minutes", quote_after="present")
def _(w: Web, rnd: int) -> str:
    footer = "© 2019 Meridian Vision Technologies." if rnd == 1 else "© 2024 Meridian Vision Technologies. All rights reserved. Cookie settings · Modern Slavery Statement"
    return w.enco.set("/case-studies/safe-city-capital", render("en_company", "en_smartcity", footer=footer))


@case("en-ngo-new-markup", "en", "unchanged", "", quote="moved at least 570,000 rural workers into seasonal cotton picking",
      quote_after="present")
def _(w: Web, rnd: int) -> str:
    html = render("en_ngo", "en_cotton", style="plain" if rnd == 1 else "cms")
    if rnd == 2:
        html = " ".join(html.split())
    return w.ngo.set("/research/picked-by-the-state", html)


@case("en-windows-1252-reserved-as-utf8", "en", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    text = [p.replace("'", "’") for p in paragraphs("en_dam")]
    if rnd == 1:
        html = render("en_ngo", "en_dam", paragraphs=text, charset="windows-1252")
        return w.ngo.set("/research/villages-flooded", html.encode("cp1252"), content_type="text/html")
    html = render("en_ngo", "en_dam", paragraphs=text, charset="utf-8")
    return w.ngo.set("/research/villages-flooded", html, content_type="text/html; charset=utf-8")


@case("en-pdf-identical-bytes", "en", "unchanged", "identical bytes")
def _(w: Web, rnd: int) -> str:
    return w.ngo.set("/files/annual-report-2023.pdf", make_pdf(REPORT_LINES, "Annual Report 2023"),
                     content_type="application/pdf")


@case("en-pdf-regenerated", "en", "unchanged", "main text identical")
def _(w: Web, rnd: int) -> str:
    pdf = make_pdf(REPORT_LINES, "Annual Report 2023")
    return w.enco.set("/downloads/annual-report-2023.pdf", pdf if rnd == 1 else regenerated(pdf),
                      content_type="application/pdf")


@case("en-not-modified-304", "en", "unchanged", "304")
def _(w: Web, rnd: int) -> str:
    return w.news.set("/business/2023/10/30/cobalt-expansion", render("en_news", "en_cobalt"), etag='"a1b2c3"')


@case("en-stamp-and-related-list-inside-story", "en", "unchanged", "", quote="1,200 cameras", quote_after="present")
def _(w: Web, rnd: int) -> str:
    stamp = "Last updated: May 2, 2019 at 10:02 a.m. EDT" if rnd == 1 else "Last updated: May 6, 2019 at 4:45 p.m. EDT"
    related = "\n".join(f"<li><a href='/r/{i}'>{h}</a></li>" for i, h in enumerate(EN_HEADLINES[rnd * 4:rnd * 4 + 3]))
    body = (f'<p class="updated">{stamp}</p>\n' + body_html(paragraphs("en_cameras"))
            + f"\n<h3>Related stories</h3>\n<ul>{related}</ul>")
    return w.news.set("/world/2019/05/02/council-cameras", render("en_news", "en_cameras", body=body))


@case("en-new-reader-comments", "en", "unchanged", "")
def _(w: Web, rnd: int) -> str:
    comments = ["About time somebody looked into this.", "Where can I read the audit itself?",
                "The port authority should answer these questions in public."][: rnd + 1]
    section = "<section class='comments' id='comments'><h2>Comments ({})</h2>{}</section>".format(
        len(comments), "".join(f"<div class='comment'><p class='author'>reader{i}</p><p>{c}</p></div>"
                               for i, c in enumerate(comments)))
    html = render("en_news", "en_port").replace("</article>", section + "</article>")
    return w.news.set("/business/2024/02/19/port-operator-comments", html)


@case("en-302-to-same-content", "en", "unchanged", "redirected (302)")
def _(w: Web, rnd: int) -> str:
    html = render("en_news", "en_cycle")
    if rnd == 1:
        return w.news.set("/local/2024/03/12/harbour-cycle-lanes", html)
    w.news.set("/amp/local/2024/03/12/harbour-cycle-lanes", html)
    return w.news.redirect("/local/2024/03/12/harbour-cycle-lanes", "/amp/local/2024/03/12/harbour-cycle-lanes", 302)


# --- English: altered ---------------------------------------------------------------------------------------


@case("en-number-edited", "en", "altered", "'35,000' -> '53,000'", quote="the supplier had bought 35,000 tonnes of polysilicon",
      quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("en_port") if rnd == 1 else edited("en_port", "35,000 tonnes", "53,000 tonnes")
    return w.news.set("/business/2024/02/19/port-operator-audit", render("en_news", "en_port", paragraphs=text))


@case("en-word-edited", "en", "altered", "'without' -> 'after'", quote="awarded without a public tender", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("en_cameras") if rnd == 1 else edited("en_cameras", "awarded without a", "awarded after a")
    return w.news.set("/world/2019/05/02/camera-maker-contract", render("en_news", "en_cameras", paragraphs=text))


@case("en-paragraph-removed", "en", "altered", "1 paragraph removed", quote="at least 400 families had been relocated",
      quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("en_cobalt")
    if rnd == 2:
        del text[2]
    return w.news.set("/business/2023/10/30/cobalt-protests", render("en_news", "en_cobalt", paragraphs=text))


@case("en-paragraph-added", "en", "altered", "1 paragraph added", quote="installed 2,400 high-definition cameras",
      quote_after="present")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("en_smartcity")
    if rnd == 2:
        text.insert(4, "The system has since been extended to two further cities, with a national rollout planned for 2021.")
    return w.enco.set("/case-studies/safe-city-command-centre", render("en_company", "en_smartcity", paragraphs=text))


@case("en-correction-appended", "en", "altered", "1 paragraph added", quote="add 1,800 hectares to the concession",
      quote_after="present")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("en_cobalt")
    if rnd == 2:
        text.append("Correction: An earlier version of this article said the company was state-owned. It is privately owned.")
    return w.news.set("/business/2023/10/30/cobalt-concession", render("en_news", "en_cobalt", paragraphs=text))


@case("en-pdf-text-changed", "en", "altered", "'17' -> '7'")
def _(w: Web, rnd: int) -> str:
    lines = list(REPORT_LINES)
    if rnd == 2:
        lines[2] = lines[2].replace("17 of them", "7 of them")
    return w.ngo.set("/files/factory-audit-2023.pdf", make_pdf(lines, "Annual Report 2023"), content_type="application/pdf")


# --- English: moved -----------------------------------------------------------------------------------------


@case("en-moved-301-same-site", "en", "moved", "permanently redirected (301)", quote="awarded without a public tender",
      quote_after="present")
def _(w: Web, rnd: int) -> str:
    html = render("en_news", "en_cameras")
    if rnd == 1:
        return w.news.set("/2019/05/02/surveillance-contract.html", html)
    w.news.set("/world/asia/surveillance-contract-camera-maker", html)
    return w.news.redirect("/2019/05/02/surveillance-contract.html", "/world/asia/surveillance-contract-camera-maker", 301)


@case("en-moved-308-new-domain", "en", "moved", "permanently redirected (308)")
def _(w: Web, rnd: int) -> str:
    if rnd == 1:
        return w.ngo.set("/research/villages-under-water", render("en_ngo", "en_dam"))
    w.new.set("/en/research/villages-under-water", render("en_ngo", "en_dam", counter="77,001", hot=4))
    return w.ngo.redirect("/research/villages-under-water", w.new.url("/en/research/villages-under-water"), 308)


@case("en-moved-301-with-small-edit", "en", "moved", "nearly the same", quote="dropped by about 40 per cent",
      quote_after="missing")
def _(w: Web, rnd: int) -> str:
    text = paragraphs("en_cycle")
    text[1] += " Footfall in the district dropped by about 40 per cent during the last roadworks."
    if rnd == 1:
        return w.news.set("/2024/03/12/cycle-lanes-vote", render("en_news", "en_cycle", paragraphs=text))
    text[1] = text[1].replace("about 40 per cent", "about 30 per cent")
    w.news.set("/local/cycle-lanes-vote", render("en_news", "en_cycle", paragraphs=text))
    return w.news.redirect("/2024/03/12/cycle-lanes-vote", "/local/cycle-lanes-vote", 301)


# --- English: deleted ---------------------------------------------------------------------------------------


@case("en-404", "en", "deleted", "status 404", quote="35,000 tonnes of polysilicon", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    path = "/business/2024/02/19/supplier-audit"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_port"))
    return w.news.set(path, EN_NOT_FOUND_404, status=404)


@case("en-410", "en", "deleted", "status 410")
def _(w: Web, rnd: int) -> str:
    path = "/case-studies/capital-safe-city"
    if rnd == 1:
        return w.enco.set(path, render("en_company", "en_smartcity"))
    return w.enco.set(path, "<html><body><h1>Gone</h1></body></html>", status=410)


@case("en-soft-404-sorry", "en", "deleted", "couldn't find that page")
def _(w: Web, rnd: int) -> str:
    path = "/world/2019/05/02/facial-recognition-airport"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_cameras"))
    body = "<p>Sorry, we couldn't find that page.</p><p>It may have been moved or deleted. Try searching, or go to our home page.</p>"
    return w.news.set(path, render("en_news", "en_cameras", title="The Harbour Ledger", body=body))


@case("en-site-answers-200-for-everything", "en", "deleted", "the site's not-found page")
def _(w: Web, rnd: int) -> str:
    path = "/research/cotton-quotas"
    if rnd == 1:
        return w.ngo.set(path, render("en_ngo", "en_cotton"))
    w.ngo.pages.pop(path)
    return w.ngo.url(path)


@case("en-301-to-home-page", "en", "deleted", "shows the site's home page", quote="120 trained officers", quote_after="missing")
def _(w: Web, rnd: int) -> str:
    path = "/case-studies/command-centre"
    if rnd == 1:
        return w.enco.set(path, render("en_company", "en_smartcity"))
    return w.enco.redirect(path, "/", 301)


@case("en-meta-refresh-to-home-page", "en", "deleted", "redirected (meta-refresh)")
def _(w: Web, rnd: int) -> str:
    path = "/business/2023/10/30/cobalt-resettlement"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_cobalt"))
    return w.news.set(path, '<html><head><meta http-equiv="refresh" content="0;URL=\'/\'"></head><body></body></html>')


@case("en-302-to-unrelated-article", "en", "deleted", "an unrelated page")
def _(w: Web, rnd: int) -> str:
    w.news.set("/local/2024/03/12/cycle-lanes", render("en_news", "en_cycle"))
    path = "/business/2024/02/19/solar-supplier"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_port"))
    return w.news.redirect(path, "/local/2024/03/12/cycle-lanes", 302)


@case("en-article-body-emptied", "en", "deleted", "article body emptied")
def _(w: Web, rnd: int) -> str:
    path = "/case-studies/response-times"
    return w.enco.set(path, render("en_company", "en_smartcity", body=None if rnd == 1 else ""))


# --- English: unreachable -------------------------------------------------------------------------------


@case("en-timeout", "en", "unreachable", "timeout")
def _(w: Web, rnd: int) -> str:
    return w.news.set("/world/2024/03/12/harbour-tunnel", render("en_news", "en_cycle"), delay=0 if rnd == 1 else SLOW)


@case("en-429", "en", "unreachable", "status 429")
def _(w: Web, rnd: int) -> str:
    path = "/business/2023/10/30/cobalt-output"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_cobalt"))
    return w.news.set(path, "Too Many Requests", status=429, content_type="text/plain", headers={"Retry-After": "3600"})


@case("en-403", "en", "unreachable", "status 403")
def _(w: Web, rnd: int) -> str:
    path = "/research/cotton-audits"
    if rnd == 1:
        return w.ngo.set(path, render("en_ngo", "en_cotton"))
    return w.ngo.set(path, "<html><head><title>Access denied</title></head><body><h1>Access denied</h1>"
                           "<p>You don't have permission to access this resource.</p></body></html>", status=403)


@case("en-502", "en", "unreachable", "status 502")
def _(w: Web, rnd: int) -> str:
    path = "/world/2019/05/02/camera-footage"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_cameras"))
    return w.news.set(path, "<html><body><h1>502 Bad Gateway</h1></body></html>", status=502)


@case("en-500", "en", "unreachable", "status 500")
def _(w: Web, rnd: int) -> str:
    path = "/case-studies/licence-plates"
    if rnd == 1:
        return w.enco.set(path, render("en_company", "en_smartcity"))
    return w.enco.set(path, "<html><body><h1>Internal Server Error</h1></body></html>", status=500)


@case("en-503-maintenance", "en", "unreachable", "status 503", quote="14 companies whose supply chains are exposed")
def _(w: Web, rnd: int) -> str:
    path = "/research/cotton-brands"
    if rnd == 1:
        return w.ngo.set(path, render("en_ngo", "en_cotton"))
    return w.ngo.set(path, "<html><body><h1>Down for maintenance</h1><p>We'll be back shortly.</p></body></html>", status=503)


@case("en-connection-refused", "en", "unreachable", "connect")
def _(w: Web, rnd: int) -> str:
    return w.down.set("/research/hydropower", render("en_ngo", "en_dam"))


@case("en-dns-failure-after-redirect", "en", "unreachable", "dns")
def _(w: Web, rnd: int) -> str:
    path = "/opinion/2024/02/20/port-deal"
    if rnd == 1:
        return w.news.set(path, render("en_news", "en_port"))
    return w.news.redirect(path, "http://nonexistent.invalid/opinion/port-deal", 301)


@case("en-dns-failure-from-the-start", "en", "unreachable", "dns")
def _(w: Web, rnd: int) -> str:
    return "http://nonexistent.invalid/reports/2019/annual.html"


@case("en-tls-failure", "en", "unreachable", "tls")
def _(w: Web, rnd: int) -> str:
    w.enco.set("/secure/case-study", render("en_company", "en_smartcity"))
    return w.enco.url("/secure/case-study").replace("http://", "https://")


NEVER_GOOD = {"en-dns-failure-from-the-start", "en-tls-failure"}


# --- running the two rounds ------------------------------------------------------------------------------


@dataclass
class Result:
    """What the archive holds for one case after both passes."""

    case: Case
    source: Source
    first: Capture
    second: Capture
    texts: tuple[str, str]

    @property
    def actual(self) -> str:
        return self.second.verdict or "none"


def _serve_homes(web: Web) -> None:
    web.news.set("/", home_page("The Harbour Ledger", "en"))
    web.gov.set("/", home_page("某市人民政府门户网站", "zh"))
    web.media.set("/", home_page("某某新闻网", "zh"))
    web.zhco.set("/", home_page("某某科技股份有限公司", "zh"))
    web.ngo.set("/", home_page("Labour Rights Watch", "en"))
    web.enco.set("/", home_page("Meridian Vision Technologies", "en"))
    web.gov.set("/art/2019/4/12/art_1229_6120.html", gbk(render("zh_gov", "zh_meeting", meta=GB2312_META)),
                content_type="text/html")
    web.media.set("__default__", MEDIA_SOFT_404)
    web.ngo.set("__default__", NGO_SOFT_404)
    news_list = "".join(f"<li><a href='/xw/gzdt/{i}.html'>{h}</a><span>2024-04-{i + 1:02d}</span></li>"
                        for i, h in enumerate(ZH_SECTION_LIST))
    web.gov.set("/xw/gzdt/", gbk(render("zh_gov", "zh_meeting", meta=GB2312_META, title="工作动态",
                                        body=f"<ul class='list'>{news_list}</ul>")), content_type="text/html")


def _start_site(host: str) -> Site:
    """A site on its own loopback address; on systems that only have 127.0.0.1 (macOS), on its
    own port there, which still makes it another site (scheme, host and port) to the archiver."""
    try:
        site = Site(host).start()
    except OSError:
        site = Site("127.0.0.1").start()
    site.server.handle_error = lambda request, address: None  # TLS hellos sent to plain HTTP are expected here
    return site


def _corpus_config(tmp_path: Path) -> Config:
    """The settings of the `config` fixture (tests/conftest.py), for a module-scoped database,
    with a short time limit per page so that the timeout cases stay fast."""
    cfg = Config()
    cfg.database.url = f"sqlite:///{tmp_path / 'corpus.db'}"
    cfg.fetch.allow_private_addresses = True
    cfg.fetch.per_host_delay = 0.0
    cfg.fetch.per_host_concurrency = 8
    cfg.fetch.timeout = 5.0
    cfg.fetch.total_timeout = TOTAL_TIMEOUT
    cfg.wayback.enabled = False
    cfg.verdict.probe_not_found = True
    return cfg


@dataclass
class Archive:
    """The archive after both passes: the results by case, and the database they are read from."""

    results: dict[str, Result]
    sessions: sessionmaker


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Archive:
    """Serve round 1, capture, change the web to round 2, capture again."""
    web = Web(*(_start_site(f"127.0.0.{n}") for n in range(1, 9)))
    try:
        config = _corpus_config(tmp_path_factory.mktemp("corpus"))
        sessions = open_database(config.database.url)
        _serve_homes(web)
        urls = {c.name: c.serve(web, 1) for c in CASES}
        source_ids = {}
        with sessions.begin() as session:
            for c in CASES:
                source, _ = add_source(session, urls[c.name], lang=c.lang)
                session.flush()
                source_ids[c.name] = source.id
                if c.quote:
                    session.add(Claim(id=f"corpus-{c.name}", text=f"A claim resting on the page of case {c.name}"))
                    session.flush()
                    session.add(Citation(claim_id=f"corpus-{c.name}", source_id=source.id, quote=c.quote))
        first = run_pass(config, sessions, everything=True)
        assert first.total == len(CASES)

        web.down.stop()
        for c in CASES:
            assert c.serve(web, 2) == urls[c.name], f"{c.name}: the tracked URL must stay the same"
        second = run_pass(config, sessions, everything=True)
        assert second.total == len(CASES)

        results = {}
        with sessions() as session:
            for c in CASES:
                source = session.get(Source, source_ids[c.name])
                captures = list(session.scalars(select(Capture).where(Capture.source_id == source.id).order_by(Capture.id)))
                assert len(captures) == 2, c.name
                texts = (get_text(session, captures[0].text_sha256), get_text(session, captures[1].text_sha256))
                results[c.name] = Result(c, source, captures[0], captures[1], texts)
            session.expunge_all()
        return Archive(results, sessions)
    finally:
        for site in web.sites():
            if site is not web.down:
                site.stop()


@pytest.fixture(scope="module")
def corpus(archive) -> dict[str, Result]:
    return archive.results


def confusion_table(results: dict[str, Result]) -> str:
    """Expected state (rows) x state given in round 2 (columns), with per-language counts."""
    columns = [s for s in STATES if s != "new"] + ["other"]
    counts = Counter()
    for r in results.values():
        actual = r.actual if r.actual in columns else "other"
        counts[(r.case.expected, actual)] += 1
    width = max(len(s) for s in columns) + 2
    lines = ["expected \\ actual".ljust(18) + "".join(s.rjust(width) for s in columns) + "   zh  en"]
    for expected in columns[:-1]:
        row = [counts[(expected, actual)] for actual in columns]
        langs = Counter(r.case.lang for r in results.values() if r.case.expected == expected)
        lines.append(expected.ljust(18) + "".join(str(n).rjust(width) for n in row) + f"  {langs['zh']:3d} {langs['en']:3d}")
    right = sum(1 for r in results.values() if r.actual == r.case.expected)
    lines.append(f"{right} of {len(results)} verdicts as expected")
    return "\n".join(lines)


# --- the checks ----------------------------------------------------------------------------------------------


def test_corpus_covers_the_issue():
    """At least 30 pairs, half Chinese, and every state of the issue in both languages."""
    assert len(CASES) >= 30
    langs = Counter(c.lang for c in CASES)
    assert langs["zh"] >= len(CASES) / 2 and langs["en"] >= 0.4 * len(CASES), langs
    for lang in ("zh", "en"):
        assert {c.expected for c in CASES if c.lang == lang} == {"unchanged", "altered", "moved", "deleted", "unreachable"}
    assert len({c.name for c in CASES}) == len(CASES)


def test_first_round_is_new_everywhere(corpus):
    wrong = {name: (r.first.verdict, r.first.verdict_reason) for name, r in corpus.items()
             if r.first.verdict != ("unreachable" if name in NEVER_GOOD else "new")}
    assert not wrong


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_verdict(corpus, c: Case):
    r = corpus[c.name]
    reason = r.second.verdict_reason or ""
    assert (r.second.verdict, r.source.state) == (c.expected, c.expected), reason
    assert c.reason in reason, f"expected the reason to mention {c.reason!r}: {reason}"
    assert r.source.state_reason == reason
    assert r.second.compared_to_id == (None if c.name in NEVER_GOOD else r.first.id)


@pytest.mark.parametrize("c", [c for c in CASES if c.expected == "unreachable"], ids=lambda c: c.name)
def test_unreachable_keeps_the_last_good_capture(corpus, c: Case):
    r = corpus[c.name]
    assert r.source.unreachable_since is not None
    assert r.second.error_kind or r.second.status_code
    if c.name in NEVER_GOOD:
        assert r.source.last_good_capture_id is None
        assert r.source.unreachable_since < r.second.started_at, "unreachable since the first attempt"
    else:
        assert r.source.last_good_capture_id == r.first.id
        assert r.source.unreachable_since >= r.second.started_at, "unreachable since the second pass"
    stands = "there is no good capture of it yet" if c.name in NEVER_GOOD else "the last good capture stands"
    assert stands in r.second.verdict_reason


@pytest.mark.parametrize("c", [c for c in CASES if c.expected in ("unchanged", "altered", "moved")], ids=lambda c: c.name)
def test_a_readable_page_becomes_the_new_baseline(corpus, c: Case):
    r = corpus[c.name]
    assert r.source.last_good_capture_id == r.second.id
    assert r.source.unreachable_since is None


@pytest.mark.parametrize("c", [c for c in CASES if c.expected == "deleted"], ids=lambda c: c.name)
def test_deleted_keeps_the_last_good_capture(corpus, c: Case):
    assert corpus[c.name].source.last_good_capture_id == corpus[c.name].first.id


@pytest.mark.parametrize("c", [c for c in CASES if c.expected == "moved"], ids=lambda c: c.name)
def test_moved_records_the_new_address(corpus, c: Case):
    r = corpus[c.name]
    assert r.source.final_url == r.second.final_url != r.first.final_url


@pytest.mark.parametrize("c", [c for c in CASES if c.quote], ids=lambda c: c.name)
def test_quote_status_per_capture(corpus, c: Case):
    """The quote checked against each stored capture text: present in round 1, then as expected."""
    r = corpus[c.name]
    before, after = (check_quote(c.quote, text) for text in r.texts)
    assert before.status == "present", before.detail
    if c.quote_after is not None:
        assert after.status == c.quote_after, after.detail


def test_quote_checks_recorded_by_the_evidence_plugin(archive):
    """The evidence plugin checks every citation's quote as each capture is stored: present in
    round 1, and in round 2 as expected; nothing is recorded for an unreachable page."""
    wrong = {}
    with archive.sessions() as session:
        for name, r in archive.results.items():
            if not r.case.quote:
                continue
            citation = session.scalars(select(Citation).where(Citation.source_id == r.source.id)).one()
            status = {
                check.capture_id: check.status
                for check in session.scalars(select(QuoteCheck).where(QuoteCheck.citation_id == citation.id))
            }
            if status.get(r.first.id) != "present" or status.get(r.second.id) != r.case.quote_after:
                wrong[name] = (status.get(r.first.id), status.get(r.second.id), r.case.quote_after)
    assert not wrong


def test_confusion_table(corpus):
    table = confusion_table(corpus)
    print("\n" + table)
    for name, r in corpus.items():
        mark = "ok " if r.actual == r.case.expected else "BAD"
        print(f"{mark} {name:42s} {r.case.expected:11s} {r.actual:11s} {r.second.verdict_reason}")
    wrong = {name: (r.case.expected, r.actual, r.second.verdict_reason) for name, r in corpus.items() if r.actual != r.case.expected}
    assert not wrong, table
