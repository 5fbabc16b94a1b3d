"""Main-text extraction from real page bytes: Chinese and English news pages, PDFs, plain text."""

from __future__ import annotations

import io
import pickle
import random
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from archiver.extract import Extracted, bounded_markup, extract, fold_text, normalise_text

DATA = Path(__file__).parent / "data" / "extract"
GOV_URL = "http://www.example.gov.cn/zcwj/2023-11/08/content_123.htm"
NEWS_URL = "https://ledger.example/business/2024/02/19/port-operator"

GOV_PARAGRAPHS = [
    "各市、县人民政府，省政府各部门：",
    "稀土是关系国家安全和产业发展的战略性资源。为贯彻落实国务院有关部署，进一步加强我省稀土资源保护，"
    "规范开采、冶炼分离和流通秩序，经省政府同意，现就有关事项通知如下。",
    "一、严格控制开采总量。全省稀土矿开采总量控制指标为每年一千二百吨（以稀土氧化物计），"
    "各地不得突破下达的指标，严禁无证开采和超指标开采。",
    "三、严厉打击违法违规行为。省自然资源厅、省生态环境厅、省公安厅要建立联合执法机制，"
    "对非法开采、非法收购、非法运输稀土矿产品的行为依法从严查处。",
    "本通知自印发之日起施行，有效期五年。原省政府办公厅文件中与本通知规定不一致的，以本通知为准。"
    "前国务院总理朱镕基曾多次强调资源保护工作的重要性。",
]
GOV_NOISE = ["政务服务", "互动交流", "热点新闻", "经济运行调度会", "最新政策", "营商环境", "版权所有",
             "ICP备", "公网安备", "浏览次数", "86420", "访问者", "分享到", "相关文件", "无障碍浏览", "当前位置"]
NEWS_PARAGRAPHS = [
    "A major container port operator has ended its contract with a solar panel supplier based in Xinjiang, "
    "according to documents reviewed by The Harbour Ledger, weeks after an internal audit flagged "
    "forced-labour risks in the supplier's polysilicon chain.",
    "The audit, completed in January, found that 38 per cent of the supplier's polysilicon came from "
    "facilities that participate in state-sponsored labour transfer programmes.",
    "Trade lawyers said the move was likely to be followed by other operators in the region as new "
    "import rules take effect in the autumn.",
]
NEWS_NOISE = ["Most read", "Markets slide", "Advertisement", "Comments", "About time somebody",
              "reader42", "Privacy policy", "All rights reserved", "views", "12,345", "Sign in",
              "Subscribe", "Share this article"]


def gov_page(meta: str | None = "gb2312", counter: int = 86420, hot_prefix: str = "全省第") -> str:
    """The 政府网-style fixture with its charset declaration, view counter and sidebar filled in."""
    hot = "\n".join(
        f'<li><a href="/news/{i}.html">{hot_prefix}{i}次经济运行调度会召开 部署做好年末各项工作</a></li>'
        for i in range(8)
    )
    meta_tag = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}" />' if meta else ""
    template = (DATA / "gov_cn_article.html").read_text(encoding="utf-8")
    return template.replace("{{META}}", meta_tag).replace("{{COUNTER}}", str(counter)).replace("{{HOT}}", hot)


def news_page(counter: str = "12,345", headlines: str = "Markets slide as central bank signals rate rise") -> str:
    hot = "\n".join(f'<li><a href="/n/{i}">{headlines} ({i})</a></li>' for i in range(6))
    template = (DATA / "en_news_article.html").read_text(encoding="utf-8")
    return template.replace("{{COUNTER}}", counter).replace("{{HOT}}", hot)


def reformatted(html: str) -> str:
    """The same page as another CMS template would serve it: no indentation, other
    attributes, a paragraph wrapped across source lines, a character reference, and
    full-width digits in the table."""
    html = re.sub(r">\s+<", "><", html)
    html = html.replace("<p>", '<p class="MsoNormal" style="text-indent:2em; line-height:200%">')
    html = html.replace("战略性资源。", "战略性\n            资源。")
    html = html.replace("规范开采", "&#35268;范开采")
    html = html.replace("<td>700</td>", "<td>７００</td>")
    html = html.replace("(以稀土氧化物计)", "（以稀土氧化物计）")
    return html


