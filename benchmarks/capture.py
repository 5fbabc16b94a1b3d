"""Capture benchmark: the real `archiver run --all` on a synthetic web, against the machine's floor.

    python benchmarks/capture.py --pages 5000 [--json results.json]

1. builds (or reuses) a synthetic web of N pages (benchmarks/synthweb.py) and serves it from
   a separate process on many loopback addresses;
2. measures the HTTP side alone (fetch + SHA-256, no extraction), to show the server is
   not the bottleneck, and the floor (fetch + SHA-256 + extraction on every core, nothing
   stored: benchmarks/floor.py);
3. tracks the N pages in a fresh SQLite archive and runs `archiver run --all` twice as a
   subprocess, with a temporary config (loopback allowed, Wayback off, per-host delay small):
   a first pass, then a second pass after ~5% of the pages changed and ~1% were deleted (both
   without screenshots: they measure the plain pipeline); with --nightly, a third pass with nothing
   changed under the shipped browser settings, which says whether it started a browser (it must
   not: only new and changed captures are screenshotted, only script shells rendered);
4. prints, for each: pages/s, CPU seconds per page (user+sys of the process and all its
   descendants, extraction workers included), peak memory of the process tree, database and
   blob bytes per page, the ratio to the floor; then what the second pass did (304s,
   extractions skipped, new bodies) and whether its verdicts match the changes made.

Wall-clock rates depend on what else the machine runs (each row shows the load average
before and after it). "CPU-bound pages/s" does not: it is the rate the measured CPU time
allows on an idle machine, pages / max(CPU of the main process, CPU of all processes /
cores): the main process runs on one core at most, the rest is spread over all of them.

Everything goes in --workdir (default: a temporary folder, removed unless --keep); a web
built there is reused by later runs with the same settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.append(str(REPO))

import measure  # noqa: E402
import synthweb  # noqa: E402

PYTHON = sys.executable
_CPUS = os.cpu_count() or 1


def _config_toml(db_path: Path, args, screenshots: bool = False) -> str:
    """Settings of the measured passes: passes 1 and 2 measure the plain pipeline, without the
    screenshots of new and changed pages; the nightly pass (--nightly) runs with the shipped
    browser settings (screenshots on, render "auto")."""
    return f"""
[browser]
screenshots = {"true" if screenshots else "false"}

[database]
url = "sqlite:///{db_path}"

[fetch]
allow_private_addresses = true
per_host_delay = {args.per_host_delay}
concurrency = {args.concurrency}
timeout = 30.0

[capture]
extract_workers = {args.workers}

[wayback]
enabled = false
"""


def _start_server(web_dir: Path, workdir: Path) -> tuple[subprocess.Popen, int]:
    ready = workdir / "server.ready"
    ready.unlink(missing_ok=True)
    log = open(workdir / "server.log", "w")
    server = subprocess.Popen([PYTHON, str(HERE / "synthweb.py"), "serve", str(web_dir), "--ready", str(ready)],
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the synthetic web server did not start; see {workdir / 'server.log'}")
        time.sleep(0.05)
    time.sleep(0.05)
    return server, json.loads(ready.read_text())["port"]


def _control(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://{synthweb.CONTROL_ADDRESS}:{port}/__bench/{path}", timeout=10) as response:
        return json.loads(response.read())


def _warm_cache(web_dir: Path) -> None:
    """Read every body once so that no measurement pays for cold disk reads."""
    for entry in os.scandir(web_dir / "bodies"):
        with open(entry.path, "rb") as handle:
            while handle.read(1 << 20):
                pass


def _track(db_url: str, urls: list[str]) -> float:
    """Add every URL as a source with the archiver's own add_source, in one transaction."""
    from archiver.db import open_database
    from archiver.sources import add_source

    started = time.monotonic()
    sessions = open_database(db_url)
    with sessions.begin() as session:
        for url in urls:
            add_source(session, url)
    sessions.kw["bind"].dispose()
    return time.monotonic() - started


def _store_stats(db_path: Path) -> dict:
    """Sizes of the archive: files on disk, bytes per table, blob bytes."""
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        blob_count, blob_bytes, blob_raw = db.execute(
            "SELECT count(*), coalesce(sum(length(data)), 0), coalesce(sum(size), 0) FROM blobs").fetchone()
        captures = db.execute("SELECT count(*) FROM captures").fetchone()[0]
        try:
            tables = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        except sqlite3.DatabaseError:
            tables = {}
    return {"file_bytes": (pages - free) * page_size, "blob_count": blob_count, "blob_bytes": blob_bytes,
            "blob_raw_bytes": blob_raw, "captures": captures, "tables": tables}


