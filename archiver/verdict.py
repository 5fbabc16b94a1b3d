"""Decide what happened to a page since its last good capture: the source state and why.

`judge(previous, current)` compares the capture just made with the previous *good* capture
(one whose verdict was new, unchanged, altered or moved) and returns a Verdict: the state, a
sentence giving the evidence, the main-text similarity, and whether this capture becomes the
new baseline ("good"). It is pure: the pipeline fetches, extracts and stores; this module only
reads what it is given.

The checks run in this order; the first that applies decides. (docs/verdicts.md shows these
rules, with examples of the reasons each gives: it is generated from this text.)

1. No response (a fetch error, or no status) -> unreachable. Timeouts, refused or dropped
   connections, DNS and TLS failures, protocol errors and other failures say nothing about the
   page. Too many redirects and redirect loops are also unreachable: they are typical of cookie
   and anti-bot checks and of server misconfiguration, not of removed pages. A body over the size
   limit and a private address that the configuration refuses are our own limits, not the
   site's answer. Never "deleted" on this evidence: the last good capture stands.
2. HTTP status.
   - 404 and 410 -> deleted: the server says the page is not there.
   - 304 Not Modified (answer to a conditional request) -> unchanged, but not good: it carries no
     body, so the previous good capture remains the baseline. Without a previous capture ->
     unreachable.
   - 403, 429, 5xx and every other non-2xx status (401, 451 ...) -> unreachable: access refused,
     rate-limited, a regional or legal block or a server failure, not evidence of deletion.
3. Same content as the previous good capture -> unchanged, or moved when the request now ends
   after a permanent redirect (a 301 or 308 hop) at an address the previous capture did not end
   at. "Same" means identical bytes, or identical main text, or identical after removing noise
   (below). A page that still says what it said cannot be deleted, so this comes before 5.
   A redirect the previous good capture already followed is not news: later runs report
   unchanged (or altered), and the reason says "still redirected".
4. A blank HTML page, when there is a previous capture -> unreachable: status 2xx, but no
   visible text at all besides the title (scripts and markup only), and no not-found title.
   That is what a JavaScript or anti-bot check (common on Chinese government sites) or a
   broken server returns, not the publisher removing the page; an emptied article keeps the
   site's template and text (5e).
5. Deleted although the server answered 2xx:
   - 5a, soft 404: the main text is very similar (>= SOFT_404_MIN) to `not_found_text`, the page
     the same site returns for a random nonexistent URL. Ignored when the previous good capture
     is itself that similar to it (a site that serves one shell page for every URL).
   - 5b, not-found wording on a short page (`looks_like_not_found`): English and Chinese phrases
     ("page not found", 页面不存在, 该信息已删除 ...) in the title or main text (or, when the main
     text is under min_body_chars, in all the visible text: a bare error template often has no
     main text; or in the running text, see below: a notice inside the site's full template
     comes with its menus), only when that text is shorter than SHORT_PAGE_WORDS, so a long
     article that merely mentions "page not found" is never deleted; and not when the text is
     still nearly the same (>= NEAR_SAME) as the previous good capture. HTML and plain-text
     pages only.
   - 5c, the site's home page: the main text is very similar (>= HOME_MIN) to `home_text`, unless
     the tracked URL is itself the site root, and the text is unrelated (< UNRELATED_BELOW) to
     the previous good capture if there is one. With or without a redirect.
   - 5d, a redirect (HTTP or meta-refresh) to an unrelated page: the request ended at another URL
     and its text has similarity < UNRELATED_BELOW to the previous good capture. Content
     decides, not the URL: a redirect to "/" with the same article text is not a deletion,
     and without a previous capture or home page text there is nothing to judge it by.
   - 5e, the article body emptied: the previous main text had at least 4 x min_body_chars
     characters and the current one has fewer than min_body_chars. Or, for HTML and text
     pages, the same measured on the running text, and the page is unrelated (< UNRELATED_BELOW)
     to the previous capture: when a template is left with an empty article, the extractor finds
     no article and returns what is left, the menus, headline lists and bylines.
   - 5f, the article body emptied, judged on the page (HTML pages judged where they were parsed,
     see Snapshot.page): at least GONE_SHARE of the previous capture's running text (of its
     whole main text when it has too little running text: lyrics, lists) is gone from the page
     (not shown anywhere, nor edited into a line of the new main text), and the new main text
     adds less than NEW_ARTICLE_SHARE of that much (and less than min_body_chars) of text that
     is neither link text nor part of a teaser (archiver.layout.PageLayout.furniture_share):
     what the extractor took for the article is the template's furniture. A new article in the
     old one's place is no furniture: that page is altered.
6. The extractor's line moved, not the article -> unchanged (or moved, after a new permanent
   redirect); HTML pages judged where they were parsed. The main text is where an extractor
   draws its line that day, and a footer, a script or a class name that changes can make it
   take in or leave out a subtitle or a teaser. The page's article is located where the
   previous main text sits in it now (the element holding most of it and least else,
   PageLayout.article_span). The differences are the extractor's when every line that joined
   the main text lies outside that element, and every line that left it is still shown inside
   it, or was a stray line at an edge of the previous main text, or was edited into a joined
   line that stands away from the article (more than ADJACENT_CHARS characters of other text
   between them: a date or number in the template). An edit next to the article or in it, a
   paragraph gone from the page or added inside the article all count.
7. Moved, with small differences: a new permanent redirect, and the text similarity to the
   previous good capture is at least NEAR_SAME (the reason says the text also differs).
8. No previous good capture -> new (the reason mentions a redirect or a near-empty text).
9. Anything else -> altered. The reason gives the similarity and which paragraphs were
   removed, added or changed, and quotes the edit itself when it is small ("'2018' ->
   '2019'"). One edited word or number is enough: equality, not similarity, decides unchanged.

Running text (rules 5b and 5e): the comparable lines (below) that end like a sentence (. 。 ! ?,
perhaps followed by a closing quote or bracket). Every article has some; navigation, headline
lists, bylines, dates and buttons do not.

Noise is not change. Before comparing, the main text of both captures is cleaned line by line:
- a line that is only a date or time ("2024-05-01 10:00", "May 3, 2024") is dropped;
- in a short line (up to NOISE_LINE_CHARS characters) that holds a labelled date ("更新时间：
  2024-05-01", "Updated: May 3, 2024", "发布日期") or a labelled counter ("浏览次数：1234",
  "阅读量 1.2万", "Views: 5,321", "点击数"), those fields are removed; if nothing else is left the
  line goes, otherwise the rest of it is compared. A line that ends like a sentence (. 。 ! ?)
  and holds more than those fields is left whole: a number in a sentence is content;
- share/print/font-size lines ("【打印】【关闭】", "字体：大 中 小", "Share this article") go;
- a sidebar heading ("Most read", "Related articles", "相关阅读", "热门文章", "猜你喜欢" ...) goes
  with the short, list-like lines after it (up to SIDEBAR_ITEM_WORDS words each);
- spacing and line breaks are ignored (see quotes.squeeze_spaces), and extract.fold_text folds
  width forms and quotation marks (the stored text keeps them as the page has them).
Case, punctuation and every word and number of the article are compared exactly. Only labels
that name a publication or update stamp count: the date in "会议时间：2018年3月5日" is content.

Thresholds are module constants: NEAR_SAME 0.9, UNRELATED_BELOW 0.4, SOFT_404_MIN 0.85,
HOME_MIN 0.8, SHORT_PAGE_WORDS 150, GONE_SHARE 0.75, NEW_ARTICLE_SHARE 0.5, LINK_SHARE 0.5,
EDITED_MIN 0.5, ADJACENT_CHARS 400. Rules 5f and 6 read the page (PageLayout) only when a
capture would otherwise be altered, which few are: a worker parses each page once, for
extraction. For scale: two unrelated news articles, Chinese or English, score about
0.1 with `similarity`; one edited number in an article scores above 0.99.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rapidfuzz.distance import Indel

from archiver.diff import WORD_UNITS, count_words, describe_changes, diff_texts, looks_chinese
from archiver.extract import fold_text
from archiver.quotes import format_score, squeeze_spaces
from archiver.urls import InvalidURL, normalise_url

if TYPE_CHECKING:
    from archiver.layout import PageLayout

NEAR_SAME = 0.9
UNRELATED_BELOW = 0.4
SOFT_404_MIN = 0.85
HOME_MIN = 0.8
SHORT_PAGE_WORDS = 150
NOISE_LINE_CHARS = 150
SIDEBAR_ITEM_WORDS = 40
PERMANENT = (301, 308)
GONE_SHARE = 0.75
NEW_ARTICLE_SHARE = 0.5
LINK_SHARE = 0.5
EDITED_MIN = 0.5
ADJACENT_CHARS = 400

FETCH_ERRORS = {
    "timeout": "the server did not answer in time",
    "connect": "the connection was refused or dropped",
    "dns": "the host name could not be resolved (DNS failure)",
    "tls": "the secure connection failed (TLS)",
    "protocol": "the server's answer broke the HTTP protocol",
    "too_large": "the page is larger than the configured size limit",
    "too_many_redirects": "too many redirects (often a cookie or anti-bot check)",
    "redirect_loop": "the redirects go round in a loop (often a cookie or anti-bot check)",
    "private_address": "the address is private and the configuration does not allow fetching it",
    "proxy": "the proxy of the vantage point failed or refused to fetch the page",
    "other": "the fetch failed",
}


@dataclass
class Snapshot:
    """What the pipeline knows of one capture. redirects: (status, target URL) per hop, in
    order; a meta-refresh hop has status 0. title: the page title, when there is one. page:
    where texts sit in the page (an archiver.layout.PageLayout), when the extraction worker
    judges the capture it has just parsed; None otherwise (rules 5f and 6 then do not apply)."""

    requested_url: str
    final_url: str | None
    status: int | None
    redirects: list[tuple[int, str]]
    text: str
    full_text: str
    body_sha256: str | None
    text_sha256: str | None
    error_kind: str | None
    error: str | None
    kind: str = "html"
    title: str | None = field(default=None)
    page: PageLayout | None = field(default=None, repr=False, compare=False)


@dataclass
class Verdict:
    """The state of a source after one capture, the evidence, and whether it is a baseline."""

    state: str
    reason: str
    similarity: float | None
    good: bool


def _tokens(text: str) -> list[str]:
    return WORD_UNITS.findall(text.casefold())


def similarity(a: str, b: str) -> float:
    """How much of two texts is the same, in order, from 0 (nothing) to 1 (identical).

    Compares sequences of words (Latin words and numbers) and single CJK characters, so Chinese
    without spaces and English are measured alike; punctuation, spacing and case are ignored.
    Computed as 1 - normalised Indel distance (2 x longest common subsequence / total length).
    Two empty texts are identical (1.0); one empty text is 0.0.
    """
    return _token_similarity(_tokens(a), _tokens(b))


def _token_similarity(ta: list[str], tb: list[str], cutoff: float = 0.0) -> float:
    """similarity of two token lists; 0.0 for any score below `cutoff`."""
    if not ta and not tb:
        return 1.0
    return Indel.normalized_similarity(ta, tb, score_cutoff=cutoff)


# --- not-found pages -------------------------------------------------------------------------

_NOT_FOUND_EN = [
    r"\bpage (?:was )?not found\b",
    r"\b(?:could ?n[o'’]t|can ?n[o'’]t|cannot|unable to) find (?:that|the|this|your|the requested) "
    r"(?:page|article|story|content|file)",
    r"\b(?:page|article|story|content|file|document)s? (?:you (?:are |were |'re |’re )?(?:looking for|requested) "
    r"|requested )?(?:could ?n[o'’]t|can ?n[o'’]t|cannot|could not) be (?:found|displayed)",
    r"\bthe requested (?:url|page|resource|document) (?:was not|could not be|cannot be) found",
    r"\b(?:is|are|was) no longer (?:available|online|accessible)",
    r"\b(?:has|have) been (?:removed|deleted|taken down|unpublished|withdrawn)",
    r"\b(?:page|article|story|content|item|post) (?:does not|doesn[’']t|no longer) exists?\b",
    r"\b404 (?:error|not found|page)\b|\b(?:error|http) 404\b",
    r"^\W*(?:404|not found)\W*$",
    r"\bhaven[’']t been able to serve the page\b",
    r"\bpage (?:has )?expired\b",
    r"\bthis (?:page|content) (?:isn[’']t|is not) available\b",
]
_NOT_FOUND_ZH = [
    r"(?:页面|頁面|网页|網頁|文章|信息|資訊|资讯|内容|內容|新闻|新聞|稿件|链接|鏈接|連結|资源|資源|该页|該頁|此页|此頁)"
    r"[^，。！？,.!?\n]{0,8}?"
    r"(?:不存在|已被?[删刪]除|已?失效|已过期|已過期|已下[线線]|已撤[销銷稿]|无法找到|無法找到|未找到|找不到)",
    r"找不到(?:该|該|此|您要访问的|您要訪問的|您访问的|您訪問的|你要找的|您要找的)?(?:页面|頁面|网页|網頁|文章|内容|內容)",
    r"404\s*(?:错误|錯誤|页面|頁面)|(?:错误|錯誤)\s*404",
]
_NOT_FOUND = re.compile("|".join(_NOT_FOUND_EN + _NOT_FOUND_ZH), re.I | re.M)


def looks_like_not_found(text: str, title: str | None = None) -> str | None:
    """If a short page reads like a "not found" notice, say why; otherwise None.

    Looks for English and Chinese (simplified and traditional) not-found phrases in the title
    and the main text, but only when the main text has fewer than SHORT_PAGE_WORDS words (a
    CJK character counts as one): a long article containing "page not found" is an article.
    Returns e.g. 'the text says "页面不存在"'.
    """
    if _has_words(text, SHORT_PAGE_WORDS):
        return None
    for where, content in (("title", title or ""), ("text", text)):
        found = _NOT_FOUND.search(content)
        if found:
            return f'the {where} says "{found.group(0).strip()}"'
    return None


def _has_words(text: str, n: int) -> bool:
    """count_words(text) >= n, without counting the words of a long text beyond the n-th."""
    return next(itertools.islice(WORD_UNITS.finditer(text), n - 1, None), None) is not None


# --- noise -------------------------------------------------------------------------------------

_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun)\b\.?,?"
)
_DATE_PART = (
    r"(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"|\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{4}"
    r"|\d{4}\s*年\s*\d{1,2}\s*月|\d{1,2}\s*月\s*\d{1,2}\s*日"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    r"|\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
    rf"|{_WEEKDAY}|星期[一二三四五六日天]|周[一二三四五六日]"
    r"|(?:utc|gmt|cst|bst|edt|est|pdt|pst|hkt)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?|[+-]\d{2}:\d{2}"
    r"|\d+\s*(?:分钟|小时|天)前|\d+\s+(?:minutes?|hours?|days?)\s+ago|刚刚|昨天|今天)"
)
_DATE_RUN = rf"{_DATE_PART}(?:[\s,，]*{_DATE_PART})*"
_STAMP_LABEL = (
    r"(?:更新时间|更新日期|发布时间|发布日期|发表时间|发表日期|修改时间|修改日期|"
    r"更新時間|更新日期|發布時間|發佈時間|發表時間|發布日期|"
    r"last updated|last modified|updated|published|posted|modified)"
)
_COUNT = r"\d[\d,.]*\s*(?:万|千|k|m)?\+?"
_COUNTER_LABEL = (
    r"(?:浏览次数|浏览量|浏览|阅读量|阅读数|阅读次数|阅读|点击数|点击量|点击率|点击|访问量|访问次数|访问|人气|热度|"
    r"瀏覽次數|瀏覽|閱讀|點擊|page ?views|views?|reads|hits|visits)"
)
_NOISE_FIELD = re.compile(
    rf"{_STAMP_LABEL}\s*[:：]?\s*(?:(?:on|at)\s+)?{_DATE_RUN}"
    rf"|{_COUNTER_LABEL}\s*[:：]?\s*(?:{_COUNT})?(?=$|[\s|｜丨/,，;；)）\]】])"
    rf"|{_COUNT}\s*(?:次浏览|次阅读|人阅读|人浏览|次点击|次访问|人次|views|reads)",
    re.I,
)
_ONLY_DATE = re.compile(rf"\W*{_DATE_RUN}\W*", re.I)
# Every noise field holds one of these words: its stamp label or counter label contains one, and
# so does a count's suffix (次浏览 holds 浏览). A line without any of them has no field, and the
# search for the fields themselves, ~40 microseconds a line, is skipped. Searched for in the
# case-folded line without re.I, the words' first characters let the regex engine skip ahead:
# ~2 microseconds. (Tests check the list against the patterns above.)
_NOISE_WORDS = (
    "更新", "发布", "发表", "修改", "發布", "發佈", "發表", "updated", "modified", "published", "posted",
    "浏览", "阅读", "点击", "访问", "人气", "热度", "瀏覽", "閱讀", "點擊", "view", "reads", "hits", "visits", "人次",
)
_NOISE_WORD = re.compile("|".join(_NOISE_WORDS))
# re.I also matches the dotted and dotless i of Turkish with i; casefold() alone does not.
_TURKISH_I = str.maketrans({"\u0130": "i", "\u0131": "i"})


def _may_hold_noise(line: str) -> bool:
    """False when _NOISE_FIELD cannot match `line`: none of _NOISE_WORDS is in it, in any case."""
    if line.isascii():
        folded = line.lower()
    else:
        folded = (line.translate(_TURKISH_I) if "\u0130" in line or "\u0131" in line else line).casefold()
    return _NOISE_WORD.search(folded) is not None


_BOILERPLATE_ITEM = (
    r"(?:打印本页|打印|关闭窗口|关闭|收藏|分享|分享到[:：]?.{0,30}|字体\s*[:：]?\s*大\s*中\s*小|字号\s*[:：]?\s*大\s*中\s*小|"
    r"扫一扫在手机打开当前页|扫一扫|返回顶部|返回首页|"
    r"back to top|print(?: this (?:page|article))?|share(?: this)?(?: article| story| page)?(?: on \w+)?|"
    r"email|tweet|save|advertisement|广告)"
)
_BOILERPLATE = re.compile(rf"{_BOILERPLATE_ITEM}(?:\s+{_BOILERPLATE_ITEM})*", re.I)
_BOILERPLATE_STRIP = re.compile(r"[\s【】\[\]()（）|｜丨/·•:：]+")
_SIDEBAR_HEADING = re.compile(
    r"(?:most (?:read|popular|viewed|shared)|trending(?: now)?|popular(?: now| stories| articles)?|"
    r"related(?: articles| stories| news| content| reading| coverage)?|read more|more stories|"
    r"recommended(?: for you)?|you (?:may|might) also like|"
    r"相关(?:新闻|阅读|文章|链接|推荐|报道)|推荐阅读|热门(?:文章|新闻|推荐|排行|阅读)|热点(?:新闻|推荐|文章)|"
    r"猜你喜欢|延伸阅读|点击排行|阅读排行|精彩推荐|为你推荐|最新(?:文章|新闻)|更多(?:新闻|阅读|精彩)|"
    r"相關(?:新聞|閱讀|文章)|熱門(?:文章|新聞))\W*",
    re.I,
)
_SENTENCE_END = re.compile(r"[.。!！?？]\W{0,2}$")
_HAS_CONTENT = re.compile(r"[^\W_]")


def _clean_line(line: str) -> str | None:
    """The line without noise fields, or None when the whole line is noise."""
    if len(line) > NOISE_LINE_CHARS:
        return None if _ONLY_DATE.fullmatch(line) else line
    return _clean_short_line(line)


@functools.lru_cache(maxsize=8192)
def _clean_short_line(line: str) -> str | None:
    """_clean_line of a short line. Cached: the menus, footers and sidebars of a site repeat on
    each of its pages, and short lines keep the cache small."""
    if not line or _ONLY_DATE.fullmatch(line):
        return None
    if _BOILERPLATE.fullmatch(_BOILERPLATE_STRIP.sub(" ", line).strip()):
        return None
    if not _may_hold_noise(line):
        return line
    rest, removed = _NOISE_FIELD.subn(" ", line)
    if not removed:
        return line
    if not _HAS_CONTENT.search(rest):
        return None
    if _SENTENCE_END.search(line):
        return line
    return " ".join(rest.split()).strip(" |｜丨/·,，;；")


def comparable_lines(text: str) -> list[str]:
    """The lines of a main text that are compared: folded (extract.fold_text), noise removed
    (see module notes)."""
    return list(_comparable_lines(text))


def _comparable_lines(text: str) -> Iterator[str]:
    in_sidebar = False
    for line in fold_text(text).splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if _SIDEBAR_HEADING.fullmatch(line):
            in_sidebar = True
            continue
        if in_sidebar and not _has_words(line, SIDEBAR_ITEM_WORDS + 1):
            continue
        in_sidebar = False
        cleaned = _clean_line(line)
        if cleaned:
            yield cleaned


def _key(lines: list[str]) -> str:
    return squeeze_spaces("\n".join(lines))


def running_text(lines: list[str]) -> str:
    """The comparable lines that end like a sentence, joined: the article without the menus,
    headline lists, bylines and buttons that an extractor returns when it finds no article."""
    return "\n".join(line for line in lines if _SENTENCE_END.search(line))


def _folded(text: str) -> str:
    return squeeze_spaces(fold_text(text))


# --- URLs and redirects --------------------------------------------------------------------------


def _canonical(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return normalise_url(url)
    except InvalidURL:
        return url


def _is_site_root(url: str) -> bool:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").lower()
    return not parts.query and (path == "" or re.fullmatch(r"/(?:index|default|home)\.\w+", path) is not None)


def _hops(snapshot: Snapshot) -> str:
    return ", ".join("meta-refresh" if status == 0 else str(status) for status, _ in snapshot.redirects)


def _redirect_phrase(snapshot: Snapshot) -> str:
    hops = _hops(snapshot)
    return f"redirected ({hops}) to {snapshot.final_url}" if hops else f"ended at {snapshot.final_url}"


# --- the verdict -----------------------------------------------------------------------------


def _near(distance: int | None) -> bool:
    """Whether a line lies within ADJACENT_CHARS of the article (None: the page does not show it)."""
    return distance is not None and distance <= ADJACENT_CHARS


class _Comparison:
    """Everything judge derives from the two snapshots, each computed once and only when a rule
    asks for it: an unchanged page is recognised by its hashes before any text is prepared."""

    def __init__(self, previous: Snapshot | None, current: Snapshot) -> None:
        self.previous = previous
        self.current = current
        final = _canonical(current.final_url)
        self.redirected = final is not None and final != _canonical(current.requested_url)
        permanent = any(status in PERMANENT for status, _ in current.redirects)
        new_location = previous is None or final != _canonical(previous.final_url or previous.requested_url)
        self.new_permanent_redirect = self.redirected and permanent and new_location

    @functools.cached_property
    def cur_lines(self) -> list[str]:
        return comparable_lines(self.current.text)

    @functools.cached_property
    def prev_lines(self) -> list[str]:
        return comparable_lines(self.previous.text) if self.previous else []

    @functools.cached_property
    def cur_key(self) -> str:
        return _key(self.cur_lines)

    @functools.cached_property
    def prev_key(self) -> str:
        return _key(self.prev_lines)

    @functools.cached_property
    def sim(self) -> float | None:
        return round(similarity(self.prev_key, self.cur_key), 4) if self.previous else None

    @functools.cached_property
    def ops(self) -> list[tuple[str, int, int, int, int]]:
        """How the previous comparable lines became the current ones (difflib opcodes)."""
        return list(SequenceMatcher(None, self.prev_lines, self.cur_lines, autojunk=False).get_opcodes())


def _sameness(c: _Comparison) -> str | None:
    """Why the current content is the same as the previous good capture's, or None."""
    prev, cur = c.previous, c.current
    if prev is None:
        return None
    if prev.body_sha256 and prev.body_sha256 == cur.body_sha256:
        return "identical bytes to the previous capture"
    if cur.kind != "html" and not c.cur_key and not c.prev_key:
        return None
    if (prev.text_sha256 and prev.text_sha256 == cur.text_sha256) or prev.text == cur.text:
        return "main text identical to the previous capture"
    if _folded(prev.text) == _folded(cur.text):
        return "main text identical to the previous capture apart from spacing, line breaks and character width"
    if c.cur_key == c.prev_key:
        return "main text unchanged once dates, view counters, share buttons and sidebar lists are ignored"
    return None


