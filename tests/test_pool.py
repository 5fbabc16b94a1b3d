"""The extraction pool: its workers carry the extraction code, not the pipeline's database and
HTTP code, and they do the pass's work."""

from __future__ import annotations

from archiver.blobs import pack
from archiver.tasks import extract_and_pack
from archiver.pool import imported_modules, make_pool

HEAVY = ("sqlalchemy", "httpx", "httpcore", "archiver.capture", "archiver.models", "archiver.store", "alembic")


def test_workers_carry_the_extraction_code_and_not_the_pipelines():
    body = "<html><head><title>招标公告</title></head><body><p>公安局视频监控项目招标公告。</p></body></html>".encode("gb18030")
    with make_pool(2) as pool:
        extracted, packed, _ = pool.submit(extract_and_pack, body, "text/html; charset=gb18030", "http://example.cn/").result()
        modules = set(pool.submit(imported_modules).result())
    assert "视频监控" in extracted.text and packed == pack(body)
    assert {"trafilatura", "archiver.extract", "archiver.verdict"} <= modules
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY) == []
