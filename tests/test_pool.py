"""The extraction pool: its workers carry the extraction code, not the pipeline's database and
HTTP code, and they do the pass's work."""

from __future__ import annotations

import time

import pytest

from archiver.blobs import pack
from archiver.pool import imported_modules, make_pool
from archiver.tasks import extract_and_pack
from tests.processes import descendants

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


@pytest.fixture(scope="module")
def six_sites(tmp_path_factory):
    """Six sites on six loopback addresses, each serving one varied page of the synthetic web
    (benchmarks/synthweb.py): Chinese and English, UTF-8 and GBK, table and div layouts, 20-300 KB,
    a PDF among them."""
    from benchmarks import synthweb
    from tests.siteserver import Page, Site

    folder = tmp_path_factory.mktemp("web")
    manifest = synthweb.build(folder, 120, hosts=12, quiet=True)
    hosts = manifest["hosts"]
    chosen, seen = [], set()
    for page in sorted(manifest["pages"], key=lambda p: (p["kind"] != "pdf", p["number"])):
        if page["host"] not in seen and len(chosen) < 6:
            seen.add(page["host"])
            chosen.append(page)
    sites, urls = [], []
    for n, page in enumerate(chosen):
        host = synthweb.Host(**hosts[page["host"]])
        site = Site(f"127.0.0.{11 + n}").start()
        body = (folder / "bodies" / f"{page['number']}.1").read_bytes()
        site.pages[page["path"]] = Page(body=body, content_type=synthweb.content_type(host, page["kind"]))
        urls.append(site.url(page["path"]))
        sites.append(site)
    yield urls
    for site in sites:
        site.stop()


@pytest.mark.slow
def test_thirty_small_passes_never_crash(six_sites, tmp_path):
    """Passes of fewer sources than cores are common (`run --url`, a few new sources, the
    scheduler's due checks); they once extracted in threads and died with SIGSEGV. A crash here
    kills the test process itself."""
    import asyncio

    from sqlalchemy import func, select

    from archiver.capture import capture_pass
    from archiver.config import Config
    from archiver.db import open_database
    from archiver.models import Capture
    from archiver.sources import add_source

    config = Config()
    config.database.url = f"sqlite:///{tmp_path / 'archive.db'}"
    config.fetch.allow_private_addresses = True
    config.fetch.per_host_delay = 0.0
    config.wayback.enabled = False
    config.verdict.probe_not_found = True
    sessions = open_database(config.database.url)
    with sessions.begin() as session:
        for url in six_sites:
            add_source(session, url)
    for _ in range(30):
        summary = asyncio.run(capture_pass(config, sessions, everything=True))
        assert summary.total == 6 and not summary.failures, summary.failures
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 180
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.error.is_not(None))) == 0


@pytest.mark.slow
def test_the_schedulers_due_checks_share_one_pool_and_never_crash(six_sites, tmp_path):
    """The same pages due every second, checked every second by `archiver schedule`: many small
    passes in one process, one extraction pool for all of them, then a clean stop."""
    import os
    import signal

    from sqlalchemy import func, select

    from archiver.db import open_database
    from archiver.models import Capture, Run
    from archiver.sources import add_source
    from tests.processes import archiver, write_config

    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    sessions = open_database(db_url)
    with sessions.begin() as session:
        for url in six_sites:
            add_source(session, url, interval_hours=1 / 3600)
    config = write_config(tmp_path / "config.toml", db_url, verdict={"probe_not_found": True},
                          schedule={"due_check_seconds": 1})
    proc = archiver(config, "schedule")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _runs(sessions) < 3 and proc.poll() is None:
        time.sleep(0.5)
    early = _extraction_processes(proc.pid)
    while time.monotonic() < deadline and _runs(sessions) < 10 and proc.poll() is None:
        time.sleep(0.5)
    late = _extraction_processes(proc.pid)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert _runs(sessions) >= 10
    assert early and early == late, "the passes share their extraction processes instead of starting new ones"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture).where(Capture.error.is_not(None))) == 0
        assert set(session.scalars(select(Run.status))) <= {"finished", "interrupted"}


def _runs(sessions) -> int:
    from sqlalchemy import func, select

    from archiver.models import Run

    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Run).where(Run.status == "finished")) or 0


def _extraction_processes(pid: int) -> set[int]:
    """The fork server and workers under `pid`: processes whose command line names the fork server."""
    return {child for child in descendants(pid) if b"forkserver" in _cmdline(child)}


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""