@pytest.fixture(scope="module")
def gov_gbk() -> Extracted:
    return extract(gov_page("gb2312").encode("gbk"), "text/html", GOV_URL)


def test_chinese_government_page_main_text(gov_gbk):
    assert gov_gbk.kind == "html"
    assert gov_gbk.error is None
    for paragraph in GOV_PARAGRAPHS:
        assert normalise_text(paragraph) in gov_gbk.text
    assert "| 甲市 | 700 |" in gov_gbk.text
    for noise in GOV_NOISE:
        assert noise not in gov_gbk.text, noise


def test_chinese_government_page_metadata(gov_gbk):
    assert gov_gbk.title == "某省人民政府关于进一步加强稀土资源保护的通知"
    assert gov_gbk.published == "2023-11-08"
    assert gov_gbk.charset == "gb18030"
    assert gov_gbk.meta_refresh is None


def test_full_text_keeps_page_furniture_without_scripts_or_counters(gov_gbk):
    for furniture in ("政务服务", "热点新闻", "版权所有", "某ICP备05012345号", "浏览次数："):
        assert furniture in gov_gbk.full_text
    assert gov_gbk.full_text.splitlines()[0].startswith("某省人民政府关于进一步加强稀土资源保护的通知_")
    assert "document.write" not in gov_gbk.full_text and "text-indent" not in gov_gbk.full_text
    assert "86420" not in gov_gbk.full_text


@pytest.mark.parametrize("codec, meta", [("gbk", "gbk"), ("gb18030", None), ("utf-8", "utf-8"), ("utf-8", None)])
def test_visible_text_only_is_the_full_extraction_without_its_main_text(codec, meta):
    """main_text=False (for a site's not-found and home pages) gives the same visible text, title
    and refresh as a full extraction, and no main text."""
    body = gov_page(meta).encode(codec)
    full = extract(body, "text/html", GOV_URL)
    visible = extract(body, "text/html", GOV_URL, main_text=False)
    assert visible.full_text == full.full_text and "稀土资源保护" in visible.full_text
    assert (visible.kind, visible.charset, visible.meta_refresh) == (full.kind, full.charset, full.meta_refresh)
    assert visible.title == full.full_text.splitlines()[0] and visible.title.startswith(full.title)
    assert visible.text == "" and "稀土" in full.text


def test_reserved_in_other_encoding_and_markup_gives_identical_text(gov_gbk):
    utf8 = extract(
        reformatted(gov_page(None, counter=12399, hot_prefix="全市第")).encode("utf-8"),
        "text/html; charset=utf-8",
        GOV_URL,
    )
    assert utf8.charset == "utf-8"
    assert fold_text(utf8.text) == fold_text(gov_gbk.text), "the same text to compare"
    assert "７００" in utf8.text and "７００" not in gov_gbk.text, "each keeps the characters its page shows"


@pytest.mark.parametrize(
    "edit",
    [("一千二百吨", "一千五百吨"), ("<td>700</td>", "<td>900</td>"), ("依法从严查处", "依法查处"),
     ("朱镕基", "朱镕")],
)
def test_a_changed_word_or_number_changes_the_text(gov_gbk, edit):
    changed = extract(gov_page("gbk").replace(*edit).encode("gbk"), "text/html", GOV_URL)
    assert changed.text != gov_gbk.text


@pytest.mark.parametrize("codec,label", [("gb2312", "gb2312"), ("gbk", None), ("gb18030", "gbk"), ("utf-8", None)])
def test_table_layout_government_page(codec, label):
    """An older site laid out in nested tables, counter inside the article table."""
    html = (DATA / "gov_cn_table_layout.html").read_text(encoding="utf-8").replace("{{COUNTER}}", "356")
    html = html.replace("charset=gb2312", f"charset={label}") if label else re.sub(r"<meta[^>]*>", "", html)
    result = extract(html.encode(codec), "text/html", "http://swj.example.gov.cn/gzdt/2022/0615/123.htm")

    assert result.title == "市商务局召开外贸企业座谈会"
    assert result.published == "2022-06-15"
    assert "6月14日下午，市商务局召开外贸企业座谈会，全市二十余家重点外贸企业负责人参加会议。" in result.text
    assert "全市实现进出口总额45.6亿元，同比增长12.3%" in result.text
    for noise in ("网站首页", "热点新闻", "春耕备耕", "您现在的位置", "浏览次数", "356", "关闭窗口",
                  "版权所有", "ICP备"):
        assert noise not in result.text, noise


