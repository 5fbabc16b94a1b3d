"""What one page may cost an extraction worker: past the time or memory limit it becomes an
"extraction" error on that capture, with no verdict (its text is missing, not empty: never an
emptied page), and the worker goes on with the next page."""

from __future__ import annotations

import resource

from archiver.blobs import pack, sha256_hex
from archiver.limits import MB, PageLimits
from archiver.pool import make_pool
from archiver.tasks import Judging, extract_and_judge, extract_visible
from archiver.verdict import Snapshot

URL = "http://stats.example/2023/report.html"
ARTICLE = ("<html><head><title>统计公报</title></head><body><article><p>"
           + "二〇二三年国民经济和社会发展统计公报：全年国内生产总值稳步增长，粮食产量创历史新高。" * 20
           + "</p></article></body></html>").encode("utf-8")
# A quarter of a million elements: some 20 s and 450 MB of extraction.
DENSE = b"<html><body>" + b"<p>x</p>" * 250_000 + b"</body></html>"


def fetched(body: bytes) -> Snapshot:
    return Snapshot(URL, URL, 200, [], "", "", sha256_hex(body), None, None, None, "other")


def previous_capture() -> Snapshot:
    text = "二〇二三年国民经济和社会发展统计公报：全年国内生产总值稳步增长。" * 20
    return Snapshot(URL, URL, 200, [], text, text, "ab" * 32, "cd" * 32, None, None, "html", "统计公报")


def judging(body: bytes, previous: Snapshot | None = None) -> Judging:
    return Judging(fetched(body), previous, None, None, 40)


def test_a_page_past_the_time_limit_is_an_extraction_error_and_the_worker_goes_on():
    with make_pool(1, page_limits=PageLimits(seconds=1.0, html_bytes=4 * MB)) as pool:
        extracted, packed, text, verdict = pool.submit(
            extract_and_judge, DENSE, "text/html", judging(DENSE, previous_capture())).result()
        after = pool.submit(extract_and_judge, ARTICLE, "text/html", judging(ARTICLE)).result()
    assert extracted.error_kind == "extraction"
    assert extracted.error == ("extracting the page's text took longer than 1 s ([capture] extract_timeout); "
                               "the page is stored, its text is not")
    assert packed == pack(DENSE) and text is None, "the body is stored all the same"
    assert verdict is None, "missing text is not judged: it would read as an emptied article"
    assert "粮食产量创历史新高" in after[0].text and after[3].state == "new"


def test_a_page_past_the_memory_limit_is_an_extraction_error_and_the_worker_goes_on():
    with make_pool(1, page_limits=PageLimits(memory_bytes=512 * MB, html_bytes=8 * MB, seconds=300)) as pool:
        huge = b"<html><body>" + b"<p>x</p>" * 1_000_000 + b"</body></html>"  # would need some 1.8 GB
        extracted, packed, text, verdict = pool.submit(extract_and_judge, huge, "text/html", judging(huge)).result()
        after = pool.submit(extract_and_judge, ARTICLE, "text/html", judging(ARTICLE)).result()
        limit = pool.submit(resource.getrlimit, resource.RLIMIT_AS).result()
    assert limit[0] == 512 * MB
    assert extracted.error_kind == "extraction"
    assert extracted.error == ("extracting the page's text needed more memory than an extraction worker may use "
                               "(512 MB, [capture] worker_memory_mb); the page is stored, its text is not")
    assert packed == pack(huge) and text is None and verdict is None
    assert "粮食产量创历史新高" in after[0].text


def test_the_visible_text_of_a_site_page_is_bounded_by_time_too():
    with make_pool(1, page_limits=PageLimits(seconds=0.5, html_bytes=4 * MB)) as pool:
        slow = pool.submit(extract_visible, DENSE + DENSE, "text/html", URL).result()
        quick = pool.submit(extract_visible, ARTICLE, "text/html", URL).result()
    assert slow.error_kind == "extraction" and slow.full_text == ""
    assert "粮食产量" in quick.full_text


def test_the_worker_reads_its_html_limit_from_the_pool():
    big = b"<html><body>" + b"<p>The bureau published the figures.</p>\n" * 10_000 + b"</body></html>"  # 400 KB
    with make_pool(1, page_limits=PageLimits(html_bytes=100 * 1024)) as pool:
        extracted = pool.submit(extract_and_judge, big, "text/html", judging(big)).result()[0]
    assert extracted.error.startswith("text extracted from the first 100 KB of this page's 400.4 KB of HTML")
    assert extracted.error_kind is None and "figures" in extracted.text
