"""Quote checks: present despite formatting differences, missing when a word or number changed."""

from __future__ import annotations

import random

import pytest

from archiver.quotes import check_quote, quote_key, squeeze_spaces

ZH_TEXT = """云从科技与津巴布韦政府签署战略合作框架协议
2018年3月，广州云从信息科技有限公司与津巴布韦政府在哈拉雷签署战略合作框架协议，双方将在智慧城市、平安城市等领域开展合作。
根据协议，云从科技将为津巴布韦的机场、火车站和汽车站等公共场所提供人脸识别技术；并协助建设国家人像数据库。
津巴布韦信息通信技术部长表示，该项目是“一带一路”倡议下中津两国科技合作的重要成果。
云从科技负责人介绍，公司累计识别超过3000万人次。"""

EN_TEXT = """Chinese tech revolution comes to Zimbabwe
In March 2018 the Guangzhou-based start-up CloudWalk Technology signed a strategic cooperation
agreement with the government of Zimbabwe to supply facial recognition systems for airports.
The minister called it “a milestone in cooperation between the two countries”.
Critics warned that the deal would give a Chinese company access to the biometric data of millions of Zimbabweans.
The company said it had identified more than 10,000 suspects in 2017."""


def present(quote: str, text: str) -> bool:
    return check_quote(quote, text).status == "present"


@pytest.mark.parametrize(
    "quote, text, detail",
    [
        ("CloudWalk Technology signed a strategic cooperation", EN_TEXT, "found verbatim"),
        ("云从科技将为津巴布韦的机场", ZH_TEXT, "found verbatim"),
        ("strategic cooperation agreement with the government", EN_TEXT, "found after normalising"),
        ("In March 2018 the Guangzhou-based START-UP cloudwalk", EN_TEXT, "found after normalising"),
    ],
)
def test_present_with_detail(quote, text, detail):
    match = check_quote(quote, text)
    assert (match.status, match.score, match.closest) == ("present", 1.0, None)
    assert match.detail.startswith(detail)


@pytest.mark.parametrize(
    "quote, text",
    [
        # whitespace and line breaks anywhere, including inside Chinese and where markup split it
        ("signed a strategic cooperation agreement with the government", EN_TEXT),
        ("signed a  strategic\ncooperation   agreement", EN_TEXT),
        ("提供人脸 识别\n技术", ZH_TEXT),
        ("签署战略合作框架协议", "2018年3月，双方在哈拉雷签署\n战略合作\n框架协议。"),
        ("CloudWalk Technology signed a deal", "<p>CloudWalk <b>Technology</b></p>\n<p>signed</p> a deal"
         .replace("<p>", "").replace("</p>", "").replace("<b>", "").replace("</b>", "")),
        # full-width and half-width punctuation, digits and letters
        ("2018年3月,广州云从信息科技有限公司", ZH_TEXT),
        ("人脸识别技术;并协助建设", ZH_TEXT),
        ("２０１８年３月，广州", ZH_TEXT),
        ("In March ２０１８ the Ｇｕａｎｇｚｈｏｕ-based", EN_TEXT),
        ("机场,火车站和汽车站", ZH_TEXT),
        # every kind of quotation mark, or none
        ('该项目是"一带一路"倡议下', ZH_TEXT),
        ("该项目是「一带一路」倡议下", ZH_TEXT),
        ("该项目是一带一路倡议下", ZH_TEXT),
        ("called it 'a milestone in cooperation'", EN_TEXT),
        ("called it «a milestone in cooperation»", EN_TEXT),
        ("called it \"a milestone in cooperation between the two countries.\"", EN_TEXT),
        # letter case
        ("CRITICS WARNED THAT THE DEAL", EN_TEXT),
        # dashes and invisible characters
        ("Guangzhou—based start—up", EN_TEXT),
        ("广州云从\u200b信息科技", ZH_TEXT),
        # composed and decomposed accents
        ("the café said", "Then the cafe\u0301 said no."),
    ],
)
def test_present_despite_formatting(quote, text):
    match = check_quote(quote, text)
    assert match.status == "present", match.detail


@pytest.mark.parametrize(
    "quote, text",
    [
        ("In March 2018 ... CloudWalk Technology ... facial recognition systems", EN_TEXT),
        ("In March 2018 … facial recognition systems", EN_TEXT),
        ("In March 2018 . . . facial recognition systems", EN_TEXT),
        ("Critics warned [...] access to the biometric data", EN_TEXT),
        ("[The company] said it had identified more than 10,000 suspects", EN_TEXT),
        ("双方将在智慧城市……等领域开展合作", ZH_TEXT),
        ("云从科技……人脸识别技术……国家人像数据库", ZH_TEXT),
        ("……累计识别超过3000万人次", ZH_TEXT),
    ],
)
def test_ellipsis_and_brackets_mark_elisions(quote, text):
    match = check_quote(quote, text)
    assert match.status == "present", match.detail
    assert "elision" in match.detail


def test_elided_pieces_must_come_in_order():
    match = check_quote("人脸识别技术……签署战略合作框架协议", ZH_TEXT.split("\n", 1)[1])
    assert match.status == "missing"
    assert match.detail == "part 2 of 2 of the quote is on the page, but not after the part before it"


def test_one_elided_piece_edited_is_missing():
    match = check_quote("In March 2018 ... supply facial recognition systems for railways", EN_TEXT)
    assert match.status == "missing"
    assert match.detail.startswith("part 2 of 2 of the quote is missing; closest passage differs:")
    assert "'railways' -> 'airports'" in match.detail


