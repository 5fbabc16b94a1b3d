"""The terms of the search index and of queries (archiver.terms), and the passages marked from
them (archiver.snippets): Chinese, English and mixed text, full-width forms, hostile queries."""

from __future__ import annotations

import pytest

from archiver.snippets import snippet
from archiver.terms import QueryError, index_terms, parse_query, text_terms


def test_chinese_runs_are_pairs_then_their_last_character():
    assert index_terms("海康威视") == ["海康", "康威", "威视", "视"]
    assert index_terms("中") == ["中"]


def test_mixed_text_full_width_forms_and_punctuation():
    assert index_terms("海康威视Hikvision，ＡＢＣ公司（2023年）") == [
        "海康", "康威", "威视", "视", "hikvision", "abc", "公司", "司", "2023", "年"]
    assert index_terms("Ürümqi, COVID-19; don't") == ["urumqi", "covid", "19", "don", "t"]
    assert index_terms("“引号”、《书名》。") == ["引号", "号", "书名", "名"]


def test_terms_point_back_at_the_original_characters():
    source = "ＡＢＣ 海康威视"
    terms = text_terms(source)
    assert [(source[t.start:t.end], t.term) for t in terms][:2] == [("ＡＢＣ", "abc"), ("海康", "海康")]


def test_a_chinese_query_is_the_phrase_of_its_pairs():
    [[phrase]] = parse_query("海康威视").alternatives
    assert phrase.terms == ("海康", "康威", "威视") and not phrase.prefix
    [[single]] = parse_query("视").alternatives
    assert single.terms == ("视",) and single.prefix
    [[mixed]] = parse_query('"海康威视 Hikvision"').alternatives
    assert mixed.terms == ("海康", "康威", "威视", "视", "hikvision")


def test_query_operators():
    query = parse_query('hikvision -dahua "city police" surveil* OR 云从')
    first, second = query.alternatives
    assert [(p.terms, p.prefix, p.negated) for p in first] == [
        (("hikvision",), False, False), (("dahua",), False, True), (("city", "police"), False, False),
        (("surveil",), True, False)]
    assert [p.terms for p in second] == [("云从",)]


@pytest.mark.parametrize("query", ["", "   ", '"', "*", "-", "-word", '""', "()", "：，。", "-a -b"])
def test_queries_with_nothing_to_find_are_refused_in_words(query):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert "search" in str(caught.value)


def test_snippets_mark_what_the_index_matched():
    text = "The company 杭州海康威视数字技术股份有限公司 (ＨＩＫＶＩＳＩＯＮ) signed. " + "Filler words here. " * 30
    assert [p for p, m in snippet(text, parse_query("威视").phrases()) if m] == ["威视"]
    assert [p for p, m in snippet(text, parse_query("hikvision").phrases()) if m] == ["ＨＩＫＶＩＳＩＯＮ"]
    assert [p for p, m in snippet(text, parse_query("视").phrases()) if m] == ["视"]
    pieces = snippet(text, parse_query("威视 康威").phrases())
    assert [p for p, m in pieces if m] == ["康威视"]
    assert "".join(p for p, _ in pieces).endswith("…")


def test_snippet_is_pieces_of_text_never_markup():
    text = "<script>alert(1)</script> the Dahua cameras"
    pieces = snippet(text, parse_query("dahua").phrases())
    assert "".join(p for p, _ in pieces) == text
    assert ("Dahua", True) in pieces


def test_snippet_window_moves_to_the_match_in_a_long_text():
    text = "word " * 500 + "the Hikvision contract " + "word " * 500
    pieces = snippet(text, parse_query("hikvision").phrases(), width=100)
    joined = "".join(p for p, _ in pieces)
    assert joined.startswith("…") and joined.endswith("…") and len(joined) < 120
    assert ("Hikvision", True) in pieces
