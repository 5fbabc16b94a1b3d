"""What a small pass costs: extraction in worker processes (what the archiver does) against
extraction in one thread of the pass's own process (the alternative weighed for issue #19).

    python benchmarks/small_passes.py [--sizes 1 5 20] [--repeat 3]

For each size N and each way, a fresh SQLite archive tracks N pages of a synthetic web
(benchmarks/synthweb.py, served from a separate process) and one pass captures them, in a
child process measured with benchmarks/measure.py (wall-clock seconds, CPU seconds of the
whole process tree, peak PSS). "warm" is the scheduler's case: the pool already runs because
an earlier pass of the same process started it, and only the second pass is timed.
Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import copy
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))

import measure  # noqa: E402
import synthweb  # noqa: E402
from capture import _start_server, _track  # noqa: E402

MODES = ("process", "thread", "process-warm")


class OneThread:
    """Extraction in one thread of the pass's own process: the ExtractionPool interface."""

    started = True

    def __init__(self) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    async def call(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait)


def child(mode: str, db_url: str, warm_url: str | None) -> None:
    """One pass over every due source, with the extraction `mode`; prints its timings as JSON."""
    from archiver.capture import capture_pass
    from archiver.config import Config
    from archiver.db import open_database
    from archiver.pool import ExtractionPool

    config = Config()
    config.database.url = db_url
    config.fetch.allow_private_addresses = True
    config.fetch.per_host_delay = 0.0
    config.wayback.enabled = False
    sessions = open_database(db_url)

    async def go() -> float:
        pool = OneThread() if mode == "thread" else ExtractionPool(os.cpu_count() or 1)
        try:
            if warm_url:
                warm = copy.deepcopy(config)
                warm.database.url = warm_url
                await capture_pass(warm, open_database(warm_url), pool=pool)
            started = time.monotonic()
            await capture_pass(config, sessions, pool=pool)
            return time.monotonic() - started
        finally:
            pool.shutdown()

    print(json.dumps({"pass_seconds": asyncio.run(go())}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DB", "WARM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, db_url, warm = args.child
        child(mode, db_url, None if warm == "-" else warm)
        return
    workdir = Path(tempfile.mkdtemp(prefix="small-passes-"))
    pages = max(args.sizes) * 2
    manifest = synthweb.build(workdir / "web", pages, hosts=max(10, pages // 4), quiet=True)
    server, port = _start_server(workdir / "web", workdir)
    try:
        hosts = manifest["hosts"]
        html = [p for p in manifest["pages"] if p["kind"] == "html"]
        urls = [f"http://{hosts[p['host']]['address']}:{port}{p['path']}" for p in html]
        rows = []
        for size in args.sizes:
            for mode in MODES:
                walls, cpus, passes, pss = [], [], [], []
                for attempt in range(args.repeat):
                    db = workdir / f"{mode}-{size}-{attempt}.db"
                    _track(f"sqlite:///{db}", urls[:size])
                    warm = "-"
                    if mode == "process-warm":
                        warm_db = workdir / f"warm-{size}-{attempt}.db"
                        _track(f"sqlite:///{warm_db}", urls[size:size + 2])
                        warm = f"sqlite:///{warm_db}"
                    m = measure.run([sys.executable, __file__, "--child", mode, f"sqlite:///{db}", warm])
                    if m.returncode != 0:
                        raise SystemExit(m.stderr)
                    walls.append(m.wall)
                    cpus.append(m.user + m.system)
                    passes.append(json.loads(m.stdout.strip().splitlines()[-1])["pass_seconds"])
                    pss.append(m.peak_pss_mb)
                rows.append({"sources": size, "mode": mode, "process_seconds": round(statistics.median(walls), 2),
                             "pass_seconds": round(statistics.median(passes), 2),
                             "cpu_seconds": round(statistics.median(cpus), 2),
                             "peak_pss_mb": round(statistics.median(pss))})
        print(f"{'sources':>7} {'mode':<13} {'process s':>9} {'pass s':>7} {'CPU s':>6} {'peak PSS MB':>11}")
        for r in rows:
            print(f"{r['sources']:>7} {r['mode']:<13} {r['process_seconds']:>9} {r['pass_seconds']:>7} "
                  f"{r['cpu_seconds']:>6} {r['peak_pss_mb']:>11}")
        print(json.dumps(rows))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