def _second_pass_details(db_path: Path, run_id: int, fates: dict[str, tuple[str, bool]]) -> dict:
    """What the second pass did per page, against what the synthetic web changed."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            """SELECT c.requested_url, c.verdict, c.not_modified, c.body_sha256, p.body_sha256,
                      c.body_sha256 IS NOT NULL AND NOT EXISTS (
                          SELECT 1 FROM captures o WHERE o.body_sha256 = c.body_sha256 AND o.id < c.id)
               FROM captures c LEFT JOIN captures p ON p.id = c.compared_to_id
               WHERE c.run_id = ?""", (run_id,)).fetchall()
    verdicts: dict[str, Counter] = {"same": Counter(), "changed": Counter(), "deleted": Counter()}
    conditional = same_body = new_bodies = new_bodies_static_same = 0
    for url, verdict, not_modified, body, previous_body, new_body in rows:
        fate, volatile = fates.get(url, ("same", False))
        verdicts[fate][verdict or "failed"] += 1
        conditional += bool(not_modified)
        same_body += bool(not not_modified and body and body == previous_body)
        new_bodies += bool(new_body)
        new_bodies_static_same += bool(new_body and fate == "same" and not volatile)
    return {"captures": len(rows), "answered_304": conditional, "same_body_extraction_skipped": same_body,
            "extraction_skipped": conditional + same_body, "new_bodies": new_bodies,
            "new_bodies_of_static_unchanged_pages": new_bodies_static_same,
            "verdicts_by_fate": {fate: dict(counter) for fate, counter in verdicts.items()}}


def _row(name: str, m: measure.Measured, pages: int, floor_rate: float | None, store: dict | None = None,
         floor_bound: float | None = None) -> dict:
    rate = pages / m.wall if m.wall else 0.0
    row = {"name": name, "load_average": m.extra.get("load_average"), "pages": pages, "wall_seconds": round(m.wall, 2),
           "pages_per_second": round(rate, 1),
           "cpu_seconds_per_page": round(m.cpu / pages, 4), "cpu_user": round(m.user, 1), "cpu_system": round(m.system, 1),
           "main_cpu_seconds_per_page": round(m.main_cpu / pages, 4),
           "cpu_bound_pages_per_second": round(pages / max(m.main_cpu, m.cpu / _CPUS), 1),
           "peak_rss_mb": round(m.peak_rss_mb, 1), "peak_pss_mb": round(m.peak_pss_mb, 1),
           "largest_process_rss_mb": round(m.largest_process_rss_mb, 1), "peak_processes": m.extra.get("peak_processes"),
           "main_peak_pss_mb": m.extra.get("main_peak_pss_mb"),
           "other_processes_peak_pss_mb": m.extra.get("other_processes_peak_pss_mb"),
           "vs_floor": round(rate / floor_rate, 2) if floor_rate else None}
    if floor_bound:
        row["vs_floor_cpu_bound"] = round(row["cpu_bound_pages_per_second"] / floor_bound, 2)
    if store is not None:
        row["db_bytes_per_page"] = round(store["file_bytes"] / pages)
        row["blob_bytes_per_page"] = round(store["blob_bytes"] / pages)
    return row


def _table(rows: list[dict]) -> str:
    headers = ["", "wall s", "pages/s", "vs floor", "CPU s/page", "main CPU s/page", "CPU-bound pages/s",
               "peak RSS MB", "peak PSS MB", "DB B/page", "blob B/page", "load"]
    keys = ["name", "wall_seconds", "pages_per_second", "vs_floor", "cpu_seconds_per_page", "main_cpu_seconds_per_page",
            "cpu_bound_pages_per_second", "peak_rss_mb", "peak_pss_mb", "db_bytes_per_page", "blob_bytes_per_page",
            "load_average"]

    def cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, list):
            return "/".join(f"{v:.1f}" for v in value)
        return f"{value:,}" if isinstance(value, int) else str(value)

    cells = [[cell(row.get(k)) for k in keys] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(c) for c in cells])


def _archiver(config: Path, *args: str) -> list[str]:
    return [PYTHON, "-m", "archiver", "--config", str(config), *args]


def _environment() -> dict:
    """The environment of the measured commands: this checkout importable (after any PYTHONPATH given)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(REPO)]))
    return env


