"""Decoding real bytes of Chinese and Western pages, with right, missing and wrong declarations."""

from __future__ import annotations

import codecs

import pytest

from archiver.decode import Decoded, declared_charset, decode_body

# Only characters of GB2312.
SIMPLIFIED = (
    "国务院新闻办公室今天举行新闻发布会，介绍2023年国民经济运行情况。国家统计局负责人表示，"
    "全年国内生产总值比上年增长百分之五点二，就业形势总体稳定，居民消费价格温和上涨。"
)
# 镕 is in GBK but not in GB2312: pages that declare gb2312 use it all the same.
GBK_ONLY = "前国务院总理朱镕基曾多次强调，要坚持实事求是，敢于讲真话。"
# 䶮 (CJK extension A) and 𠀀 (extension B, four bytes) exist only in GB18030.
GB18030_ONLY = "南汉开国皇帝刘䶮的名字和𠀀字只有GB18030才能表示。"
TRADITIONAL = (
    "行政院今日召開記者會，說明國家經濟發展情況。主計總處表示，全年國內生產毛額較上年成長，"
    "就業情勢穩定，消費者物價溫和上漲。經濟部長強調將持續推動產業升級。"
)
ENGLISH_LATIN1 = "Café owners in Zürich said naïve forecasts cost them £2,000 — “a lot”, they said."


def article(body_text: str, meta: str | None = None) -> str:
    """A small but complete article page, optionally with a <meta> charset declaration."""
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">\n' if meta else ""
    paragraphs = "\n".join(f"<p>{part}。</p>" for part in body_text.split("。") if part)
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n" + head + f"<title>{body_text[:12]}</title>\n</head>\n"
        '<body>\n<div class="nav"><a href="/">Home</a> | <a href="/news/">News</a></div>\n'
        f'<div class="content">\n{paragraphs}\n</div>\n</body>\n</html>\n'
    )


# (name, text, Python codec to encode with, label a site would declare, wrong labels, codec we use)
SAMPLES = [
    ("gb2312", SIMPLIFIED, "gb2312", "gb2312", ("utf-8", "big5"), "gb18030"),
    ("gbk", SIMPLIFIED + GBK_ONLY, "gbk", "gbk", ("utf-8", "big5"), "gb18030"),
    ("gbk-declared-gb2312", SIMPLIFIED + GBK_ONLY, "gbk", "gb2312", ("utf-8", "big5"), "gb18030"),
    ("gb18030", SIMPLIFIED + GBK_ONLY + GB18030_ONLY, "gb18030", "gb18030", ("utf-8", "big5"), "gb18030"),
    ("gb18030-declared-gb2312", SIMPLIFIED + GB18030_ONLY, "gb18030", "gb2312", ("utf-8", "big5"), "gb18030"),
    ("big5", TRADITIONAL, "big5", "big5", ("utf-8", "gb2312"), "cp950"),
    ("utf-8", SIMPLIFIED + GB18030_ONLY + TRADITIONAL, "utf-8", "utf-8", ("gbk", "iso-8859-1"), "utf-8"),
]
STYLES = ["header", "meta", "both", "none", "wrong-header", "wrong-meta"]


def served(page: str, codec: str, header: str | None) -> tuple[bytes, str]:
    content_type = f"text/html; charset={header}" if header else "text/html"
    return page.encode(codec), content_type


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name,text,codec,label,wrong,expected", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_chinese_pages_decode_exactly(name, text, codec, label, wrong, expected, style):
    meta = {"meta": label, "both": label, "wrong-meta": wrong[1]}.get(style)
    header = {"header": label, "both": label, "wrong-header": wrong[0]}.get(style)
    page = article(text, meta)
    body, content_type = served(page, codec, header)

    decoded = decode_body(body, content_type)

    assert decoded.text == page
    assert decoded.charset == expected
    if style in ("header", "both"):
        assert decoded.source == "header"
    elif style == "meta":
        assert decoded.source == "meta"
    elif style == "none":
        assert decoded.source == "detected"
    else:
        assert decoded.source in ("detected", "meta", "header")


def test_gb2312_declaration_is_widened_so_gbk_and_gb18030_characters_survive():
    page = article(GBK_ONLY + GB18030_ONLY, "gb2312")
    decoded = decode_body(page.encode("gb18030"), "text/html; charset=GB2312")
    assert "朱镕基" in decoded.text and "刘䶮" in decoded.text and "𠀀" in decoded.text
    assert (decoded.charset, decoded.source) == ("gb18030", "header")


def test_gbk_served_as_utf8_by_header_falls_back_to_meta_declaration():
    page = article(SIMPLIFIED, "gbk")
    decoded = decode_body(page.encode("gbk"), "text/html; charset=utf-8")
    assert decoded.text == page
    assert (decoded.charset, decoded.source) == ("gb18030", "meta")


def test_tomcat_default_latin1_header_does_not_hide_a_gbk_page():
    page = article(SIMPLIFIED + GBK_ONLY)
    decoded = decode_body(page.encode("gbk"), "text/html;charset=ISO-8859-1")
    assert decoded.text == page
    assert decoded.charset == "gb18030"


def test_latin1_header_with_gbk_meta_uses_the_meta():
    page = article(SIMPLIFIED, "gbk")
    decoded = decode_body(page.encode("gbk"), "text/html; charset=iso-8859-1")
    assert decoded.text == page
    assert (decoded.charset, decoded.source) == ("gb18030", "meta")


def test_big5_hkscs_characters_decode_when_declared_big5():
    text = TRADITIONAL + "佢哋話㗎。"
    page = article(text, "big5")
    decoded = decode_body(page.encode("big5hkscs"), None)
    assert decoded.text == page
    assert decoded.charset == "big5hkscs"


