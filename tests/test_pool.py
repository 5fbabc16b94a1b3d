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


def test_workers_ignore_the_signals_that_reach_the_whole_process_group():
    """Ctrl-C and `systemctl stop` signal every process of the group: the workers must leave the
    decision to the pass and go on working."""
    import asyncio
    import os
    import signal

    from archiver.pool import ExtractionPool

    async def go():
        with ExtractionPool(2) as pool:
            first = await pool.call(imported_modules)
            pids = pool.worker_pids()
            for pid in pids:
                os.kill(pid, signal.SIGINT)
                os.kill(pid, signal.SIGTERM)
            await asyncio.sleep(0.5)
            again = await pool.call(imported_modules)
            return first, again, pids, pool.worker_pids(), pool.replaced

    first, again, before, after, replaced = asyncio.run(go())
    assert first == again and before and before == after and replaced == 0


def test_a_dead_worker_is_replaced_and_the_pages_in_flight_are_extracted_again():
    import asyncio
    import os
    import signal

    from archiver.pool import ExtractionPool

    body = ("<html><body>" + "<p>市公安局视频监控平台建设项目招标公告，预算金额人民币一千二百万元。</p>" * 4000
            + "</body></html>").encode("utf-8")

    async def go():
        with ExtractionPool(2) as pool:
            await pool.call(imported_modules)
            calls = [asyncio.ensure_future(pool.call(extract_and_pack, body, "text/html", f"http://a.cn/{i}"))
                     for i in range(6)]
            await asyncio.sleep(0.3)
            for pid in pool.worker_pids():
                os.kill(pid, signal.SIGKILL)
            results = await asyncio.gather(*calls)
            return results, pool.replaced

    results, replaced = asyncio.run(go())
    assert replaced >= 1
    assert all("视频监控" in extracted.text for extracted, _, _ in results)


CRASH_PASS = r"""
import asyncio, json, sys
from archiver.capture import capture_pass
from archiver.config import Config
from archiver.db import open_database
from archiver.pool import PRELOAD, ExtractionPool

config = Config()
config.database.url = sys.argv[1]
config.fetch.allow_private_addresses = True
config.fetch.per_host_delay = 0.0
config.wayback.enabled = False
config.verdict.probe_not_found = False
sessions = open_database(config.database.url)

async def go():
    with ExtractionPool(2, preload=PRELOAD + ["tests.crashing_worker"]) as pool:
        summary = await capture_pass(config, sessions, everything=True, pool=pool)
        return summary, pool.replaced

summary, replaced = asyncio.run(go())
print(json.dumps({"counts": dict(summary.counts), "replaced": replaced}))
"""


def test_a_page_that_crashes_the_extractor_is_recorded_and_the_pass_goes_on(site, tmp_path):
    """A segfault in a C library kills the worker, not the pass: the page that does it (even
    alone) gets a clear error with its body stored, the others are captured as usual."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import select

    from archiver.db import open_database
    from archiver.models import Capture, Source
    from archiver.sources import add_source
    from archiver.store import get_blob
    from tests.crashing_worker import CRASH_MARK

    url = f"sqlite:///{tmp_path / 'archive.db'}"
    sessions = open_database(url)
    pages = {f"/ok/{i}.html": f"<html><body><article><p>第{i}号通知：视频监控平台项目已经完成验收，系统运行正常。</p>"
                              f"<p>Notice {i}: the platform passed its acceptance tests.</p></article></body></html>"
             for i in range(8)}
    crasher = b"<html><body><article><p>This page kills the extractor.</p></article>" + CRASH_MARK + b"</body></html>"
    with sessions.begin() as session:
        for path, body in pages.items():
            add_source(session, site.set(path, body))
        add_source(session, site.set("/crash.html", crasher))
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", CRASH_PASS, url], capture_output=True, text=True, cwd=root,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["counts"] == {"new": 8, "failed": 1} and result["replaced"] >= 2
    with sessions() as session:
        crashed = session.scalars(select(Capture).where(Capture.requested_url.endswith("/crash.html"))).one()
        assert crashed.error_kind == "extract_crash"
        assert "extraction process crashed" in crashed.error and "stored" in crashed.error
        assert get_blob(session, crashed.body_sha256) == crasher
        source = session.get(Source, crashed.source_id)
        assert source.state == "pending" and "crashed" in source.last_error