@pytest.mark.parametrize(
    "info,expected",
    [
        ("更新时间：2024-01-01　发布日期：2022年6月5日", "2022-06-05"),
        ("发稿时间：2021/03/04 09:00", "2021-03-04"),
        ("日期：2020.12.31　来源：市政府办公室", "2020-12-31"),
        ("会议时间：2023-05-01　发布时间：2023-04-20", "2023-04-20"),
        ("发布时间：2023-13-45", None),
    ],
)
def test_labelled_chinese_publication_date(info, expected):
    html = (f"<html><head><title>通知</title></head><body><div class='info'>{info}</div>"
            f"<div class='content'><p>{GOV_PARAGRAPHS[1]}</p><p>{GOV_PARAGRAPHS[2]}</p></div></body></html>")
    assert extract(html.encode("utf-8"), "text/html", "http://www.example.gov.cn/a/123.htm").published == expected


def test_english_news_page():
    result = extract(news_page().encode("utf-8"), "text/html; charset=utf-8", NEWS_URL)
    assert result.title == "Port operator quietly drops Xinjiang supplier after audit"
    assert result.published == "2024-02-19"
    for paragraph in NEWS_PARAGRAPHS:
        assert paragraph in result.text
    for noise in NEWS_NOISE:
        assert noise not in result.text, noise
    assert "Most read" in result.full_text and "reader42" in result.full_text


def test_english_page_reserved_with_other_markup_counter_and_sidebar():
    first = extract(news_page().encode("utf-8"), "text/html; charset=utf-8", NEWS_URL)
    again = news_page(counter="13,002", headlines="Oil prices steady ahead of OPEC meeting")
    again = re.sub(r">\s+<", ">\n\n  <", again).replace("'s", "\u2019s").replace("<p>", "<p  class='para'>")
    second = extract(again.encode("cp1252", "xmlcharrefreplace"), "text/html; charset=windows-1252", NEWS_URL)
    assert fold_text(second.text) == fold_text(first.text)
    assert "supplier\u2019s" in second.text and "supplier's" in first.text


@pytest.mark.parametrize(
    "stamp",
    [
        "发布时间：2024-01-05 10:00　浏览次数：{n}次　更新时间：2024-0{n1}-0{n1} 08:0{n1}",
        "阅读量：{n}　点击：【{n}】　您是第{n}位访问者",
        "Updated: {n1} February 2024 10:4{n1} GMT · {n} views",
        "Last updated on 2024-02-0{n1}, 09:1{n1} | Views: {n}",
    ],
)
def test_counters_and_update_stamps_inside_the_article_are_not_change(stamp):
    def page(n: int) -> bytes:
        line = stamp.format(n=n, n1=n % 10)
        return (
            f"<html><head><title>通报</title></head><body><article><h1>关于开展安全生产大检查的通报</h1>"
            f"<p>{line}</p><p>{GOV_PARAGRAPHS[1]}</p><p>{GOV_PARAGRAPHS[2]}</p><p>{GOV_PARAGRAPHS[3]}</p>"
            f"</article></body></html>"
        ).encode()

    first, second = (extract(page(n), "text/html", GOV_URL) for n in (5, 1238))
    label = re.split(r"[:：{ ]", stamp)[0]
    assert label in first.text
    assert first.text == second.text
    assert "1238" not in second.text


def test_not_found_page_served_with_200_falls_back_to_visible_text():
    html = (
        "<html><head><title>页面不存在</title></head><body>"
        '<div class="header"><a href="/">首页</a> <a href="/xxgk/">信息公开</a></div>'
        '<div class="error"><p>抱歉，您访问的页面不存在或已被删除！</p><p><a href="/">返回首页</a></p></div>'
        '<div class="footer">版权所有：某市人民政府</div></body></html>'
    )
    result = extract(html.encode("gbk"), "text/html", "http://www.example.gov.cn/a/b.htm")
    assert "您访问的页面不存在或已被删除" in result.text
    assert result.title == "页面不存在"
    assert "版权所有" in result.full_text
    assert result.error is None