@pytest.mark.parametrize(
    "text,codec",
    [("页面不存在或已被删除", "gbk"), ("網頁不存在或已被刪除", "big5"), ("页面不存在", "utf-8")],
)
def test_short_not_found_pages_without_declaration(text, codec):
    page = f"<html><head><title>404</title></head><body><h1>{text}</h1></body></html>"
    decoded = decode_body(page.encode(codec), "text/html")
    assert decoded.text == page


def test_utf8_bom_wins_over_a_wrong_header():
    page = article(SIMPLIFIED + TRADITIONAL, "gbk")
    decoded = decode_body(codecs.BOM_UTF8 + page.encode("utf-8"), "text/html; charset=gbk")
    assert decoded == Decoded(page, "utf-8", "bom")


def test_utf16_bom():
    page = article(SIMPLIFIED)
    decoded = decode_body(codecs.BOM_UTF16_LE + page.encode("utf-16-le"), "text/html")
    assert (decoded.text, decoded.source) == (page, "bom")


def test_utf16_declared_in_header_without_bom():
    page = article(SIMPLIFIED)
    decoded = decode_body(page.encode("utf-16-le"), "text/html; charset=utf-16")
    assert decoded.text == page


@pytest.mark.parametrize("header", [None, "iso-8859-1", "windows-1252", "us-ascii"])
def test_latin1_english_page(header):
    page = f"<html><head><title>Cafés</title></head><body><p>{ENGLISH_LATIN1}</p></body></html>"
    body, content_type = served(page, "cp1252", header)
    decoded = decode_body(body, content_type)
    assert decoded.text == page
    assert decoded.charset == "cp1252"
    assert decoded.source == ("header" if header else "detected")


def test_utf8_english_page_declared_latin1_is_read_as_utf8():
    page = f"<html><body><p>{ENGLISH_LATIN1}</p></body></html>"
    decoded = decode_body(page.encode("utf-8"), "text/html; charset=ISO-8859-1")
    assert decoded.text == page
    assert decoded.charset == "utf-8"


def test_pure_ascii_page():
    page = "<html><body><p>Plain ASCII only.</p></body></html>"
    assert decode_body(page.encode("ascii"), "text/html; charset=gbk") == Decoded(page, "gb18030", "header")
    assert decode_body(page.encode("ascii")) == Decoded(page, "utf-8", "detected")


@pytest.mark.parametrize(
    "bogus", ["x-unknown", "gbk2312", "base64", "rot13", "utf-7", "none", "", "utf-16", "undefined"]
)
def test_bogus_charset_names_do_not_crash(bogus):
    page = article(SIMPLIFIED + GBK_ONLY, bogus or None)
    decoded = decode_body(page.encode("gbk"), f"text/html; charset={bogus}")
    assert decoded.text == page
    assert decoded.charset == "gb18030"


def test_truncated_body_keeps_declared_charset():
    page = article(SIMPLIFIED + GBK_ONLY)
    body = page.encode("gbk")
    cut = body[: body.index("朱".encode("gbk")) + 1]  # ends in the middle of a character
    decoded = decode_body(cut, "text/html; charset=gbk")
    assert (decoded.charset, decoded.source) == ("gb18030", "header")
    assert decoded.text.endswith("\ufffd")
    assert decoded.text[:-1] == page[: page.index("朱")]


def test_one_corrupt_byte_in_a_long_utf8_page_keeps_utf8():
    page = article(SIMPLIFIED * 5 + TRADITIONAL * 5, "utf-8")
    body = page.encode("utf-8")
    position = body.index("经济".encode())
    corrupt = body[:position] + b"\xff" + body[position + 1:]
    decoded = decode_body(corrupt, "text/html")
    assert decoded.charset == "utf-8"
    assert decoded.text.count("\ufffd") >= 1
    assert "經濟部長強調將持續推動產業升級。" in decoded.text


def test_undecodable_bytes_fall_back_to_utf8_with_replacement():
    decoded = decode_body(bytes(range(256)) * 4, "application/octet-stream")
    assert isinstance(decoded.text, str)
    assert decoded.charset


def test_empty_body():
    assert decode_body(b"", None) == Decoded("", "utf-8", "detected")


@pytest.mark.parametrize(
    "content_type,body,expected",
    [
        ('text/html; charset="GBK"', b"", ("gbk", "header")),
        ("text/html;charset=utf-8", b'<meta charset="gb2312">', ("utf-8", "header")),
        ("text/html", b'<html><head><meta charset="GB2312"></head>', ("gb2312", "meta")),
        (None, b"<meta charset=big5>", ("big5", "meta")),
        (None, b'<META CONTENT="text/html; charset=gbk" HTTP-EQUIV="Content-Type">', ("gbk", "meta")),
        (None, b"<meta http-equiv='content-type' content='text/html;charset=UTF-8'>", ("utf-8", "meta")),
        (None, b'<?xml version="1.0" encoding="GB2312"?>\n<html><body></body></html>', ("gb2312", "meta")),
        (None, b'<!-- <meta charset="big5"> --><meta charset="gbk">', ("gbk", "meta")),
        (None, b" " * 5000 + b'<meta charset="gbk">', (None, None)),
        ("text/html", b"<html><body>nothing declared</body></html>", (None, None)),
        ("text/html; charset=x-unknown", b"", ("x-unknown", "header")),
    ],
)
def test_declared_charset(content_type, body, expected):
    assert declared_charset(content_type, body) == expected