_URLISH = re.compile(r"(?:https?://|/)[!-~]*")


def _lines_without_urls(text: str) -> Iterator[str]:
    """The comparable lines of a text with URLs and paths removed: a not-found page often
    echoes the requested address, which differs from one probe to the next."""
    return _comparable_lines(_URLISH.sub(" ", text))


@functools.lru_cache(maxsize=64)
def _reference_tokens(reference: str, lines_of) -> list[str]:
    """The tokens of a site's not-found or home page, prepared once for all the site's captures.

    Interned: a cached page repeats the same words and CJK characters thousands of times, and
    each token found is a new string object of 50-80 bytes; 64 pages held 13 MB per worker."""
    return [sys.intern(token) for token in _tokens(_key(list(lines_of(reference))))]


def _closeness(snapshot: Snapshot, reference: str, lines_of, cutoff: float) -> float:
    """Similarity of a snapshot to a reference page's text (raw; `lines_of` gives the comparable
    lines of either side), whether the reference is a main text or all visible text: both texts
    of the snapshot are tried and the higher counts. Scores below `cutoff` come back as 0.0."""
    ref = _reference_tokens(reference, lines_of)
    texts = {snapshot.text, snapshot.full_text} - {""}
    return max((_similarity_up_to(lines_of(text), ref, cutoff) for text in texts), default=0.0)