def _run_pass(config: Path, keep: set[int]) -> tuple[measure.Measured, dict]:
    m = measure.run(_archiver(config, "run", "--all", "--json", "--no-progress"), keep=keep, env=_environment(),
                    cwd=str(config.parent))
    if m.returncode != 0:
        raise SystemExit(f"archiver run failed ({m.returncode}):\n{m.stderr[-3000:]}")
    return m, json.loads(m.stdout)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--hosts", type=int, help="number of sites (default: pages/20, at most 1000)")
    parser.add_argument("--volatile", type=float, default=0.1,
                        help="share of sites whose bytes change on every request (view counters)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (pipeline and floor)")
    parser.add_argument("--workers", type=int, default=0, help="extraction processes (0: one per core)")
    parser.add_argument("--per-host-delay", type=float, default=0.02)
    parser.add_argument("--workdir", help="folder for the web, the archive and logs (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep a temporary workdir")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--floor-check", type=float, default=0.1,
                        help="share of the pages whose floor is measured again just before and just after pass 1, "
                             "to show how much the machine's speed moved meanwhile (0: not done)")
    parser.add_argument("--json", dest="json_path", help="also write the results as JSON to this file")
    parser.add_argument("--nightly", action="store_true",
                        help="a third pass with nothing changed since pass 2, under the shipped browser settings "
                             "(screenshots on, render auto): what a nightly pass costs, and whether it starts a browser")
    return parser.parse_args()


