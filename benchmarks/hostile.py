"""Hostile benchmark: one real `archiver run --all` over hostile pages and ordinary ones, and
what it cost in memory (all its processes together) and time.

The hostile pages are those of tests/hostile_server.py (compression bombs of every coding and
stacked, endless and huge bodies, a slow drip, redirect loops and chains, ten thousand headers
and a 1 MB header line, broken status lines, connections reset mid-body, lying charsets, 48 MB
on one line, 100,000 nested elements, damaged PDFs and a PDF bomb), served on loopback next to
`--normal` ordinary pages. The pass runs with the default limits (max_bytes 50 MB, the
[capture] extraction limits) except politeness, which loopback does not need.

    python benchmarks/hostile.py                 # ~1 minute on 2 cores
    python benchmarks/hostile.py --normal 200 --json hostile.json
    python benchmarks/hostile.py --each          # one pass per hostile page, alone: ~3 minutes

Prints, per hostile page, what the capture recorded, then the peak memory of the pass's
process tree (PSS and RSS, sampled every 0.1 s by benchmarks/measure.py), its wall and CPU
time, whether every ordinary page was captured, and `archiver verify`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO))  # before site-packages, where some packages install a "tests" of their own

import measure  # noqa: E402

from tests.hostile_server import HostileServer  # noqa: E402

PYTHON = sys.executable
# Paths of the hostile server that are not tracked as sources of their own: the later hops of a
# chain or loop. (Redirects to private addresses are tested in tests/test_hostile.py, where private
# addresses are refused; here, with loopback allowed for the server, they would connect.)
UNTRACKED = ("/loop/b",)


def hostile_paths(server: HostileServer) -> list[str]:
    """The hostile paths a pass tracks: every attack but the untracked ones, and the chain's start."""
    return [p for p in server.answers
            if not p.startswith(UNTRACKED) and not (p.startswith("/chain/") and p != "/chain/0")]


def write_config(path: Path, db_path: Path, total_timeout: float) -> Path:
    path.write_text(
        f'[database]\nurl = "sqlite:///{db_path}"\n'
        "[fetch]\nallow_private_addresses = true\nper_host_delay = 0.0\nper_host_concurrency = 16\n"
        f"total_timeout = {total_timeout}\n"
        "[wayback]\nenabled = false\n",
        encoding="utf-8")
    return path


def track(db_url: str, urls: list[str]) -> None:
    from archiver.db import open_database
    from archiver.sources import add_source

    sessions = open_database(db_url)
    with sessions.begin() as session:
        for url in urls:
            add_source(session, url)
    sessions.kw["bind"].dispose()


def latest_captures(db_path: Path) -> dict[str, dict]:
    """The last capture of every source, by URL."""
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT s.url, s.state, c.error_kind, c.error, c.body_size, c.text_length, c.verdict, c.status_code "
            "FROM sources s LEFT JOIN captures c ON c.id = s.last_capture_id").fetchall()
    return {row["url"]: dict(row) for row in rows}


