"""A synthetic web for the capture benchmark: thousands of realistic pages on many loopback hosts.

`build()` writes a web to a folder: news and government sites in English and Chinese
(UTF-8, GBK declared as GBK or GB2312, or undeclared), pages of 20-300 KB that look like
the real thing (inline styles and scripts, navigation bars, sidebars, "most read" lists,
long articles, footers with licence numbers, old table layouts), PDFs with a text layer
(Chinese ones through a Type0 font with a ToUnicode map) and an image, and for each page
what happens to it at the second visit ("phase 2"): ~5% are edited, ~1% are deleted.

`serve()` runs an HTTP/1.1 server (asyncio, keep-alive) on one port of many loopback
addresses (127.0.x.y: every address of 127.0.0.0/8 reaches the loopback interface on
Linux), one address per site. Bodies are rendered at build time and read from files, so
the server spends almost no CPU on a request. Some sites answer conditional requests
(ETag, Last-Modified, or both), some compress with gzip, some are "volatile": a view
counter and a "most read" list change on every request, as on many news sites, so their
bytes are never the same twice although the article is. A site answers an unknown path
with a 404, a "not found" page served with status 200, or a redirect to its home page;
a deleted page does the same. 2% of the tracked addresses are old ones that redirect
permanently to the page's current address.

Run `python benchmarks/synthweb.py build DIR --pages N` and `python benchmarks/synthweb.py
serve DIR` to use it alone; `benchmarks/capture.py` does both.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gzip
import itertools
import json
import math
import multiprocessing
import os
import random
import resource
import socket
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from email.utils import formatdate
from pathlib import Path

FORMAT_VERSION = 4
COUNTER_MARK = b"@@VIEWS@@"
MOST_READ_MARK = b"@@MOSTREAD@@"
CONTROL_ADDRESS = "127.0.0.1"

EN_WORDS = """
the of and to in a is that for on with as by at from said government ministry company
officials report policy security data program national province county city state public
development economic trade investment agreement cooperation technology surveillance system
project construction infrastructure energy industry market region international foreign
minister president committee council department bureau commission office agency authority
announced according statement spokesperson press conference meeting visit delegation
support services network platform research university institute center laboratory science
police public-security camera facial recognition smart safe city cloud computing servers
contracts supplier subsidiary joint venture acquisition shares investors billion million
percent year month week quarter annual growth increase decline rate level local central
provincial municipal regional rural urban border port railway highway airport power plant
solar wind battery lithium mining steel aluminium cotton textile export import tariff
sanctions entity list human rights workers labour transfer vocational training camps
detention religious minority ethnic culture education schools students teachers children
hospital health medical equipment supply chain logistics shipping container terminal
belt road initiative loan bank finance credit bond debt fund capital private enterprise
state-owned group holdings limited corporation partners clients customers products brand
launched signed completed expanded opened established operated managed reported confirmed
denied criticised welcomed warned urged called noted added stressed explained described
new major key important significant further strong stable rapid steady comprehensive
high-quality modern advanced digital innovative strategic long-term joint mutual common
first second third several many more most other such these those which who whose where
while during after before since under over between among through across within without
""".split()

EN_STOPLIKE = ["the", "of", "and", "to", "in", "a", "for", "on", "with", "by", "at", "from"]

ZH_PUBLISHERS = ["人民网", "新华网", "中国新闻网", "央视网", "光明网", "中国日报网", "环球网", "澎湃新闻",
                 "经济日报", "法制日报", "南方日报", "新疆日报", "天山网", "北京日报", "解放日报", "大公网"]
ZH_GOV = ["商务部", "国家发展和改革委员会", "工业和信息化部", "公安部", "教育部", "自治区人民政府",
          "省人民政府", "市人民政府", "县人民政府", "人力资源和社会保障厅", "国有资产监督管理委员会",
          "外交部", "国务院新闻办公室", "生态环境局", "交通运输厅", "统计局"]
EN_PUBLISHERS = ["Daily Herald", "The Observer", "Global Times English", "Asia Business Review",
                 "Reuters Wire", "Pacific Post", "The Courier", "Tech Monitor", "Trade Weekly"]
EN_GOV = ["Ministry of Commerce", "Department of Trade", "Office of the Prime Minister", "Ministry of Interior",
          "Bureau of Industry and Security", "Home Office", "Parliament", "Ministry of Foreign Affairs"]
ZH_SECTIONS = ["首页", "要闻", "政务公开", "政策文件", "新闻发布", "通知公告", "部门动态", "地方动态", "图片新闻",
               "视频", "专题专栏", "政务服务", "互动交流", "数据发布", "机构设置", "领导信息", "人事信息", "English"]
EN_SECTIONS = ["Home", "News", "World", "Business", "Technology", "Politics", "Opinion", "Video", "Press releases",
               "Publications", "Speeches", "Statistics", "About us", "Contact", "Subscribe", "中文"]


# --- text ------------------------------------------------------------------------------------


def _zh_vocabulary(limit: int = 8000) -> tuple[list[str], list[int]]:
    """Common Chinese words with their frequencies (jieba's dictionary: GB2312 characters only)."""
    import jieba

    words: list[tuple[int, str]] = []
    path = Path(jieba.__file__).with_name("dict.txt")
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word, freq, *_ = line.split()
            if 2 <= len(word) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in word):
                try:
                    word.encode("gb2312")
                except UnicodeEncodeError:
                    continue
                words.append((int(freq), word))
    words.sort(reverse=True)
    chosen = words[:limit]
    return [w for _, w in chosen], list(itertools.accumulate(f for f, _ in chosen))