class _Benchmark:
    """One run of the benchmark over a built synthetic web served on `port`; each stage a method,
    each adding its rows and figures to `results` (written to --json as it goes)."""

    def __init__(self, args: argparse.Namespace, workdir: Path, manifest: dict, port: int, keep: set[int],
                 hosts: int, workers: int) -> None:
        self.args, self.workdir, self.manifest, self.port, self.keep = args, workdir, manifest, port, keep
        self.results: dict = {"pages": args.pages, "hosts": hosts, "cpus": _CPUS,
                              "extract_workers": workers, "concurrency": args.concurrency,
                              "per_host_delay": args.per_host_delay, "volatile_share": args.volatile,
                              "python": sys.version.split()[0], "rows": []}
        self.rows: list[dict] = self.results["rows"]
        self.floor_rate: float | None = None
        self.floor_bound: float | None = None
        self.urls, self.fates = self._urls()
        url_file = workdir / "urls.txt"
        url_file.write_text("\n".join(self.urls) + "\n", encoding="utf-8")
        self.floor_cmd = [PYTHON, str(HERE / "floor.py"), str(url_file), "--concurrency", str(args.concurrency),
                          "--workers", str(workers)]
        self.check_pages = 0
        self.db_path = workdir / "archive.db"
        self.config = workdir / "config.toml"

    def _urls(self) -> tuple[list[str], dict[str, tuple[str, bool]]]:
        from archiver.urls import normalise_url

        host_by_index = {h["index"]: h for h in self.manifest["hosts"]}
        urls, fates = [], {}
        for page in self.manifest["pages"]:
            host = host_by_index[page["host"]]
            url = normalise_url(f"http://{host['address']}:{self.port}{page['tracked_path']}")
            urls.append(url)
            fates[url] = (page["fate"], host["volatile"])
        return urls, fates

    def save(self) -> None:
        """Write what is measured so far: a long run stopped midway still leaves its figures."""
        if self.args.json_path:
            Path(self.args.json_path).write_text(json.dumps(self.results, indent=2))

    def measure(self, cmd: list[str]) -> measure.Measured:
        return measure.run(cmd, keep=self.keep, env=_environment(), cwd=str(self.workdir))

    def fetch_only(self) -> None:
        """The HTTP side alone, to show the server is not the bottleneck."""
        server_before = _control(self.port, "stats")
        print("fetch only (server check) ...", file=sys.stderr)
        m = self.measure(self.floor_cmd + ["--fetch-only"])
        fetch_only = json.loads(m.stdout)
        server_after = _control(self.port, "stats")
        self.rows.append(_row("fetch + SHA-256 only", m, self.args.pages, None))
        server = self.results["server"] = {
            "requests": server_after["requests"] - server_before["requests"],
            "cpu_seconds": round(server_after["cpu_seconds"] - server_before["cpu_seconds"], 2),
            "statuses": fetch_only["statuses"]}
        server["cpu_ms_per_request"] = round(1000 * server["cpu_seconds"] / max(1, server["requests"]), 3)

    def floor(self) -> None:
        """Fetch + SHA-256 + extraction on every core, nothing stored."""
        print("floor: fetch + SHA-256 + extract (archiver.extract.extract), nothing stored ...", file=sys.stderr)
        m = self.measure(self.floor_cmd)
        self.floor_rate = self.args.pages / m.wall
        self.rows.append(_row("floor", m, self.args.pages, self.floor_rate))
        self.floor_bound = self.rows[-1]["cpu_bound_pages_per_second"]
        self.results["floor"] = json.loads(m.stdout)
        self.save()

    def track(self) -> dict:
        """A fresh archive tracking every page; returns its store figures."""
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        self.config.write_text(_config_toml(self.db_path, self.args))
        print(f"tracking {len(self.urls)} sources ...", file=sys.stderr)
        self.results["track_seconds"] = round(_track(f"sqlite:///{self.db_path}", self.urls), 1)
        return _store_stats(self.db_path)

    def check_command(self) -> list[str] | None:
        """The floor measured on a share of the pages (--floor-check), or None when not done."""
        args = self.args
        check_urls = self.urls[::max(1, round(1 / args.floor_check))] if args.floor_check > 0 and not args.skip_floor else []
        check_file = self.workdir / "urls-check.txt"
        check_file.write_text("\n".join(check_urls) + "\n", encoding="utf-8")
        self.check_pages = len(check_urls)
        if not check_urls:
            return None
        return [PYTHON, str(HERE / "floor.py"), str(check_file), "--concurrency", str(args.concurrency),
                "--workers", self.floor_cmd[-1]]

    def floor_check(self, check_cmd: list[str], when: str) -> None:
        print(f"floor check {when} pass 1 ({self.check_pages} pages) ...", file=sys.stderr)
        self.rows.append(_row(f"floor check {when} pass 1", self.measure(check_cmd), self.check_pages, None))

    def passes(self, empty: dict) -> None:
        """`archiver run --all` twice: on the fresh archive, then after ~5% changed and ~1% were deleted."""
        check_cmd = self.check_command()
        if check_cmd:
            self.floor_check(check_cmd, "before")
        print("pass 1 (archiver run --all) ...", file=sys.stderr)
        pass1_row, after1, summary1 = self.one_pass("pass 1", empty)
        self.results["pass1"] = {"summary": {k: v for k, v in summary1.items() if k != "failures"},
                                 "failures": len(summary1["failures"]), "store": after1}
        if check_cmd:
            self.floor_check(check_cmd, "after")
            before, after = self.rows[-3], self.rows[-1]  # the checks on either side of pass 1
            self.results["floor_check"] = {
                "pages": self.check_pages,
                "cpu_ms_per_page_before": round(before["cpu_seconds_per_page"] * 1000, 2),
                "cpu_ms_per_page_after": round(after["cpu_seconds_per_page"] * 1000, 2),
                "pages_per_second_before": before["pages_per_second"],
                "pages_per_second_after": after["pages_per_second"],
            }
        self.save()
        server_stats = _control(self.port, "phase/2")
        print("pass 2 (after ~5% changed, ~1% deleted) ...", file=sys.stderr)
        pass2_row, after2, summary2 = self.one_pass("pass 2", after1)
        self.results["pass2"] = {
            "summary": {k: v for k, v in summary2.items() if k != "failures"},
            "failures": len(summary2["failures"]), "store": after2,
            "details": _second_pass_details(self.db_path, summary2["run_id"], self.fates),
            "speedup_over_pass1": round(pass1_row["wall_seconds"] / pass2_row["wall_seconds"], 2),
            "cpu_bound_speedup": round(pass2_row["cpu_bound_pages_per_second"]
                                       / pass1_row["cpu_bound_pages_per_second"], 2)}
        self.results["server_total"] = _control(self.port, "stats") | {"phase_switch": server_stats}
        if self.args.nightly:
            self.nightly(after2)

    def nightly(self, before: dict) -> None:
        """Pass 3: nothing changed since pass 2, screenshots on: no page needs a browser, none may start."""
        self.config.write_text(_config_toml(self.db_path, self.args, screenshots=True))
        print("pass 3 (nightly: nothing changed since pass 2, shipped browser settings) ...", file=sys.stderr)
        m, summary = _run_pass(self.config, self.keep)
        after = _store_stats(self.db_path)
        store = {"file_bytes": after["file_bytes"] - before["file_bytes"],
                 "blob_bytes": after["blob_bytes"] - before["blob_bytes"]}
        self.rows.append(_row("pass 3 (nightly)", m, self.args.pages, self.floor_rate, store, self.floor_bound))
        names = m.extra.get("process_names", [])
        self.results["pass3"] = {"summary": {k: v for k, v in summary.items() if k != "failures"},
                                 "process_names": names,
                                 "browser_started": any(n.startswith(("chrom", "headless", "node")) for n in names)}

    def one_pass(self, name: str, before: dict) -> tuple[dict, dict, dict]:
        """One `archiver run --all`: its row, the store after it, its summary."""
        m, summary = _run_pass(self.config, self.keep)
        after = _store_stats(self.db_path)
        store = {"file_bytes": after["file_bytes"] - before["file_bytes"],
                 "blob_bytes": after["blob_bytes"] - before["blob_bytes"]}
        row = _row(name, m, self.args.pages, self.floor_rate, store, self.floor_bound)
        self.rows.append(row)
        return row, after, summary

    def report(self) -> None:
        """The figures, for a person."""
        args, results, manifest = self.args, self.results, self.manifest
        print()
        print(f"N={args.pages} pages on {results['hosts']} hosts ({args.volatile:.0%} volatile), {_CPUS} CPUs, "
              f"{results['extract_workers']} extraction workers, concurrency {args.concurrency}, "
              f"per-host delay {args.per_host_delay} s")
        print(f"web: {manifest['bytes'] / args.pages / 1000:.0f} KB/page on average, "
              f"{sum(1 for p in manifest['pages'] if p['kind'] == 'pdf')} PDFs; server CPU "
              f"{results['server']['cpu_ms_per_request']} ms/request")
        print()
        print(_table(results["rows"]))
        if "pass2" in results:
            self.report_passes()
        self.save()

    def report_passes(self) -> None:
        results = self.results
        d = results["pass2"]["details"]
        fates_count = Counter(p["fate"] for p in self.manifest["pages"])
        pass1_row, pass2_row = (next(r for r in self.rows if r["name"] == name) for name in ("pass 1", "pass 2"))
        print()
        print(f"pass 1: {results['pass1']['summary']['counts']}")
        print(f"pass 2: {results['pass2']['summary']['counts']}; speed-up over pass 1: "
              f"{results['pass2']['speedup_over_pass1']}x (CPU-bound: {results['pass2']['cpu_bound_speedup']}x)")
        if self.floor_bound:
            print(f"CPU-bound pages/s against the floor's: pass 1 {pass1_row['vs_floor_cpu_bound']}, "
                  f"pass 2 {pass2_row['vs_floor_cpu_bound']}")
        check = results.get("floor_check")
        if check:
            print(f"floor check on {check['pages']} pages, just before and just after pass 1: "
                  f"{check['cpu_ms_per_page_before']} and {check['cpu_ms_per_page_after']} ms of CPU per page, "
                  f"{check['pages_per_second_before']} and {check['pages_per_second_after']} pages/s "
                  f"(how much the machine's speed moved while pass 1 ran)")
        print(f"pass 2: {d['answered_304']} answered 304, {d['same_body_extraction_skipped']} same body "
              f"(extraction skipped), {d['new_bodies']} new bodies "
              f"({d['new_bodies_of_static_unchanged_pages']} of them from unchanged non-volatile pages)")
        print(f"changes made: {fates_count['changed']} changed, {fates_count['deleted']} deleted; "
              f"verdicts by what was done: {d['verdicts_by_fate']}")
        if "pass3" in results:
            p3 = results["pass3"]
            print(f"pass 3 (nightly, nothing changed): {p3['summary']['counts']}; browser started: "
                  f"{'yes' if p3['browser_started'] else 'no'} (processes seen: {', '.join(p3['process_names'])})")


def main() -> None:
    args = _arguments()
    measure.become_subreaper()
    temporary = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="archiver-bench-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    hosts = args.hosts or synthweb.default_hosts(args.pages)
    web_dir = workdir / f"web-{args.pages}-{hosts}-{args.volatile}-{args.seed}"
    print(f"synthetic web: {args.pages} pages on {hosts} hosts in {web_dir}", file=sys.stderr)
    started = time.monotonic()
    manifest = synthweb.build(web_dir, args.pages, hosts, args.volatile, args.seed)
    print(f"  ready in {time.monotonic() - started:.0f} s ({manifest['bytes'] / 1e6:.0f} MB)", file=sys.stderr)
    _warm_cache(web_dir)

    server, port = _start_server(web_dir, workdir)
    try:
        bench = _Benchmark(args, workdir, manifest, port, {server.pid}, hosts, args.workers or _CPUS)
        bench.fetch_only()
        if not args.skip_floor:
            bench.floor()
        bench.passes(bench.track())
    finally:
        server.terminate()
        server.wait()
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    bench.report()


if __name__ == "__main__":
    main()