def archiver(config: Path, *args: str) -> list[str]:
    return [PYTHON, "-m", "archiver", "--config", str(config), *args]


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(REPO)]))
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--normal", type=int, default=200, help="ordinary pages next to the hostile ones")
    parser.add_argument("--total-timeout", type=float, default=30.0,
                        help="[fetch] total_timeout: how long the one-byte-a-second page is read")
    parser.add_argument("--workdir", help="folder for the archive (default: temporary)")
    parser.add_argument("--each", action="store_true",
                        help="also run one pass per hostile page, alone, and print its peak memory")
    parser.add_argument("--json", dest="json_path", help="also write the results as JSON to this file")
    args = parser.parse_args()

    measure.become_subreaper()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="archiver-hostile-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "archive.db"
    config = write_config(workdir / "config.toml", db_path, args.total_timeout)
    server = HostileServer().start()
    try:
        hostile = [server.url(p) for p in hostile_paths(server)]
        normal = [server.url(f"/normal/{n}") for n in range(args.normal)]
        track(f"sqlite:///{db_path}", hostile + normal)
        print(f"{len(hostile)} hostile and {len(normal)} ordinary pages on {server.base}; archive in {workdir}")
        run = measure.run(archiver(config, "run", "--all", "--json", "--no-progress"), env=environment(),
                          cwd=str(workdir))
        verify = measure.run(archiver(config, "verify"), env=environment(), cwd=str(workdir))
    finally:
        server.stop()
    if run.returncode != 0:
        raise SystemExit(f"archiver run failed ({run.returncode}):\n{run.stderr[-3000:]}")
    captures = latest_captures(db_path)
    print(f"\n{'page':<24} {'state':<12} {'error kind':<19} {'body':>10} {'text':>8}  recorded")
    for url in hostile:
        c = captures[url]
        body = f"{c['body_size'] / 1024 / 1024:.1f} MB" if c["body_size"] else "-"
        print(f"{url[len(server.base):]:<24} {c['state']:<12} {c['error_kind'] or '-':<19} {body:>10} "
              f"{c['text_length'] or 0:>8}  {(c['error'] or '')[:110]}")
    missed = [url for url in normal if captures[url]["state"] != "new"]
    results = {
        "hostile_pages": len(hostile), "normal_pages": len(normal),
        "normal_not_captured": len(missed),
        "wall_s": round(run.wall, 1), "cpu_s": round(run.cpu, 1),
        "peak_pss_mb": round(run.peak_pss_mb, 1), "peak_rss_mb": round(run.peak_rss_mb, 1),
        "largest_process_rss_mb": round(run.largest_process_rss_mb, 1),
        **run.extra,
        "verify_returncode": verify.returncode,
        "captures": {url[len(server.base):]: captures[url] for url in hostile},
    }
    print(f"\npass: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU (all processes), load {run.extra['load_average']}")
    print(f"peak memory of the pass's processes together: PSS {run.peak_pss_mb:.0f} MB, RSS {run.peak_rss_mb:.0f} MB "
          f"(largest single process RSS {run.largest_process_rss_mb:.0f} MB; main process PSS "
          f"{run.extra['main_peak_pss_mb']:.0f} MB, others {run.extra['other_processes_peak_pss_mb']})")
    print(f"ordinary pages captured: {len(normal) - len(missed)} of {len(normal)}"
          + (f"; missed: {missed[:5]}" if missed else ""))
    print(f"archiver verify: exit {verify.returncode} {verify.stdout.strip().splitlines()[-1:] if verify.stdout else ''}")
    if args.each:
        results["each"] = each_alone(workdir, args.total_timeout)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def each_alone(workdir: Path, total_timeout: float) -> dict[str, dict]:
    """One pass per hostile page, alone in its archive: the peak memory that page costs."""
    server = HostileServer().start()
    found = {}
    print(f"\n{'page alone':<24} {'peak PSS':>9} {'peak RSS':>9} {'wall':>7}  error kind")
    try:
        for path in hostile_paths(server):
            folder = workdir / "each" / path.strip("/").replace("/", "-")
            folder.mkdir(parents=True, exist_ok=True)
            config = write_config(folder / "config.toml", folder / "archive.db", total_timeout)
            track(f"sqlite:///{folder / 'archive.db'}", [server.url(path)])
            run = measure.run(archiver(config, "run", "--all", "--no-progress"), env=environment(), cwd=str(folder))
            capture = latest_captures(folder / "archive.db")[server.url(path)]
            found[path] = {"peak_pss_mb": round(run.peak_pss_mb, 1), "peak_rss_mb": round(run.peak_rss_mb, 1),
                           "wall_s": round(run.wall, 1), "returncode": run.returncode,
                           "error_kind": capture["error_kind"]}
            print(f"{path:<24} {run.peak_pss_mb:>6.0f} MB {run.peak_rss_mb:>6.0f} MB {run.wall:>6.1f}s  "
                  f"{capture['error_kind'] or '-'}")
    finally:
        server.stop()
    return found


if __name__ == "__main__":
    main()