class Corpus:
    """Pools of sentences in English and Chinese, drawn from by seeded random generators."""

    def __init__(self, seed: int = 7, size: int = 6000) -> None:
        rng = random.Random(seed)
        zh_words, zh_weights = _zh_vocabulary()
        self.en = [self._en_sentence(rng) for _ in range(size)]
        self.zh = [self._zh_sentence(rng, zh_words, zh_weights) for _ in range(size)]
        self.zh_words = zh_words[:3000]

    @staticmethod
    def _number(rng: random.Random, lang: str) -> str:
        kind = rng.random()
        if kind < 0.3:
            return f"{rng.randint(2008, 2024)}" + ("年" if lang == "zh" else "")
        if kind < 0.6:
            return f"{rng.uniform(1, 99):.1f}" + ("%" if lang == "en" else "%")
        if kind < 0.8:
            return f"{rng.randint(2, 950)}" + ("亿元" if lang == "zh" else " million")
        return f"{rng.randint(1, 9999):,}"

    def _en_sentence(self, rng: random.Random) -> str:
        words = []
        for i in range(rng.randint(10, 30)):
            if rng.random() < 0.06:
                words.append(self._number(rng, "en"))
            elif rng.random() < 0.3:
                words.append(rng.choice(EN_STOPLIKE))
            else:
                words.append(rng.choice(EN_WORDS))
            if i > 3 and rng.random() < 0.07:
                words[-1] += ","
        words[0] = words[0].capitalize()
        return " ".join(words).rstrip(",") + rng.choice([".", ".", ".", "?"])

    def _zh_sentence(self, rng: random.Random, words: list[str], weights: list[int]) -> str:
        parts = []
        for i in range(rng.randint(6, 20)):
            if rng.random() < 0.06:
                parts.append(self._number(rng, "zh"))
            else:
                parts.append(words[bisect.bisect_left(weights, rng.random() * weights[-1])])
            if i > 2 and rng.random() < 0.12:
                parts.append(rng.choice(["，", "，", "、", "；"]))
        return "".join(parts).rstrip("，、；") + rng.choice(["。", "。", "。", "！"])

    def sentence(self, rng: random.Random, lang: str) -> str:
        pool = self.zh if lang == "zh" else self.en
        return pool[rng.randrange(len(pool))]

    def paragraph(self, rng: random.Random, lang: str, low: int = 2, high: int = 6) -> str:
        joiner = "" if lang == "zh" else " "
        return joiner.join(self.sentence(rng, lang) for _ in range(rng.randint(low, high)))

    def phrase(self, rng: random.Random, lang: str, low: int = 2, high: int = 6) -> str:
        if lang == "zh":
            return "".join(rng.choice(self.zh_words) for _ in range(rng.randint(low, high)))
        return " ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(low, high))).capitalize()


# --- sites and pages -------------------------------------------------------------------------


@dataclass
class Host:
    """One site: where it listens and how it behaves."""

    index: int
    address: str
    lang: str
    style: str  # news | gov
    encoding: str  # utf-8 | gbk
    declared: str  # header | meta | both | none
    declared_as: str  # the label sites use: utf-8, gbk, gb2312
    layout: str  # div | table
    validators: str  # none | etag | last-modified | both
    gzip: bool
    volatile: bool
    not_found: str  # 404 | soft404 | home
    publisher: str


@dataclass
class Page:
    """One tracked page and its fate at the second visit: same, changed or deleted."""

    number: int
    host: int
    kind: str  # html | pdf
    path: str
    tracked_path: str  # differs from path for an old address that redirects
    size: int
    fate: str
    published: str


def address(index: int) -> str:
    """The loopback address of site `index`: 127.0.1.2, 127.0.1.3 ... (127.0.0.1 is the control address)."""
    return f"127.0.{1 + index // 250}.{2 + index % 250}"


def make_hosts(count: int, volatile_share: float, seed: int) -> list[Host]:
    rng = random.Random(f"hosts:{seed}")
    hosts = []
    for i in range(count):
        lang = "zh" if rng.random() < 0.65 else "en"
        style = "gov" if rng.random() < 0.5 else "news"
        encoding = "gbk" if lang == "zh" and rng.random() < 0.5 else "utf-8"
        declared = rng.choice(["header", "meta", "meta", "both", "none"]) if encoding == "gbk" else rng.choice(
            ["header", "meta", "both", "both"])
        declared_as = "utf-8" if encoding == "utf-8" else rng.choice(["gbk", "gb2312", "gb2312"])
        validators = rng.choices(["none", "etag", "last-modified", "both"], [45, 20, 20, 15])[0]
        volatile = rng.random() < volatile_share
        if volatile:
            validators = "none"
        publishers = (ZH_GOV if style == "gov" else ZH_PUBLISHERS) if lang == "zh" else (
            EN_GOV if style == "gov" else EN_PUBLISHERS)
        hosts.append(Host(
            index=i, address=address(i), lang=lang, style=style, encoding=encoding, declared=declared,
            declared_as=declared_as, layout="table" if style == "gov" and rng.random() < 0.4 else "div",
            validators=validators, gzip=rng.random() < 0.35, volatile=volatile,
            not_found=rng.choices(["404", "soft404", "home"], [60, 25, 15])[0],
            publisher=rng.choice(publishers),
        ))
    return hosts