def test_bare_not_found_body_is_still_read():
    result = extract(b"404 Not Found", "text/html", "http://a.example/x")
    assert result.kind == "html"
    assert result.full_text == "404 Not Found"


@pytest.mark.parametrize(
    "meta,expected",
    [
        ('<meta http-equiv="refresh" content="0;URL=/new/page.html">', "http://www.example.gov.cn/new/page.html"),
        ("<meta http-equiv=\"Refresh\" content=\"0; url='http://other.example/x?id=1'\">",
         "http://other.example/x?id=1"),
        ('<META HTTP-EQUIV="REFRESH" CONTENT="5;url=next.html">', "http://www.example.gov.cn/old/next.html"),
        ("<meta http-equiv=refresh content=0;url=../index.htm>", "http://www.example.gov.cn/index.htm"),
        ('<meta content="30; URL=https://www.example.gov.cn/" http-equiv="refresh">', "https://www.example.gov.cn/"),
        ('<meta http-equiv="refresh" content="60; url=/later">', None),
        ('<meta http-equiv="refresh" content="300">', None),
        ('<!-- <meta http-equiv="refresh" content="0;url=/commented"> -->', None),
        ('<meta name="refresh" content="0;url=/not-http-equiv">', None),
    ],
)
def test_meta_refresh(meta, expected):
    html = f"<html><head>{meta}<title>跳转</title></head><body><p>页面已迁移，正在跳转……</p></body></html>"
    result = extract(html.encode("utf-8"), "text/html", "http://www.example.gov.cn/old/a.html")
    assert result.meta_refresh == expected


def test_xhtml_with_xml_declaration_keeps_our_charset_decision():
    html = gov_page(None).replace("<!DOCTYPE", '<?xml version="1.0" encoding="gb2312"?>\n<!DOCTYPE', 1)
    result = extract(html.encode("gbk"), "application/xhtml+xml", GOV_URL)
    assert normalise_text(GOV_PARAGRAPHS[4]) in result.text


# --- PDF ---------------------------------------------------------------------------------


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF with one Helvetica text object per page."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % i for i in page_ids), len(pages))
    for page_id, text in zip(page_ids, pages):
        lines = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in text.split("\n")]
        stream = b"BT /F1 12 Tf 14 TL 72 720 Td\n" + b"".join(
            b"(" + line.encode("latin-1") + b") Tj T*\n" for line in lines) + b"ET"
        objects[page_id] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1))
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    info = None
    if title:
        info = max(objects) + 1
        objects[info] = b"<< /Title (" + title.encode("latin-1") + b") >>"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        size, b" /Info %d 0 R" % info if info else b"", xref)
    return bytes(out)