def test_edited_number_is_missing_despite_high_similarity():
    match = check_quote("In March 2019 the Guangzhou-based start-up CloudWalk Technology signed", EN_TEXT)
    assert match.status == "missing"
    assert match.score > 0.95
    assert match.detail.startswith("closest passage differs: '2019' -> '2018' (score 0.9")
    assert match.closest == "In March 2018 the Guangzhou-based start-up CloudWalk Technology signed"


def test_edited_number_in_chinese_is_missing_and_closest_keeps_the_page_punctuation():
    match = check_quote("2019年3月，广州云从信息科技有限公司与津巴布韦政府在哈拉雷签署", ZH_TEXT)
    assert match.status == "missing"
    assert match.score > 0.9
    assert "'2019' -> '2018'" in match.detail
    assert match.closest.startswith("2018年3月，广州云从")


@pytest.mark.parametrize(
    "quote, text",
    [
        ("累计识别超过300万人次", ZH_TEXT),
        ("超过300", ZH_TEXT),
        ("identified more than 10,000 suspects in 201", EN_TEXT),
        ("identified more than 1,000 suspects", EN_TEXT),
        ("identified more than 10,0", EN_TEXT),
        ("more than 000 suspects", EN_TEXT),
        ("rose to 3.", "Exports rose to 3.5 billion."),
        ("killed 12 people", "Police said 120 people were killed; 12 people were hurt."),
    ],
)
def test_a_number_is_never_matched_inside_a_longer_number(quote, text):
    assert check_quote(quote, text).status == "missing"


def test_a_word_is_never_matched_inside_a_longer_word():
    assert check_quote("the plan", "They said the planned route was closed.").status == "missing"
    assert check_quote("the plan", "They said the plan was closed.").status == "present"


def test_edited_word_is_missing():
    match = check_quote("Critics suggested that the deal would give a Chinese company access", EN_TEXT)
    assert match.status == "missing"
    assert "'suggested' -> 'warned'" in match.detail


def test_removed_chinese_word_is_missing():
    match = check_quote("在哈拉雷签署合作框架协议", ZH_TEXT)
    assert match.status == "missing"
    assert "'战略' added" in match.detail


def test_passage_gone_entirely():
    match = check_quote("The agreement was cancelled by parliament in 2020.", EN_TEXT)
    assert match.status == "missing"
    assert match.score < 0.8
    assert match.closest


def test_empty_quote_and_empty_text():
    assert check_quote("", EN_TEXT) == check_quote(" … ", EN_TEXT)
    empty = check_quote("", EN_TEXT)
    assert (empty.status, empty.detail) == ("present", "no quote to check")
    no_text = check_quote("CloudWalk", "")
    assert (no_text.status, no_text.score, no_text.detail) == ("missing", 0.0, "the page has no text")


def test_quote_key_is_the_canonical_form():
    assert quote_key("“Hello，　World！”") == "hello,world!"
    assert quote_key("In  2018\nthe") == "in 2018 the"
    assert quote_key("人脸 识别\n技术。") == "人脸识别技术."
    assert quote_key("签署——协议、") == "签署-协议,"
    assert quote_key("ＣｌｏｕｄＷａｌｋ’s") == "cloudwalks"
    assert quote_key("2018 年") == "2018年"


def _squeeze_by_definition(text: str) -> str:
    """squeeze_spaces as its docstring defines it, one whitespace run at a time."""
    out, i = [], 0
    while i < len(text):
        if not text[i].isspace():
            out.append(text[i])
            i += 1
            continue
        j = i
        while j < len(text) and text[j].isspace():
            j += 1
        def word(ch: str) -> bool:
            return ch.isalnum() and not ("\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff")
        if i > 0 and j < len(text) and word(text[i - 1]) and word(text[j]):
            out.append(" ")
        i = j
    return "".join(out)


def test_squeeze_spaces_matches_its_definition_on_random_mixed_text():
    rng = random.Random(7)
    alphabet = list("ab9Z_中文ひ。,.-") + [" ", "\t", "\n", "\u3000", "\u00a0", "\x1c", "é", "١", "²", "\u200b"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert squeeze_spaces(text) == _squeeze_by_definition(text), repr(text)


def test_squeeze_spaces_keeps_case_and_punctuation():
    assert squeeze_spaces("In  2018,\n“The”  人脸 识别") == "In 2018,“The”人脸识别"


def test_a_quote_is_checked_in_a_long_text():
    text = (EN_TEXT + "\n" + ZH_TEXT + "\n") * 60
    match = check_quote("identified more than 10,000 suspects in 2016", text)
    assert match.status == "missing"


def test_a_quote_outside_the_main_text_but_on_the_page():
    from archiver.quotes import PRESENT_OUTSIDE, check_quote_on_page

    main = "第一篇文章的正文，讲的是项目的投资情况。"
    page = "博客首页\n第一篇文章的正文，讲的是项目的投资情况。\n第二篇：项目共安装高清摄像头1200台。"
    found = check_quote_on_page("项目共安装高清摄像头1200台", main, page)
    assert found.status == PRESENT_OUTSIDE == "present (outside the main text)"
    assert found.score == 1.0 and "outside the main text" in found.detail
    # in the main text it is simply present; on neither it stays missing, with the main text's detail
    assert check_quote_on_page("讲的是项目的投资情况", main, page).status == "present"
    gone = check_quote_on_page("项目共安装高清摄像头2100台", main, page)
    assert gone.status == "missing"
    assert check_quote_on_page("项目共安装高清摄像头1200台", main, None).status == "missing"
    assert check_quote_on_page("项目共安装高清摄像头1200台", main, "").status == "missing"