def _size(rng: random.Random) -> int:
    """Page sizes: log-normal around 60 KB, kept within 20-300 KB."""
    return int(min(300_000, max(20_000, rng.lognormvariate(math.log(60_000), 0.6))))


def _slug(rng: random.Random) -> str:
    return "-".join(rng.choice(EN_WORDS) for _ in range(rng.randint(3, 7))).lower()


def _path(rng: random.Random, host: Host, number: int, kind: str, day: tuple[int, int, int]) -> str:
    y, m, d = day
    if kind == "pdf":
        return rng.choice([f"/uploads/{y}/{m:02d}/P0{y}{m:02d}{d:02d}{number}.pdf",
                           f"/attachments/{y}{m:02d}/{number}.pdf"])
    if host.lang == "zh" and host.style == "gov":
        return rng.choice([f"/zwgk/{y}-{m:02d}/{d:02d}/content_{number}.htm",
                           f"/art/{y}/{m}/{d}/art_{number}.html",
                           f"/xxgk/detail.jsp?id={number}"])
    if host.lang == "zh":
        return rng.choice([f"/{rng.choice(['gn', 'gj', 'cj', 'sh'])}/{y}{m:02d}{d:02d}/t{y}{m:02d}{d:02d}_{number}.shtml",
                           f"/n1/{y}/{m:02d}{d:02d}/c{number}-{rng.randint(10000, 99999)}.html"])
    if host.style == "gov":
        return f"/newsroom/press-releases/{_slug(rng)}-{number}"
    return f"/{rng.choice(['world', 'business', 'tech', 'asia'])}/{y}/{m:02d}/{d:02d}/{_slug(rng)}-{number}.html"


def make_pages(count: int, hosts: list[Host], seed: int) -> list[Page]:
    """Pages spread over the sites with a long tail: a few big sites, many with a handful of pages."""
    rng = random.Random(f"pages:{seed}")
    weights = list(itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(hosts))))
    order = list(range(len(hosts)))
    rng.shuffle(order)
    pages = []
    for number in range(count):
        host = hosts[order[bisect.bisect_left(weights, rng.random() * weights[-1])]]
        kind = "pdf" if rng.random() < (0.08 if host.style == "gov" else 0.01) else "html"
        day = (rng.randint(2016, 2024), rng.randint(1, 12), rng.randint(1, 28))
        path = _path(rng, host, number, kind, day)
        tracked = f"/old/show.asp?id={number}" if rng.random() < 0.02 else path
        roll = rng.random()
        fate = "changed" if roll < 0.05 else "deleted" if roll < 0.06 else "same"
        pages.append(Page(number, host.index, kind, path, tracked, _size(rng), fate,
                          f"{day[0]}-{day[1]:02d}-{day[2]:02d}"))
    return pages


# --- HTML ------------------------------------------------------------------------------------


_CSS_PROPS = ["margin", "padding", "color", "background", "font-size", "line-height", "border", "display",
              "position", "width", "height", "float", "text-align", "overflow", "z-index", "top", "left"]
_JS_WORDS = ["function", "var", "return", "this", "document", "window", "length", "push", "prototype",
             "getElementById", "addEventListener", "querySelector", "style", "className", "innerHTML",
             "setTimeout", "JSON", "parse", "ajax", "data", "success", "callback", "init", "config", "options"]


def _css(rng: random.Random, size: int) -> str:
    out, total = [], 0
    while total < size:
        rule = "." + "-".join(rng.choice(["nav", "main", "box", "list", "item", "title", "hd", "bd", "ft", "wrap",
                                          "con", "left", "right", "top", "news", "pic", "txt", "more"])
                              for _ in range(rng.randint(1, 3)))
        decls = ";".join(f"{rng.choice(_CSS_PROPS)}:{rng.randint(0, 999)}px" for _ in range(rng.randint(2, 8)))
        line = f"{rule}{{{decls}}}\n"
        out.append(line)
        total += len(line)
    return "".join(out)


def _js(rng: random.Random, size: int) -> str:
    out, total = [], 0
    while total < size:
        name = rng.choice(_JS_WORDS) + str(rng.randint(0, 99))
        body = ".".join(rng.choice(_JS_WORDS) for _ in range(rng.randint(2, 6)))
        line = f"{name}=function(a,b){{var c={rng.randint(0, 99999)};if(a&&b){{return {body}(a,c)}}return null}};"
        out.append(line)
        total += len(line)
    return "".join(out)