def encrypted(pdf: bytes, user_password: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


REPORT = make_pdf(
    ["Annual Report 2023\nRevenue rose by 12 per cent (to 4.5 billion).", "Page two: outlook remains stable."],
    title="Annual Report 2023",
)


def test_pdf_text_and_title():
    result = extract(REPORT, "application/pdf", "https://company.example/report.pdf")
    assert result.kind == "pdf"
    assert result.error is None
    assert result.title == "Annual Report 2023"
    assert "Revenue rose by 12 per cent (to 4.5 billion)." in result.text
    assert "Page two: outlook remains stable." in result.text
    assert result.full_text == result.text


def test_pdf_recognised_by_its_bytes_whatever_the_content_type():
    for content_type in (None, "application/octet-stream", "text/html"):
        assert extract(REPORT, content_type, "https://company.example/dl?id=1").kind == "pdf"


def test_pdf_encrypted_with_a_password_reports_error():
    result = extract(encrypted(REPORT, "reader-secret", "RC4-128"), "application/pdf", "https://x.example/a.pdf")
    assert (result.kind, result.text) == ("pdf", "")
    assert "encrypted" in result.error


def test_pdf_encrypted_with_empty_user_password_is_read():
    result = extract(encrypted(REPORT, "", "AES-256"), "application/pdf", "https://x.example/a.pdf")
    assert result.error is None
    assert "Revenue rose by 12 per cent" in result.text


@pytest.mark.parametrize("body", [b"%PDF-1.7\n garbage that is not a PDF", REPORT[: len(REPORT) // 3], b"%PDF-"])
def test_broken_pdf_reports_error(body):
    result = extract(body, "application/pdf", "https://x.example/a.pdf")
    assert (result.kind, result.text) == ("pdf", "")
    assert result.error.startswith("could not parse PDF")


def test_pdf_without_text_layer():
    result = extract(make_pdf([""]), "application/pdf", "https://x.example/scan.pdf")
    assert result.text == ""
    assert "no text layer" in result.error


# --- other kinds -------------------------------------------------------------------------


def test_plain_text_in_gbk_without_charset():
    text = "关于召开2024年度工作会议的通知\r\n\r\n  各单位：  会议定于３月５日召开。\n"
    result = extract(text.encode("gbk"), "text/plain", "http://www.example.gov.cn/a.txt")
    assert result.kind == "text"
    assert result.text == "关于召开2024年度工作会议的通知\n各单位：会议定于３月５日召开。"
    assert result.charset == "gb18030"


@pytest.mark.parametrize(
    "body,content_type",
    [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"), (b"PK\x03\x04\x14\x00", "application/zip"),
     (b"\x00\x01\x02\x03", None)],
)
def test_other_types_have_no_text(body, content_type):
    assert extract(body, content_type, "http://a.example/f") == Extracted("other", "")


def test_html_without_content_type_is_sniffed():
    result = extract(gov_page("gbk").encode("gbk"), None, GOV_URL)
    assert result.kind == "html"
    assert normalise_text(GOV_PARAGRAPHS[1]) in result.text


DEEP = b"<html><body>" + b"<div>" * 3000 + b"deep" + b"</div>" * 3000 + b"</body></html>"


@pytest.mark.parametrize("body", [b"", b"<html>", b"\x00\x01\x02\xff" * 10, b"<script>var a = 1;</script>", DEEP])
def test_odd_html_never_raises(body):
    result = extract(body, "text/html; charset=utf-8", "http://a.example/")
    assert result.kind == "html"
    assert "var a" not in result.text


def test_result_is_picklable_and_runs_in_a_process_pool():
    body = gov_page("gbk").encode("gbk")
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(extract, body, "text/html", GOV_URL).result(timeout=60)
    assert pickle.loads(pickle.dumps(remote)) == remote
    assert remote == extract(body, "text/html", GOV_URL)


# --- normalise_text ----------------------------------------------------------------------


def test_full_width_and_half_width_are_equal_to_compare_and_kept_to_read():
    assert fold_text(normalise_text("ＧＤＰ增长５．２％，（初步核算）：ＯＫ！")) == fold_text(normalise_text("GDP增长5.2%,(初步核算):OK!"))
    assert fold_text("ＧＤＰ增长５．２％") == "GDP增长5.2%"
    assert normalise_text("增长５．２％，（初步核算）：") == "增长５．２％，（初步核算）：", "a reader sees the page's own punctuation"


def test_quotes_are_unified_to_compare_and_kept_to_read():
    assert fold_text("他说：“我们要‘坚持’。”「改革」『开放』") == "他说:\"我们要'坚持'。\"\"改革\"'开放'"
    assert fold_text("“It’s fine,” she said.") == "\"It's fine,\" she said."
    assert normalise_text("他说：“我们要‘坚持’。”") == "他说：“我们要‘坚持’。”"


def test_whitespace_zero_width_and_no_break_spaces():
    assert normalise_text("  a \t b  \r\n\r\n \u3000 c\u00a0\u00a0d\u200b e\ufeff\u00ad \n") == "a b\nc d e"


def test_spaces_between_chinese_characters_go_but_not_elsewhere():
    assert normalise_text("稀土是关系国家 安全和\u3000产业发展的 战略性资源") == "稀土是关系国家安全和产业发展的战略性资源"
    assert normalise_text("GDP 增长 5.2% ，比 2022 年") == "GDP 增长 5.2% ，比 2022 年"
    assert normalise_text("增长 ， 比") == "增长，比"
    assert normalise_text("中国\n人民") == "中国\n人民"
    assert normalise_text("한국 사람") == "한국 사람"


def test_case_is_kept_and_changes_are_visible():
    assert normalise_text("Xinjiang Supplier") == "Xinjiang Supplier"
    assert normalise_text("增长5.2%") != normalise_text("增长5.3%")
    assert normalise_text("it was not") != normalise_text("it was")


def test_normalise_text_is_idempotent():
    pool = list("ab Z1２\t\n\r\u3000\u00a0\u200b\ufeff\u00ad“”‘’「」『』中国镕䶮𠀀，。、！？（）ＡＺａ")
    pool += ["か\u309b", "\u00a8", "e\u0301", "\u2028", "\x0c", "\x00", "①", "㈠", "ﬁ", "한", "\u1100\u1161"]
    generator = random.Random(20240219)
    for _ in range(2000):
        text = "".join(generator.choice(pool) for _ in range(generator.randint(0, 30)))
        once = normalise_text(text)
        assert normalise_text(once) == once, repr(text)
    assert normalise_text("") == ""


# --- pages over the extraction limit (archiver.limits, [capture] extract_max_bytes) ----------


def test_a_large_page_is_read_without_its_scripts_styles_and_comments_and_says_so():
    script = "<script>var data = " + "[1,2,3]," * 400_000 + ";</script>"  # 3.2 MB of inline data
    body = (f"<html><head><title>公报</title><style>p {{ color: red }}</style></head><body>{script}<!-- {'x' * 100_000} -->"
            "<article><p>二〇二三年国民经济和社会发展统计公报：全年国内生产总值稳步增长。</p>"
            "<p>The bureau published the figures for the quarter.</p></article></body></html>").encode("gbk")
    result = extract(body, "text/html; charset=gbk", "http://stats.example/report")
    assert "全年国内生产总值稳步增长" in result.text and "figures for the quarter" in result.text
    assert re.fullmatch(r"this page's 3\.1 MB of HTML is \d+ bytes without its scripts, styles and comments; its text "
                        r"was extracted from that \(\[capture\] extract_max_bytes\)", result.error)
    assert result.error_kind is None


def test_a_page_still_over_the_limit_is_read_from_a_prefix_that_splits_no_character():
    paragraph = "<p>二〇二三年国民经济和社会发展统计公报，全年国内生产总值稳步增长，粮食产量创历史新高。</p>\n"
    body = ("<html><head><meta charset='gb2312'></head><body>" + paragraph * 40_000 + "</body></html>").encode("gbk")
    kept, note = bounded_markup(body, 1024 * 1024)
    assert len(kept) <= 1024 * 1024 and body.startswith(kept)
    kept.decode("gb18030")  # no character cut in half
    assert note == (f"text extracted from the first 1 MB of this page's {len(body) / 1024 / 1024:.1f} MB of HTML "
                    "(scripts, styles and comments set aside), to keep extraction bounded ([capture] extract_max_bytes)")


def test_a_prefix_of_text_without_tags_is_cut_at_a_space():
    kept, note = bounded_markup(b"<p>" + b"word " * 500_000, 100_000)
    assert kept.endswith(b"word") and len(kept) <= 100_000 and note


def test_an_unclosed_script_hides_the_rest_of_the_page_as_in_a_browser():
    body = b"<html><body><p>before</p><script>" + b"x" * 200_000
    kept, note = bounded_markup(body, 100_000)
    assert kept == b"<html><body><p>before</p>" and "without its scripts" in note


def test_pages_within_the_limit_are_read_whole_without_a_note():
    body = b"<html><body>" + b"<script>1</script><p>text</p>" * 1000 + b"</body></html>"
    assert bounded_markup(body, len(body)) == (body, None)


def test_plain_text_over_the_limit_is_read_from_a_prefix():
    body = ("统计公报 " * 1_000_000).encode("utf-8")  # 13 MB
    result = extract(body, "text/plain; charset=utf-8", "http://stats.example/a.txt")
    assert result.kind == "text" and result.text.startswith("统计公报")
    assert len(result.text) < 2 * 1024 * 1024
    assert result.error.startswith("text extracted from the first 2 MB of this page's 12.4 MB of text")
