"""The verdict's own cost per page, without fetching or storing: CPU milliseconds of `judge`.

Builds (or reuses) a synthetic web with synthweb, extracts each page as the pipeline does,
then times, in this one process:

- a first capture judged against its site's not-found page (when the site serves one with
  status 200), as in a first pass;
- a second capture of the same page, fetched again: identical bytes, or for "volatile"
  sites the same article with a new view counter and "most read" list, as in a second pass.

    python benchmarks/verdict.py [--pages 600] [--workdir DIR] [--profile]

Prints one JSON object: pages, how many had a soft-404 page to compare with, and CPU ms per
page for each case (best of --repeat rounds).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import hashlib
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archiver.extract import extract  # noqa: E402
from archiver.verdict import Snapshot, judge  # noqa: E402
from benchmarks import synthweb  # noqa: E402


def _body(web: synthweb.Web, host: synthweb.Host, path: str) -> tuple[int, str | None, bytes]:
    status, headers, body = web.answer(host, path, {})
    fields = dict(headers)
    if fields.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, fields.get("Content-Type"), body


def _snapshot(url: str, body: bytes, content_type: str | None) -> Snapshot:
    found = extract(body, content_type, url)
    text_sha = hashlib.sha256(found.text.encode()).hexdigest() if found.text else None
    return Snapshot(url, url, 200, [], found.text, found.full_text, hashlib.sha256(body).hexdigest(),
                    text_sha, None, None, found.kind, found.title)


def cases(folder: Path, pages: int) -> list[tuple[str | None, Snapshot, Snapshot]]:
    """(site's not-found text or None, first capture, second capture) for every page."""
    synthweb.build(folder, pages, quiet=True)
    web = synthweb.Web(folder, 0)
    not_found: dict[int, str | None] = {}
    out = []
    for (index, path), (_, old_address) in web.pages.items():
        if old_address:
            continue
        host = web.hosts[index]
        if index not in not_found:
            status, content_type, body = _body(web, host, "/no-such-page-for-the-benchmark.html")
            probe = extract(body, content_type, "http://x/") if status == 200 else None
            not_found[index] = (probe.full_text or probe.text) if probe else None
        url = f"http://{host.address}{path}"
        _, content_type, body = _body(web, host, path)
        _, _, again = _body(web, host, path)
        out.append((not_found[index], _snapshot(url, body, content_type), _snapshot(url, again, content_type)))
    return out


def first_pass(data) -> None:
    for probe, first, _ in data:
        judge(None, first, not_found_text=probe)


def second_pass(data) -> None:
    for probe, first, second in data:
        changed = first.text_sha256 != second.text_sha256
        judge(first, second, not_found_text=probe if changed else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--workdir", default=None, help="where the synthetic web is built (reused)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the first pass")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.gettempdir()) / f"verdict-web-{args.pages}"
    data = cases(workdir, args.pages)
    result = {"pages": len(data), "with_soft_404_page": sum(1 for probe, _, _ in data if probe)}
    for name, run in (("first_capture_ms", first_pass), ("second_capture_ms", second_pass)):
        best = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            run(data)
            best = min(best, time.process_time() - started)
        result[name] = round(best / len(data) * 1000, 3)
    print(json.dumps(result))
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(first_pass, data)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