def _links(rng: random.Random, corpus: Corpus, lang: str, count: int, prefix: str) -> str:
    return "".join(f'<li><a href="{prefix}/{rng.randint(1000, 999999)}.html" title="">'
                   f"{corpus.phrase(rng, lang, 2, 5)}</a></li>" for _ in range(count))


class SiteParts:
    """What every page of one site shares: head styles and scripts, navigation, footer."""

    def __init__(self, host: Host, corpus: Corpus, seed: int) -> None:
        rng = random.Random(f"site:{seed}:{host.index}")
        lang = host.lang
        self.css = _css(rng, rng.randint(3_000, 25_000))
        self.js = _js(rng, rng.randint(5_000, 60_000))
        sections = ZH_SECTIONS if lang == "zh" else EN_SECTIONS
        self.nav = "".join(f'<li><a href="/{i}/">{name}</a></li>' for i, name in enumerate(sections))
        self.subnav = _links(rng, corpus, lang, rng.randint(20, 80), "/channel")
        self.footer_links = _links(rng, corpus, lang, rng.randint(10, 30), "/about")
        if lang == "zh":
            self.footer = (f"<p>主办单位：{host.publisher}　承办：{host.publisher}信息中心　"
                           f"地址：{corpus.phrase(rng, 'zh', 3, 5)}路{rng.randint(1, 300)}号</p>"
                           f"<p>版权所有 {host.publisher}　京ICP备{rng.randint(10000000, 99999999)}号　"
                           f"京公网安备 {rng.randint(10000000000000, 99999999999999)}号　"
                           f"网站标识码{rng.randint(1000000000, 9999999999)}</p>")
        else:
            self.footer = (f"<p>Copyright {host.publisher}. All rights reserved.</p>"
                           f"<p>{corpus.paragraph(rng, 'en', 1, 2)}</p>")
        self.analytics = _js(rng, rng.randint(1_000, 6_000))


def _meta_charset(host: Host) -> str:
    if host.declared in ("meta", "both"):
        return f'<meta http-equiv="Content-Type" content="text/html; charset={host.declared_as}" />'
    return ""


def content_type(host: Host, kind: str) -> str:
    if kind == "pdf":
        return "application/pdf"
    if host.declared in ("header", "both"):
        return f"text/html; charset={host.declared_as}"
    return "text/html"


def _article(rng: random.Random, corpus: Corpus, lang: str, target: int) -> list[str]:
    """Article paragraphs of about `target` characters."""
    paragraphs, total = [], 0
    while total < target:
        p = corpus.paragraph(rng, lang)
        paragraphs.append(p)
        total += len(p)
    return paragraphs


def _edit(rng: random.Random, corpus: Corpus, lang: str, paragraphs: list[str]) -> list[str]:
    """The second version of an article: one paragraph rewritten, one sentence added at the end."""
    edited = list(paragraphs)
    k = rng.randrange(len(edited))
    edited[k] = corpus.paragraph(rng, lang)
    edited[-1] = edited[-1] + ("" if lang == "zh" else " ") + corpus.sentence(rng, lang)
    return edited