def _similarity_up_to(lines: Iterator[str], ref: list[str], cutoff: float) -> float:
    """_token_similarity of the lines' key with `ref`, or 0.0 as soon as the lines hold too many
    tokens to reach `cutoff`, before the rest of a long page is prepared.

    The similarity is 2 x common / (len(a) + len(b)), so at most 2 x len(ref) / (n + len(ref))
    for a text of n tokens. The tokens are counted line by line, each line squeezed as the key
    will be; joining two lines can make one token of two at most (when a combining mark that
    case-folds into a letter starts the second line), so n counted over k lines means at least
    n - (k - 1) in the key."""
    most = len(ref) * (2 / cutoff - 1) + 1 if cutoff > 0 else math.inf
    kept: list[str] = []
    counted = 0
    for line in lines:
        kept.append(line)
        counted += len(_tokens(squeeze_spaces(line)))
        if counted - (len(kept) - 1) > most:
            return 0.0
    return _token_similarity(_tokens(_key(kept)), ref, cutoff)


def _size(text: str) -> str:
    n = count_words(text)
    return f"{n} characters" if looks_chinese(text) else f"{n} words"


def _deletion(
    c: _Comparison, not_found_text: str | None, home_text: str | None, min_body_chars: int
) -> str | None:
    """Why a 2xx answer means the page is gone, or None (rules 5a-5e)."""
    cur = c.current
    if not_found_text and (cur.text or cur.full_text):
        score = _closeness(cur, not_found_text, _lines_without_urls, SOFT_404_MIN)
        if score >= SOFT_404_MIN and not (
            c.previous is not None and _closeness(c.previous, not_found_text, _lines_without_urls, SOFT_404_MIN)
        ):
            return (
                f"status {cur.status}, but the text matches the site's not-found page "
                f"(similarity {format_score(score)})"
            )
    prose = running_text(c.cur_lines) if cur.kind in ("html", "text") else ""
    if cur.kind in ("html", "text") and (c.sim is None or c.sim < NEAR_SAME):
        texts = [("page", cur.text)] + ([("page", cur.full_text)] if len(c.cur_key) < min_body_chars else [])
        for what, text in texts + ([("page's running text", prose)] if prose else []):
            phrase = looks_like_not_found(text, cur.title)
            if phrase:
                return f"status {cur.status}, but the {what} is short ({_size(text)}) and {phrase}"
    related = c.sim is not None and c.sim >= UNRELATED_BELOW
    if home_text and not related and not _is_site_root(cur.requested_url):
        score = _closeness(cur, home_text, _comparable_lines, HOME_MIN)
        if score >= HOME_MIN:
            how = f"{_redirect_phrase(cur)}, which" if c.redirected else "the page"
            previous = f", {format_score(c.sim)} to the previous capture" if c.sim is not None else ""
            return (
                f"{how} shows the site's home page "
                f"(similarity {format_score(score)} to the home page{previous})"
            )
    if c.redirected and c.sim is not None and not related:
        return (
            f"{_redirect_phrase(cur)}, an unrelated page: "
            f"similarity {format_score(c.sim)} to the previous capture"
        )
    if c.previous is not None and len(c.prev_key) >= 4 * min_body_chars:
        if len(c.cur_key) < min_body_chars:
            return (
                f"article body emptied: {len(c.cur_key)} characters of main text now, "
                f"{len(c.prev_key)} in the previous capture"
            )
        prose_now, prose_before = len(squeeze_spaces(prose)), len(squeeze_spaces(running_text(c.prev_lines)))
        if cur.kind in ("html", "text") and not related and prose_now < min_body_chars <= prose_before / 4:
            return (
                f"article body emptied: {prose_now} characters of running text now, {prose_before} in the "
                f"previous capture; what is left is page furniture (menus, link lists), "
                f"similarity {format_score(c.sim)} to the previous capture"
            )
    return _emptied_in_page(c, min_body_chars)


