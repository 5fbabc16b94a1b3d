"""The pool's task: a page extracted, packed and judged in one call gives the same text, blobs
and verdict as each step done on its own."""

from __future__ import annotations

import dataclasses

import pytest

from archiver.blobs import pack, sha256_hex
from archiver.extract import extract
from archiver.pool import make_pool
from archiver.tasks import Judging, PackedText, extract_and_judge, extract_and_pack
from archiver.terms import index_terms
from archiver.verdict import Snapshot, judge

URL = "http://www.example.gov.cn/xxgk/2019/0312/c1001.html"
NAV = "首页 | 新闻中心 | 政务公开 | 办事服务 | 互动交流"
ARTICLE = [
    "关于新疆维吾尔自治区公安厅视频监控系统建设项目的招标公告。",
    "本项目采购人脸识别摄像机两千台，建设地点为乌鲁木齐市及周边各县。",
    "投标人须具备安防工程企业一级资质，投标截止时间为二〇一九年四月十日。",
]
NOT_FOUND = f"{NAV}\n对不起，您访问的页面不存在或已被删除。\n返回首页"


def page(paragraphs: list[str], title: str = "招标公告", refresh: str | None = None) -> bytes:
    meta = f'<meta http-equiv="refresh" content="0; url={refresh}">' if refresh else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><meta charset='gbk'><title>{title}</title>{meta}</head><body>"
            f"<div class='nav'>{NAV}</div><article>{body}</article></body></html>").encode("gbk")


def fetched(body: bytes, redirects=(), final_url: str = URL) -> Snapshot:
    """A capture as the pass knows it before extraction."""
    return Snapshot(URL, final_url, 200, list(redirects), "", "", sha256_hex(body), None, None, None, "other")


def judged_apart(body: bytes, previous: Snapshot | None, not_found: str | None, home: str | None = None,
                 redirects=(), final_url: str = URL):
    """extract, pack and judge, one step after the other, as the pass did before."""
    found = extract(body, "text/html", final_url)
    current = dataclasses.replace(
        fetched(body, redirects, final_url), text=found.text, full_text=found.full_text, kind=found.kind,
        title=found.title, text_sha256=sha256_hex(found.text.encode()) if found.text else None,
    )
    return found, current, judge(previous, current, not_found_text=not_found, home_text=home)


@pytest.mark.parametrize("paragraphs, state", [
    (ARTICLE, "new"),
    (["对不起，您访问的页面不存在或已被删除。", "返回首页"], "deleted"),
])
def test_a_first_capture_is_judged_as_when_each_step_runs_alone(paragraphs, state):
    body = page(paragraphs)
    extracted, packed, text, verdict = extract_and_judge(
        body, "text/html", Judging(fetched(body), None, NOT_FOUND, None, 40))
    found, current, expected = judged_apart(body, None, NOT_FOUND)
    assert verdict == expected and verdict.state == state
    assert (extracted.text, extracted.title, extracted.kind) == (found.text, found.title, found.kind)
    assert extracted.full_text == ""  # only the verdict needed it: it does not cross back
    assert packed == pack(body) and text == PackedText(*dataclasses.astuple(pack(found.text.encode("utf-8"))),
                                                       terms=" ".join(index_terms(found.text)))


def test_an_edit_is_described_against_the_previous_capture():
    before = page(ARTICLE)
    _, previous, _ = judged_apart(before, None, None)
    after = page(ARTICLE[:2] + ["投标人须具备安防工程企业一级资质，投标截止时间为二〇一九年五月十日。"])
    *_, verdict = extract_and_judge(after, "text/html", Judging(fetched(after), previous, NOT_FOUND, None, 40))
    assert verdict == judged_apart(after, previous, NOT_FOUND)[2]
    assert verdict.state == "altered" and "'四' -> '五'" in verdict.reason


def test_the_site_pages_count_only_when_the_rules_ask_for_them():
    """The not-found page when the text changed or the request was redirected, the home page
    only when it was redirected: a page that reads like the home page is not "deleted"
    when it was asked for directly."""
    home_body = page(ARTICLE, title="首页")
    home = extract(home_body, "text/html", "http://www.example.gov.cn/").full_text
    *_, direct = extract_and_judge(home_body, "text/html", Judging(fetched(home_body), None, None, home, 40))
    assert direct.state == "new"
    hops = [(302, "http://www.example.gov.cn/")]
    redirected = fetched(home_body, hops, "http://www.example.gov.cn/")
    *_, moved = extract_and_judge(home_body, "text/html", Judging(redirected, None, None, home, 40))
    assert moved == judged_apart(home_body, None, None, home, hops, "http://www.example.gov.cn/")[2]
    assert moved.state == "deleted" and "home page" in moved.reason

    _, previous, _ = judged_apart(page(ARTICLE), None, None)
    same_text = page(ARTICLE, title="招标公告（更新）")
    *_, unchanged = extract_and_judge(same_text, "text/html", Judging(fetched(same_text), previous, NOT_FOUND, None, 40))
    assert unchanged.state == "unchanged"


def test_a_meta_refresh_to_follow_is_not_judged_here():
    target = "http://www.example.gov.cn/xxgk/new.html"
    body = page(["页面已迁移。"], refresh=target)
    extracted, packed, _, verdict = extract_and_judge(body, "text/html", Judging(fetched(body), None, None, None, 40))
    assert verdict is None and extracted.meta_refresh == target and packed == pack(body)
    *_, verdict = extract_and_judge(body, "text/html",
                                    Judging(fetched(body), None, None, None, 40, follows_refresh=False))
    assert verdict is not None and verdict.state == "new"


def test_the_workers_run_the_task_as_it_runs_here():
    body = page(ARTICLE)
    judging = Judging(fetched(body), None, NOT_FOUND, None, 40)
    with make_pool(1) as pool:
        remote = pool.submit(extract_and_judge, body, "text/html; charset=gbk", judging).result()
    assert remote == extract_and_judge(body, "text/html; charset=gbk", judging)
    assert remote[0].text == extract_and_pack(body, "text/html", URL)[0].text