def render_html(page: Page, host: Host, parts: SiteParts, corpus: Corpus, version: int, seed: int) -> bytes:
    """The bytes of an HTML page (with COUNTER_MARK and MOST_READ_MARK on volatile sites)."""
    rng = random.Random(f"page:{seed}:{page.number}")
    lang = host.lang
    title = corpus.phrase(rng, lang, 4, 9) if lang == "zh" else corpus.phrase(rng, lang, 6, 14)
    text_share = rng.uniform(0.04, 0.25) if lang == "en" else rng.uniform(0.02, 0.12)
    paragraphs = _article(rng, corpus, lang, int(page.size * text_share))
    if version == 2:
        paragraphs = _edit(random.Random(f"edit:{seed}:{page.number}"), corpus, lang, paragraphs)
    related = _links(rng, corpus, lang, rng.randint(5, 15), "/related")
    sidebar = _links(rng, corpus, lang, rng.randint(10, 40), "/hot")
    most_read = MOST_READ_MARK.decode() if host.volatile else _links(rng, corpus, lang, 10, "/top")
    views = COUNTER_MARK.decode() if host.volatile else str(rng.randint(100, 99999))
    if lang == "zh":
        info = (f"发布时间：{page.published} {rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}　"
                f"来源：{host.publisher}　作者：{corpus.phrase(rng, 'zh', 1, 1)}　浏览次数：{views}")
        labels = ("当前位置：首页 > 正文", "相关新闻", "热点推荐", "阅读排行", "打印本页", "关闭窗口", "分享到：")
    else:
        info = f"Published {page.published} · {host.publisher} · {views} views"
        labels = ("You are here: Home > News", "Related", "Trending", "Most read", "Print", "Close", "Share:")
    body_html = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    head = (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n{_meta_charset(host)}\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
            f'<title>{title}_{host.publisher}</title>\n<meta name="keywords" content="{corpus.phrase(rng, lang, 3, 6)}" />\n'
            f'<meta name="description" content="{corpus.sentence(rng, lang)}" />\n'
            f'<meta name="PubDate" content="{page.published}" />\n'
            f'<style type="text/css">\n{parts.css}</style>\n'
            f'<script type="text/javascript">\n{parts.js}\n</script>\n</head>\n')
    if host.layout == "table":
        main = (f'<table width="1000" border="0" cellpadding="0" cellspacing="0" align="center"><tr><td>'
                f'<table width="100%"><tr><td class="logo"><img src="/images/logo.png" alt="{host.publisher}" /></td></tr>'
                f'<tr><td class="nav"><ul>{parts.nav}</ul></td></tr></table>'
                f'<table width="100%"><tr><td width="240" valign="top" class="left">'
                f'<div class="sub"><ul>{parts.subnav}</ul></div>'
                f'<div class="hot"><h3>{labels[2]}</h3><ul>{sidebar}</ul></div></td>'
                f'<td valign="top" class="right"><div class="location">{labels[0]}</div>'
                f'<table width="100%"><tr><td class="title"><h1>{title}</h1></td></tr>'
                f'<tr><td class="info">{info}</td></tr>'
                f'<tr><td class="content"><div id="zoom">{body_html}</div></td></tr>'
                f'<tr><td class="tools">[{labels[4]}] [{labels[5]}]</td></tr></table>'
                f'<div class="related"><h3>{labels[1]}</h3><ul>{related}</ul></div></td></tr></table>'
                f'<table width="100%"><tr><td class="footer"><ul>{parts.footer_links}</ul>{parts.footer}</td></tr></table>'
                f"</td></tr></table>")
    else:
        main = (f'<header class="site-header"><div class="logo"><a href="/">{host.publisher}</a></div>'
                f'<nav class="main-nav"><ul>{parts.nav}</ul></nav><div class="sub-nav"><ul>{parts.subnav}</ul></div></header>\n'
                f'<div class="container"><div class="breadcrumb">{labels[0]}</div>\n'
                f'<article class="article"><h1 class="article-title">{title}</h1>\n<div class="article-info">{info}</div>\n'
                f'<div class="article-content">\n{body_html}</div>\n'
                f'<div class="share">{labels[6]} <a href="#">WeChat</a> <a href="#">Weibo</a></div></article>\n'
                f'<aside class="sidebar"><section><h3>{labels[2]}</h3><ul>{sidebar}</ul></section>'
                f'<section class="most-read"><h3>{labels[3]}</h3><ol>{most_read}</ol></section></aside>\n'
                f'<section class="related"><h3>{labels[1]}</h3><ul>{related}</ul></section></div>\n'
                f'<footer class="site-footer"><ul>{parts.footer_links}</ul>{parts.footer}</footer>\n')
    tail = f'<script type="text/javascript">{parts.analytics}</script>\n</body>\n</html>\n'
    html = head + "<body>\n" + main
    filler = page.size - len(html.encode("utf-8")) - len(tail)
    if filler > 200:
        html += f'<script type="text/javascript">window.__INITIAL_STATE__={_state(rng, corpus, lang, filler)};</script>\n'
    html += tail
    return html.encode("gb18030" if host.encoding == "gbk" else "utf-8")


def _state(rng: random.Random, corpus: Corpus, lang: str, size: int) -> str:
    """A page-state JSON blob as news sites inline them, about `size` bytes."""
    items, total = [], 0
    while total < size:
        item = {"id": rng.randint(1, 10**9), "title": corpus.phrase(rng, lang, 3, 8),
                "url": f"/a/{rng.randint(10**5, 10**9)}.html", "views": rng.randint(0, 10**6),
                "summary": corpus.sentence(rng, lang)}
        encoded = json.dumps(item, ensure_ascii=rng.random() < 0.5)
        items.append(encoded)
        total += len(encoded.encode("utf-8")) + 1
    return '{"list":[' + ",".join(items) + "]}"


def render_home(host: Host, parts: SiteParts, corpus: Corpus, seed: int) -> bytes:
    rng = random.Random(f"home:{seed}:{host.index}")
    blocks = "".join(f'<div class="block"><h2>{corpus.phrase(rng, host.lang, 2, 3)}</h2><ul>'
                     f'{_links(rng, corpus, host.lang, 12, "/list")}</ul></div>' for _ in range(8))
    html = (f"<!DOCTYPE html><html><head>{_meta_charset(host)}<title>{host.publisher}</title>"
            f"<style>{parts.css[:4000]}</style></head><body><header><nav><ul>{parts.nav}</ul></nav></header>"
            f"<main>{blocks}</main><footer>{parts.footer}</footer></body></html>")
    return html.encode("gb18030" if host.encoding == "gbk" else "utf-8")


def render_not_found(host: Host, parts: SiteParts) -> bytes:
    if host.lang == "zh":
        message = "<h1>页面不存在</h1><p>抱歉，您访问的页面不存在或已删除，信息已失效。</p><p><a href=\"/\">返回首页</a></p>"
    else:
        message = "<h1>Page not found</h1><p>Sorry, the page you are looking for does not exist or has been removed.</p>"
    html = (f"<!DOCTYPE html><html><head>{_meta_charset(host)}<title>404</title></head><body>"
            f"<header><nav><ul>{parts.nav}</ul></nav></header><div class=\"error\">{message}</div>"
            f"<footer>{parts.footer}</footer></body></html>")
    return html.encode("gb18030" if host.encoding == "gbk" else "utf-8")