def _line_chars(lines) -> int:
    return sum(len(squeeze_spaces(line)) for line in lines)


def _emptied_in_page(c: _Comparison, min_body_chars: int) -> str | None:
    """Rule 5f: the previous capture's article text is gone from the page, and the page shows no
    new article in its place, only furniture: menus, link lists, teasers (module notes)."""
    page, previous = c.current.page, c.previous
    if page is None or previous is None:
        return None
    sentences = [line for line in c.prev_lines if _SENTENCE_END.search(line)]
    prose = _line_chars(sentences) >= 4 * min_body_chars
    article = sentences if prose else c.prev_lines
    before = _line_chars(article)
    if before < 4 * min_body_chars:
        return None
    known = set(c.prev_lines)
    fresh = [line for line in c.cur_lines if line not in known and (not prose or _SENTENCE_END.search(line))]
    edits = _EditFinder(fresh)
    gone = _line_chars(line for line in article if not page.shows(line) and not edits.of(line))
    if gone < GONE_SHARE * before:
        return None
    new_text = _line_chars(line for line in fresh if page.furniture_share(line) < LINK_SHARE)
    if new_text >= max(min_body_chars, gone * NEW_ARTICLE_SHARE):
        return None
    what = "running text" if prose else "text"
    return (
        f"article body emptied: {gone} of the {before} characters of {what} of the previous capture are "
        f"gone from the page, and it shows no new article in their place ({new_text} characters of new "
        f"{what} outside links and teasers); what the extractor finds now is page furniture (menus, "
        f"link lists, teasers), similarity {format_score(c.sim)} to the previous capture"
    )


