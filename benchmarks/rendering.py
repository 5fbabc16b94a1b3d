"""Rendering benchmark: `archiver run --all` over pages whose text only appears once their script runs.

    python benchmarks/rendering.py --pages 60 [--concurrency 2] [--json results.json]

Serves N script pages (an empty shell whose article, English and Chinese, is written by
JavaScript, with a lazily loaded image and a tall body) on loopback from this process, tracks
them with `render = "always"` in a fresh SQLite archive, and measures two passes of the real
`archiver run --all` as a subprocess (benchmarks/measure.py: wall time, CPU of the whole process
tree, Chromium and its driver included, peak RSS and PSS):

1. every page new: rendered, extracted, judged and screenshotted (full page, PNG);
2. nothing changed: rendered and judged again, no screenshot (only new and changed captures get one).

It prints rendered pages per minute and the peak memory of each pass with `[browser]
concurrency` pages at once (default 2, the shipped setting).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.append(str(REPO))

import measure  # noqa: E402

PARAGRAPHS = (
    "Notice {i}: the city police bureau awarded the contract for the video command platform to Example Vision.",
    "The platform links {n} cameras on main roads, at stations and in residential compounds to one command room.",
    "第{i}号公告：市公安局视频监控指挥平台项目由示例视觉科技有限公司中标，接入摄像头{n}台。",
    "Objections may be filed with the procurement office within seven working days of this notice.",
)


def page(i: int) -> bytes:
    paragraphs = [p.format(i=i, n=1000 + i) for p in PARAGRAPHS] * 3
    script = json.dumps(paragraphs, ensure_ascii=False)
    return (f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Notice {i}</title></head><body>
<div id="app"></div><div style="height:2500px"></div><img loading="lazy" src="/pixel.png" alt="">
<script>var ps = {script}; var html = "<article><h1>Notice {i}</h1>";
ps.forEach(function (p) {{ html += "<p>" + p + "</p>"; }});
document.getElementById("app").innerHTML = html + "</article>";</script></body></html>""").encode()


PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def serve(pages: int) -> ThreadingHTTPServer:
    bodies = {f"/notice/{i}.html": page(i) for i in range(pages)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            body = PIXEL if self.path == "/pixel.png" else bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "image/png" if self.path == "/pixel.png" else "text/html; charset=utf-8")
            body = body or b"not found"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2, help="[browser] concurrency")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    measure.become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="archiver-render-bench-"))
    server = serve(args.pages)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        db = workdir / "archive.db"
        config = workdir / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[fetch]\nallow_private_addresses = true\n'
                          'per_host_delay = 0.0\nper_host_concurrency = 4\nrender = "always"\n'
                          f"[browser]\nconcurrency = {args.concurrency}\n[verdict]\nprobe_not_found = false\n"
                          "[wayback]\nenabled = false\n")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        command = [sys.executable, "-m", "archiver", "--config", str(config)]
        urls = workdir / "urls.csv"
        urls.write_text("url\n" + "".join(f"{base}/notice/{i}.html\n" for i in range(args.pages)))
        measure.run([*command, "import", str(urls)], env=env, cwd=str(workdir))
        results = {"pages": args.pages, "browser_concurrency": args.concurrency, "cpus": os.cpu_count(), "passes": []}
        for name in ("pass 1 (new: rendered + screenshot)", "pass 2 (unchanged: rendered, no screenshot)"):
            print(f"{name} ...", file=sys.stderr)
            m = measure.run([*command, "run", "--all", "--json", "--no-progress"], env=env, cwd=str(workdir))
            if m.returncode != 0:
                raise SystemExit(f"archiver run failed:\n{m.stderr[-3000:]}")
            summary = json.loads(m.stdout)
            with sqlite3.connect(db) as conn:
                rendered, shots = conn.execute(
                    "SELECT count(rendered_sha256), count(screenshot_sha256) FROM captures WHERE run_id = ?",
                    (summary["run_id"],)).fetchone()
            results["passes"].append({
                "pass": name, "counts": summary["counts"], "rendered": rendered, "screenshots": shots,
                "wall_seconds": round(m.wall, 1), "pages_per_minute": round(60 * args.pages / m.wall, 1),
                "cpu_seconds_per_page": round(m.cpu / args.pages, 3), "peak_rss_mb": round(m.peak_rss_mb),
                "peak_pss_mb": round(m.peak_pss_mb), "peak_processes": m.extra.get("peak_processes"),
                "load": m.extra.get("load_average", [0, 0])})
    finally:
        server.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{args.pages} script pages, [browser] concurrency {args.concurrency}, {os.cpu_count()} CPUs\n")
    print(f"{'pass':<46} {'counts':<18} rendered  shots  wall s  pages/min  CPU s/page  peak RSS MB  peak PSS MB  load")
    for p in results["passes"]:
        counts = ",".join(f"{v} {k}" for k, v in p["counts"].items())
        print(f"{p['pass']:<46} {counts:<18} {p['rendered']:>8}  {p['screenshots']:>5}  {p['wall_seconds']:>6}  "
              f"{p['pages_per_minute']:>9}  {p['cpu_seconds_per_page']:>10}  {p['peak_rss_mb']:>11}  "
              f"{p['peak_pss_mb']:>11}  {p['load'][0]}/{p['load'][1]}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