# --- PDF -------------------------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _to_unicode_cmap(chars: list[str]) -> bytes:
    """A ToUnicode CMap for a subset font: glyph i+1 is chars[i], as PDF makers write them."""
    entries = [f"<{i + 1:04X}> <{ord(ch):04X}>" for i, ch in enumerate(chars)]
    blocks = []
    for start in range(0, len(entries), 100):
        chunk = entries[start:start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(blocks) +
            "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


def _wrap(text: str, width: int, lang: str) -> list[str]:
    if lang == "zh":
        return [text[i:i + width] for i in range(0, len(text), width)]
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def render_pdf(page: Page, host: Host, corpus: Corpus, version: int, seed: int) -> bytes:
    """A valid PDF: a title, pages of text lines, and a compressed grey image filling it to the page size."""
    rng = random.Random(f"pdf:{seed}:{page.number}")
    lang = host.lang
    title = corpus.phrase(rng, lang, 4, 8)
    paragraphs = _article(rng, corpus, lang, rng.randint(3_000, 12_000))
    if version == 2:
        paragraphs = _edit(random.Random(f"edit:{seed}:{page.number}"), corpus, lang, paragraphs)
    width = 38 if lang == "zh" else 90
    lines = [title, ""] + [line for p in paragraphs for line in _wrap(p, width, lang) + [""]]
    per_page = 46
    chunks = [lines[i:i + per_page] for i in range(0, len(lines), per_page)]

    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(dictionary: str, data: bytes) -> bytes:
        return f"<< {dictionary} /Length {len(data)} >>\nstream\n".encode("ascii") + data + b"\nendstream"

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    glyphs = {ch: i + 1 for i, ch in enumerate(sorted({ch for line in lines for ch in line if ord(ch) < 0x10000}))}
    if lang == "zh":
        cmap = add(stream("", _to_unicode_cmap(list(glyphs))))
        descriptor = add(b"<< /Type /FontDescriptor /FontName /AAAAAB+SimSun /Flags 4 /FontBBox [0 -141 1000 859] "
                         b"/ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 859 /StemV 80 >>")
        cid = add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAB+SimSun /CIDSystemInfo << /Registry (Adobe) "
                  f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /DW 1000 >>".encode("ascii"))
        font = add(f"<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAB+SimSun /Encoding /Identity-H "
                   f"/DescendantFonts [{cid} 0 R] /ToUnicode {cmap} 0 R >>".encode("ascii"))
    else:
        font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    text_bytes = sum(len(line) for line in lines) * (2 if lang == "zh" else 1)
    image_side = int(math.sqrt(max(page.size - text_bytes // 3 - 4_000, 4_096)))
    pixels = rng.randbytes(image_side * image_side)
    image = add(stream(f"/Type /XObject /Subtype /Image /Width {image_side} /Height {image_side} "
                       f"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                       zlib.compress(pixels, 1)))
    kids = []
    for number, chunk in enumerate(chunks):
        ops = ["BT", "/F1 10.5 Tf", "14 TL", "56 790 Td"]
        for line in chunk:
            if lang == "zh":
                ops.append("<" + "".join(f"{glyphs[ch]:04X}" for ch in line if ch in glyphs) + "> Tj T*")
            else:
                ops.append(_pdf_string(line.encode("cp1252", "replace").decode("cp1252")) + " Tj T*")
        ops.append("ET")
        if number == 0:
            ops.append("q 200 0 0 200 340 40 cm /Im1 Do Q")
        content = add(stream("/Filter /FlateDecode", zlib.compress("\n".join(ops).encode("latin-1"), 6)))
        kids.append(add(f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 595 842] "
                        f"/Resources << /Font << /F1 {font} 0 R >> /XObject << /Im1 {image} 0 R >> >> "
                        f"/Contents {content} 0 R >>".encode("ascii")))
    objects[pages_obj - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                              f"/Count {len(kids)} >>").encode("ascii")
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_obj} 0 R >>".encode("ascii")
    title_hex = "<FEFF" + title.encode("utf-16-be").hex().upper() + ">"
    info = add(f"<< /Title {title_hex} /Producer (synthweb) /CreationDate (D:{page.published.replace('-', '')}000000) >>"
               .encode("ascii"))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii")
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode("ascii")
    return bytes(out)


# --- building a web --------------------------------------------------------------------------


_WORKER: dict = {}


def _init_worker(hosts: list[Host], seed: int) -> None:
    _WORKER["corpus"] = Corpus(seed)
    _WORKER["hosts"] = hosts
    _WORKER["parts"] = {}
    _WORKER["seed"] = seed


def _parts(host: Host) -> SiteParts:
    cache = _WORKER["parts"]
    if host.index not in cache:
        cache[host.index] = SiteParts(host, _WORKER["corpus"], _WORKER["seed"])
    return cache[host.index]


def _write(path: Path, data: bytes, gz_too: bool) -> None:
    path.write_bytes(data)
    if gz_too:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data, 6, mtime=0))


def _build_pages(task: tuple[str, list[Page]]) -> int:
    folder, pages = Path(task[0]), task[1]
    corpus, hosts, seed = _WORKER["corpus"], _WORKER["hosts"], _WORKER["seed"]
    written = 0
    for page in pages:
        host = hosts[page.host]
        versions = (1, 2) if page.fate == "changed" else (1,)
        for version in versions:
            if page.kind == "pdf":
                data = render_pdf(page, host, corpus, version, seed)
            else:
                data = render_html(page, host, _parts(host), corpus, version, seed)
            _write(folder / f"{page.number}.{version}", data, host.gzip and not host.volatile and page.kind == "html")
            written += len(data)
    return written


def _build_hosts(task: tuple[str, list[Host]]) -> int:
    folder, hosts = Path(task[0]), task[1]
    corpus, seed = _WORKER["corpus"], _WORKER["seed"]
    for host in hosts:
        parts = _parts(host)
        (folder / f"home.{host.index}").write_bytes(render_home(host, parts, corpus, seed))
        (folder / f"notfound.{host.index}").write_bytes(render_not_found(host, parts))
    return len(hosts)


def default_hosts(pages: int) -> int:
    return min(1000, max(10, pages // 20))


def build(folder: str | os.PathLike, pages: int, hosts: int | None = None, volatile_share: float = 0.1,
          seed: int = 1, workers: int | None = None, quiet: bool = False) -> dict:
    """Write a web of `pages` pages to `folder` (reused when one with the same settings is there)."""
    folder = Path(folder)
    hosts = hosts or default_hosts(pages)
    settings = {"format": FORMAT_VERSION, "pages": pages, "hosts": hosts, "volatile_share": volatile_share,
                "seed": seed}
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("settings") == settings:
            return manifest
    bodies = folder / "bodies"
    bodies.mkdir(parents=True, exist_ok=True)
    host_list = make_hosts(hosts, volatile_share, seed)
    page_list = make_pages(pages, host_list, seed)
    started = time.monotonic()
    by_host = sorted(page_list, key=lambda p: p.host)
    chunk = 200
    tasks = [(str(bodies), by_host[i:i + chunk]) for i in range(0, len(by_host), chunk)]
    host_tasks = [(str(bodies), host_list[i:i + 50]) for i in range(0, len(host_list), 50)]
    workers = workers or os.cpu_count() or 1
    total = 0
    with multiprocessing.get_context("fork").Pool(workers, _init_worker, (host_list, seed)) as pool:
        pool.map(_build_hosts, host_tasks)
        for done, written in enumerate(pool.imap_unordered(_build_pages, tasks), start=1):
            total += written
            if not quiet and (done % 25 == 0 or done == len(tasks)):
                print(f"  built {min(done * chunk, pages)}/{pages} pages ({total / 1e6:.0f} MB, "
                      f"{time.monotonic() - started:.0f} s)", file=sys.stderr)
    manifest = {"settings": settings, "hosts": [asdict(h) for h in host_list],
                "pages": [asdict(p) for p in page_list], "bytes": total}
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest))
    tmp.replace(manifest_path)
    return manifest


def load(folder: str | os.PathLike) -> dict:
    return json.loads((Path(folder) / "manifest.json").read_text())


# --- serving ---------------------------------------------------------------------------------


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 404: "Not Found",
            500: "Internal Server Error"}
_OLD_DATE = formatdate(1_500_000_000, usegmt=True)
_NEW_DATE = formatdate(1_700_000_000, usegmt=True)


class Web:
    """Answers requests for a built web; `phase` 1 is the first visit, 2 the second."""

    def __init__(self, folder: str | os.PathLike, port: int) -> None:
        self.folder = Path(folder)
        manifest = load(folder)
        self.hosts = [Host(**h) for h in manifest["hosts"]]
        self.by_address = {h.address: h for h in self.hosts}
        self.pages: dict[tuple[int, str], tuple[Page, bool]] = {}
        for record in manifest["pages"]:
            page = Page(**record)
            self.pages[(page.host, page.path)] = (page, False)
            if page.tracked_path != page.path:
                self.pages[(page.host, page.tracked_path)] = (page, True)
        self.port = port
        self.phase = 1
        self.requests = 0
        self.bytes_sent = 0
        self.views = itertools.count(1000)
        self.rng = random.Random(99)
        self.most_read_pool = [f'<li><a href="/top/{i}.html">{i}</a></li>'.encode() for i in range(500)]

    def _file(self, name: str) -> bytes:
        with open(self.folder / "bodies" / name, "rb") as handle:
            return handle.read()

    def _base(self, host: Host) -> str:
        return f"http://{host.address}:{self.port}"

    def answer(self, host: Host | None, target: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        if host is None:
            return 404, [("Content-Type", "text/plain")], b"unknown host"
        if target == "/":
            return 200, [("Content-Type", content_type(host, "html"))], self._file(f"home.{host.index}")
        found = self.pages.get((host.index, target))
        if found is None:
            return self._not_found(host)
        page, is_old_address = found
        if is_old_address:
            return 301, [("Location", self._base(host) + page.path), ("Content-Type", "text/html")], b""
        if page.fate == "deleted" and self.phase == 2:
            return self._not_found(host)
        version = 2 if page.fate == "changed" and self.phase == 2 else 1
        extra: list[tuple[str, str]] = []
        etag = f'"{page.number:x}-{version}"'
        modified = _NEW_DATE if version == 2 else _OLD_DATE
        if host.validators in ("etag", "both"):
            extra.append(("ETag", etag))
            if headers.get("if-none-match") == etag:
                return 304, extra, b""
        if host.validators in ("last-modified", "both"):
            extra.append(("Last-Modified", modified))
            if "if-none-match" not in headers and headers.get("if-modified-since") == modified:
                return 304, extra, b""
        gzip_ok = host.gzip and page.kind == "html" and "gzip" in headers.get("accept-encoding", "")
        if host.volatile and page.kind == "html":
            body = self._file(f"{page.number}.{version}")
            body = body.replace(COUNTER_MARK, str(next(self.views)).encode())
            body = body.replace(MOST_READ_MARK, b"".join(self.rng.sample(self.most_read_pool, 10)))
            if gzip_ok:
                body = gzip.compress(body, 1)
                extra.append(("Content-Encoding", "gzip"))
        elif gzip_ok:
            body = self._file(f"{page.number}.{version}.gz")
            extra.append(("Content-Encoding", "gzip"))
        else:
            body = self._file(f"{page.number}.{version}")
        return 200, [("Content-Type", content_type(host, page.kind))] + extra, body

    def _not_found(self, host: Host) -> tuple[int, list[tuple[str, str]], bytes]:
        if host.not_found == "home":
            return 302, [("Location", self._base(host) + "/"), ("Content-Type", "text/html")], b""
        status = 404 if host.not_found == "404" else 200
        return status, [("Content-Type", content_type(host, "html"))], self._file(f"notfound.{host.index}")

    def control(self, target: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if target.startswith("/__bench/phase/"):
            self.phase = int(target.rsplit("/", 1)[1])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        data = {"phase": self.phase, "requests": self.requests, "bytes_sent": self.bytes_sent,
                "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}
        return 200, [("Content-Type", "application/json")], json.dumps(data).encode()


async def _connection(web: Web, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    local = writer.get_extra_info("sockname")[0]
    host = web.by_address.get(local)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                break
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, _ = lines[0].split(" ", 2)
            except ValueError:
                break
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            try:
                if local == CONTROL_ADDRESS:
                    status, extra, body = web.control(target)
                else:
                    web.requests += 1
                    status, extra, body = web.answer(host, target, headers)
            except Exception as exc:  # a bug here must show, not hang the client
                print(f"error answering {target}: {exc!r}", file=sys.stderr, flush=True)
                status, extra, body = 500, [("Content-Type", "text/plain")], repr(exc).encode()
            out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", "Server: synthweb",
                   f"Date: {formatdate(usegmt=True)}", f"Content-Length: {len(body) if status != 304 else 0}"]
            out += [f"{name}: {value}" for name, value in extra]
            close = headers.get("connection", "").lower() == "close"
            out.append("Connection: close" if close else "Connection: keep-alive")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            if method != "HEAD" and status != 304 and body:
                writer.write(body)
                web.bytes_sent += len(body)
            await writer.drain()
            if close:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve(folder: str, port: int, ready: str | None) -> None:
    manifest = load(folder)
    addresses = [CONTROL_ADDRESS] + [h["address"] for h in manifest["hosts"]]
    if port == 0:
        probe = socket.socket()
        probe.bind((CONTROL_ADDRESS, 0))
        port = probe.getsockname()[1]
        probe.close()
    web = Web(folder, port)
    server = await asyncio.start_server(lambda r, w: _connection(web, r, w), host=addresses, port=port,
                                        backlog=512, reuse_address=True)
    message = json.dumps({"port": port, "pid": os.getpid(), "addresses": len(addresses)})
    if ready:
        Path(ready).write_text(message)
    print(message, flush=True)
    async with server:
        await server.serve_forever()


def serve(folder: str, port: int = 0, ready: str | None = None) -> None:
    """Serve a built web until killed; prints {"port": ...} once listening (and writes it to `ready`)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_serve(folder, port, ready))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write a synthetic web to a folder")
    b.add_argument("folder")
    b.add_argument("--pages", type=int, default=5000)
    b.add_argument("--hosts", type=int)
    b.add_argument("--volatile", type=float, default=0.1)
    b.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("serve", help="serve a built web on loopback addresses")
    s.add_argument("folder")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--ready", help="file to write the port to once listening")
    args = parser.parse_args()
    if args.command == "build":
        manifest = build(args.folder, args.pages, args.hosts, args.volatile, args.seed)
        print(f"{len(manifest['pages'])} pages on {len(manifest['hosts'])} hosts in {args.folder}")
    else:
        serve(args.folder, args.port, args.ready)


if __name__ == "__main__":
    main()