class _EditFinder:
    """The lines among `lines` that a given line may have been edited into: similarity at least
    EDITED_MIN. Tokens are prepared once, and lines whose lengths alone rule it out are skipped
    (an emptied page's main text can hold thousands of lines of teasers)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = [(line, _tokens(line)) for line in lines]

    def of(self, line: str) -> list[str]:
        tokens = _tokens(line)
        # 2 x common / (a + b) >= EDITED_MIN needs the shorter to be at least EDITED_MIN / (2 - EDITED_MIN) of the longer
        least = EDITED_MIN / (2 - EDITED_MIN)
        return [
            other for other, theirs in self.lines
            if min(len(tokens), len(theirs)) >= least * max(len(tokens), len(theirs))
            and _token_similarity(tokens, theirs, EDITED_MIN) >= EDITED_MIN
        ]


def _boundary_only(c: _Comparison) -> str | None:
    """Rule 6: why the main texts differ only where the extractor drew its line, or None.

    The page's article is where the previous main text sits in it now (PageLayout.article_span).
    Every line that joined the main text must lie outside it. Every line that left the main text
    must still be shown inside it (the extractor dropped it), or outside it when the line was at an
    edge of the previous main text (a stray piece of the template the extractor had taken), or be
    gone from the page but edited into a line that joined and stands away from the article (more
    than ADJACENT_CHARS characters of other text between them): a number or date in the template.
    An edit next to the article still counts: the article's lead or last paragraph may stand just
    outside its element, set apart by an image, a byline or an ad."""
    page = c.current.page
    if page is None or c.previous is None or not c.ops:
        return None
    span = page.article_span(c.prev_lines)
    if span is None:
        return None
    inside = [page.in_span(line, span) for line in c.prev_lines]
    kept = [i for i, flag in enumerate(inside) if flag]
    if not kept:
        return None
    first, last = kept[0], kept[-1]
    left = joined = 0
    for op, i1, i2, j1, j2 in c.ops:
        if op == "equal":
            continue
        new = c.cur_lines[j1:j2]
        if any(page.in_span(line, span) is not False for line in new):
            return None
        joined += len(new)
        for i in range(i1, i2):
            line = c.prev_lines[i]
            if page.shows(line):
                if not (inside[i] or i < first or i > last):
                    return None
            else:
                edited = _EditFinder(new).of(line)
                if not edited or any(_near(page.distance(other, span)) for other in edited):
                    return None
            left += 1
    parts = []
    if left:
        parts.append(f"{_paragraphs(left)} left it")
    if joined:
        parts.append(f"{_paragraphs(joined)} from outside the article joined it")
    return (
        "the article is unchanged: the main text differs only where the extractor drew its line, "
        f"outside the article's part of the page ({' and '.join(parts)}; similarity {format_score(c.sim)})"
    )


def _paragraphs(n: int) -> str:
    return f"{n} paragraph{'s' if n != 1 else ''}"


def _change_hint(c: _Comparison) -> str:
    """Which paragraphs changed, and the edit itself when it is small."""
    removed = added = changed = 0
    for op, i1, i2, j1, j2 in c.ops:
        if op == "delete":
            removed += i2 - i1
        elif op == "insert":
            added += j2 - j1
        elif op == "replace":
            both = min(i2 - i1, j2 - j1)
            changed += both
            removed += i2 - i1 - both
            added += j2 - j1 - both
    parts = [
        f"{n} paragraph{'s' if n != 1 else ''} {what}"
        for n, what in ((removed, "removed"), (added, "added"), (changed, "changed"))
        if n
    ]
    hint = ", ".join(parts) or "the text differs"
    if changed and changed <= 3:
        edits = describe_changes(diff_texts("\n".join(c.prev_lines), "\n".join(c.cur_lines), chinese_words=False))
        small = [e for e in edits if len(e) <= 80]
        if edits and len(edits) <= 3 and len(small) == len(edits):
            hint += ": " + "; ".join(edits)
    return hint


def _blank(snapshot: Snapshot) -> bool:
    """An HTML page that shows no text besides its title, and whose title does not say "not found"."""
    if snapshot.kind != "html" or _HAS_CONTENT.search(snapshot.text) or looks_like_not_found("", snapshot.title):
        return False
    title = _folded(snapshot.title or "")
    return not any(_HAS_CONTENT.search(line) for line in snapshot.full_text.splitlines() if _folded(line) != title)


def is_blank_page(snapshot: Snapshot) -> bool:
    """Rule 4's blank page: an HTML page showing no text besides its title (a script shell, an
    anti-bot check), whose title does not say "not found". archiver.rendering renders such pages."""
    return _blank(snapshot)


def _unreachable(reason: str, previous: Snapshot | None) -> Verdict:
    stands = "the last good capture stands" if previous is not None else "there is no good capture of it yet"
    return Verdict("unreachable", f"{reason}; {stands}", None, False)


def judge(
    previous: Snapshot | None,
    current: Snapshot,
    *,
    not_found_text: str | None = None,
    home_text: str | None = None,
    min_body_chars: int = 40,
) -> Verdict:
    """Judge the current capture against the previous good one (None for a first capture).

    not_found_text: text of the page the site serves for a random nonexistent URL.
    home_text: text of the site's home page. Both optional; they sharpen rules 5a and 5c. Either
    main text or all visible text will do: both texts of the current capture are compared with
    them and the closer one counts.
    min_body_chars: a main text shorter than this counts as empty (rule 5e).
    The rules and their order are in the module notes.
    """
    by_status = _by_status(previous, current)
    if by_status is not None:
        return by_status
    status = current.status
    c = _Comparison(previous, current)
    same = _sameness(c)
    if same:
        if c.new_permanent_redirect:
            return Verdict("moved", f"permanently {_redirect_phrase(current)}; {same}", 1.0, True)
        still = f" (still {_redirect_phrase(current)})" if c.redirected else ""
        return Verdict("unchanged", same + still, 1.0, True)

    if previous is not None and _blank(current):
        return _unreachable(
            f"status {status}, but the page shows no text at all, only scripts or markup: typically a "
            "JavaScript or anti-bot check that automated clients cannot pass, or a broken server",
            previous,
        )

    gone = _deletion(c, not_found_text, home_text, min_body_chars)
    if gone:
        return Verdict("deleted", gone, c.sim, False)

    settled = _boundary_only(c) if previous is not None else None
    if settled:
        if c.new_permanent_redirect:
            return Verdict("moved", f"permanently {_redirect_phrase(current)}; {settled}", c.sim, True)
        still = f" (still {_redirect_phrase(current)})" if c.redirected else ""
        return Verdict("unchanged", settled + still, c.sim, True)

    if previous is not None and c.new_permanent_redirect and (c.sim or 0.0) >= NEAR_SAME:
        reason = (
            f"permanently {_redirect_phrase(current)}; the text is nearly the same "
            f"(similarity {format_score(c.sim)}, {_change_hint(c)})"
        )
        return Verdict("moved", reason, c.sim, True)

    if previous is None:
        notes = []
        if c.redirected:
            notes.append(_redirect_phrase(current))
        if len(c.cur_key) < min_body_chars:
            notes.append(
                f"only {len(c.cur_key)} characters of main text (the page may need JavaScript, or be an image)"
            )
        return Verdict("new", "first capture" + (": " + "; ".join(notes) if notes else ""), None, True)

    moved = f"; {_redirect_phrase(current)}" if c.redirected else ""
    if not c.cur_key and not c.prev_key:
        reason = f"the {current.kind} file changed and has no text to compare{moved}"
        return Verdict("altered", reason, None, True)
    reason = f"similarity {format_score(c.sim)} to the previous capture; {_change_hint(c)}{moved}"
    return Verdict("altered", reason, c.sim, True)


def _by_status(previous: Snapshot | None, current: Snapshot) -> Verdict | None:
    """The verdict the fetch alone gives (no answer, 404/410, 304, any status but 2xx); None when
    the page must be read."""
    if current.error_kind or current.status is None:
        kind = current.error_kind or "other"
        what = FETCH_ERRORS.get(kind, FETCH_ERRORS["other"])
        detail = f" ({current.error})" if current.error else ""
        return _unreachable(f"{kind}: {what}{detail}", previous)
    status = current.status
    if status in (404, 410):
        words = "not found" if status == 404 else "gone"
        return Verdict("deleted", f"status {status} ({words})", None, False)
    if status == 304:
        if previous is None:
            return _unreachable("status 304 (not modified) without an earlier capture to refer to", previous)
        reason = "status 304: the server says the page has not changed since the previous capture"
        return Verdict("unchanged", reason, None, False)
    if not 200 <= status < 300:
        return _unreachable(_refusal(status), previous)
    return None


def _refusal(status: int) -> str:
    if status == 403:
        return "status 403 (forbidden): the server refused access, often to automated clients"
    if status == 429:
        return "status 429 (too many requests): the server is rate-limiting us"
    if status == 451:
        return "status 451 (unavailable for legal reasons): often a regional block"
    if 500 <= status < 600:
        return f"status {status}: a server error"
    if status == 401:
        return "status 401: the page requires a login"
    if 300 <= status < 400:
        return f"status {status}: a redirect without a usable target"
    return f"status {status}: the server did not serve the page"


def _not_from(verdict: Verdict, error_kind: str | None) -> str:
    """How a vantage failed to get a page, in two words: "refused from", "timed out from" ..."""
    if verdict.state == "deleted":
        return "not found from"
    if error_kind == "timeout":
        return "timed out from"
    return "refused from"


def across_vantages(first: str, first_verdict: Verdict, first_error: str | None,
                    second: str, second_verdict: Verdict, second_error: str | None) -> Verdict:
    """The state of a source fetched from vantage `first`, which did not get the page (deleted
    or unreachable), then checked again from vantage `second`. `*_error` are the error kinds
    of the two fetches (archiver.fetch.ERROR_KINDS), None when a response came.

    - `second` gets the page -> blocked ("reachable from cn, refused from direct"), never
      deleted: the page is there, for some visitors. Good when the second capture is good (it
      is then the baseline); the reason says how the page looks from `second`.
    - the proxy of either vantage failed (down, credentials refused) -> unreachable: that
      vantage says nothing about the page, so it cannot be judged across vantages.
    - neither gets it and at least one finds it gone -> deleted, the reason naming both: gone
      from every vantage that reached it (a vantage refused or timed out never saw the page).
    - unreachable from both -> unreachable.
    """
    if second_verdict.state not in ("deleted", "unreachable"):
        how = _not_from(first_verdict, first_error)
        reason = (f"reachable from {second}, {how} {first} ({first_verdict.reason}); "
                  f"from {second}: {second_verdict.state}, {second_verdict.reason}")
        return Verdict("blocked", reason, second_verdict.similarity, second_verdict.good)
    both = f"from {first}: {first_verdict.reason}; from {second}: {second_verdict.reason}"
    failed = [name for name, kind in ((first, first_error), (second, second_error)) if kind == "proxy"]
    if failed:
        return Verdict("unreachable", f"could not be checked from {' and '.join(failed)} (its proxy failed), so not "
                                      f"judged across vantages: {both}", None, False)
    if first_verdict.state == second_verdict.state == "deleted":
        return Verdict("deleted", f"gone from every vantage ({first}, {second}): {both}", None, False)
    if "deleted" in (first_verdict.state, second_verdict.state):
        gone, other = (first, second) if first_verdict.state == "deleted" else (second, first)
        return Verdict("deleted", f"not found from {gone}, and {other} did not reach the page: {both}", None, False)
    return Verdict("unreachable", f"unreachable from every vantage ({first}, {second}): {both}", None, False)
