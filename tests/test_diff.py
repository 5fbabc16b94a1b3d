"""Diffs of page texts: word-level for English, jieba words for Chinese, and their renderings."""

from __future__ import annotations

import pytest

from archiver.diff import (
    Segment,
    count_words,
    describe_changes,
    diff_texts,
    looks_chinese,
    render_html,
    render_plain,
    render_terminal,
    summary,
    tokenize,
)

EN_OLD = """Chinese tech revolution comes to Zimbabwe
In March 2018 the Guangzhou-based start-up CloudWalk Technology signed a strategic cooperation agreement.
Critics warned that the deal would give a Chinese company access to biometric data.
The company said it had identified more than 10,000 suspects."""

ZH_OLD = """云从科技与津巴布韦政府签署战略合作框架协议
2018年3月，广州云从信息科技有限公司与津巴布韦政府在哈拉雷签署战略合作框架协议。
云从科技负责人介绍，公司累计识别超过3000万人次。"""


def sides(segments: list[Segment]) -> tuple[str, str]:
    old = "".join(s.text for s in segments if s.op != "insert")
    new = "".join(s.text for s in segments if s.op != "delete")
    return old, new


def test_english_number_edit_is_shown_as_whole_words():
    segments = diff_texts("in 2018 the company", "in 2019 the company")
    assert render_plain(segments) == "in [-2018-]{+2019+} the company"
    assert segments == [
        Segment("equal", "in "),
        Segment("delete", "2018"),
        Segment("insert", "2019"),
        Segment("equal", " the company"),
    ]


def test_numbers_with_separators_stay_whole():
    segments = diff_texts("more than 10,000 suspects", "more than 12,500 suspects")
    assert render_plain(segments) == "more than [-10,000-]{+12,500+} suspects"


def test_rewritten_phrase_is_one_removal_and_one_addition():
    segments = diff_texts("the quick brown fox jumps", "a slow red fox jumps")
    assert render_plain(segments) == "[-the quick brown-]{+a slow red+} fox jumps"


def test_paragraph_removed_and_added():
    new = EN_OLD.replace("Critics warned that the deal would give a Chinese company access to biometric data.\n", "")
    new += "\nCorrection: the agreement was signed in April."
    segments = diff_texts(EN_OLD, new)
    assert sides(segments) == (EN_OLD, new)
    removed = [s.text for s in segments if s.op == "delete"]
    added = [s.text for s in segments if s.op == "insert"]
    assert removed == ["Critics warned that the deal would give a Chinese company access to biometric data.\n"]
    assert added == ["\nCorrection: the agreement was signed in April."]


def test_chinese_is_diffed_by_words():
    old = "签署战略合作框架协议，将为津巴布韦提供技术。"
    new = "签署合作框架协议，将为该国提供技术。"
    assert render_plain(diff_texts(old, new, lang="zh-CN")) == "签署[-战略-]合作框架协议，将为[-津巴布韦-]{+该国+}提供技术。"


def test_chinese_is_detected_without_a_language_tag():
    new = ZH_OLD.replace("3000万", "300万")
    assert looks_chinese(ZH_OLD)
    assert not looks_chinese(EN_OLD)
    assert "超过[-3000-]{+300+}万人次" in render_plain(diff_texts(ZH_OLD, new))


def test_english_tag_cuts_chinese_into_characters():
    segments = diff_texts("签署战略协议", "签署合作协议", lang="en")
    assert render_plain(segments) == "签署[-战略-]{+合作+}协议"


@pytest.mark.parametrize("chinese", [False, True])
def test_tokens_rebuild_the_text(chinese):
    for text in (EN_OLD, ZH_OLD, "混合 text：CloudWalk（云从）2018年\n\n  end"):
        assert "".join(tokenize(text, chinese)) == text


@pytest.mark.parametrize(
    "old, new",
    [
        (EN_OLD, EN_OLD.replace("2018", "2019").replace("Critics", "Observers")),
        (ZH_OLD, ZH_OLD.replace("哈拉雷", "北京") + "\n更正：签约地点有误。"),
        (EN_OLD, ""),
        ("", ZH_OLD),
        (EN_OLD, ZH_OLD),
        ("same", "same"),
    ],
)
def test_segments_rebuild_both_texts(old, new):
    segments = diff_texts(old, new)
    assert sides(segments) == (old, new)
    assert all(s.text for s in segments)
    assert all(a.op != b.op for a, b in zip(segments, segments[1:]) if "equal" in (a.op, b.op))


def test_summary_counts_characters_words_and_changes():
    segments = diff_texts("in 2018 the firm said", "in 2019 the company said")
    assert summary(segments) == {
        "chars_added": 4 + 7,
        "chars_removed": 4 + 4,
        "words_added": 2,
        "words_removed": 2,
        "changes": 2,
    }
    assert summary(diff_texts("same text", "same text")) == {
        "chars_added": 0,
        "chars_removed": 0,
        "words_added": 0,
        "words_removed": 0,
        "changes": 0,
    }


def test_chinese_words_are_counted_by_character():
    assert count_words("云从科技 CloudWalk 2018年") == 4 + 1 + 1 + 1
    segments = diff_texts(ZH_OLD, ZH_OLD.replace("战略合作框架协议。", "协议。"))
    assert summary(segments)["words_removed"] == 6


def test_html_escapes_every_piece():
    segments = diff_texts("a <b> & 'c'", 'a <i> & "c"')
    html = render_html(segments)
    assert "<b>" not in html and "<i>" not in html
    assert html == "a &lt;<del>b</del><ins>i</ins>&gt; &amp; <del>&#x27;c&#x27;</del><ins>&quot;c&quot;</ins>"
    assert render_html(diff_texts("<script>x</script>", "<script>y</script>")).count("<script>") == 0


def test_terminal_rendering_styles_and_elides():
    old = "A" * 200 + " 2018 " + "B" * 200
    new = "A" * 200 + " 2019 " + "B" * 200
    text = render_terminal(diff_texts(old, new), context=10)
    assert text.plain == "… " + "A" * 9 + " [-2018-]{+2019+} " + "B" * 9 + " …"
    styles = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert styles == {"[-2018-]": "red strike", "{+2019+}": "green"}


def test_long_unchanged_middle_keeps_context_on_both_sides():
    old = "start 2018 " + "m" * 300 + " end 1"
    new = "start 2019 " + "m" * 300 + " end 2"
    plain = render_plain(diff_texts(old, new), context=5)
    assert plain == "start [-2018-]{+2019+} mmmm …  end [-1-]{+2+}"
    assert render_plain(diff_texts("short 1", "short 2"), context=40) == "short [-1-]{+2+}"


def test_describe_changes_names_each_edit():
    segments = diff_texts("in 2018 the firm said it", "in 2019 the firm said")
    assert describe_changes(segments) == ["'2018' -> '2019'", "'it' removed"]
    assert describe_changes(diff_texts("a", "a b")) == ["'b' added"]


def test_fifty_kilobyte_texts_diff_exactly():
    paragraph = (
        "The company said the system had already been deployed by police in more than 20 provinces, "
        "where it had identified more than 10,000 suspects. "
    )
    old = "\n".join(f"{i}. {paragraph * 2}" for i in range(200))
    new = old.replace("20 provinces", "21 provinces", 50).replace("\n7.", "\n7 .")
    flat_old, flat_new = old.replace("\n", " "), new.replace("\n", " ")
    assert len(old) > 50_000
    assert sides(diff_texts(old, new)) == (old, new)
    assert sides(diff_texts(flat_old, flat_new)) == (flat_old, flat_new)
