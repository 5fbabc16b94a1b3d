"""Server time of the web interface's main pages on a store (by default the one seed_store.py makes).

    python benchmarks/web.py /tmp/big.db [--repeat 5]

Each page is requested through the whole application (middleware, the session, templates) in
this process, without a network in between: the time is what the server spends on the page.
The best of --repeat runs is printed, after one warm-up request, as wall-clock time and as the
CPU time of this process (which a machine shared with other work does not inflate), with the
size of the page.
The seeded store's texts are random bytes, so the comparison of two captures is timed on the
store of --compare-store when given (any archive whose sources have two texts), else left out.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

from archiver.config import Config  # noqa: E402
from archiver.readdb import connect  # noqa: E402


def pages(path: str) -> list[tuple[str, str]]:
    """(label, address) of the pages to time, with ids taken from the store."""
    with connect(path) as db:
        [(source_id,)] = db.rows("SELECT id FROM sources WHERE capture_count > 1 ORDER BY id LIMIT 1")
        [(capture_id,)] = db.rows("SELECT max(id) FROM captures WHERE source_id = ? AND body_sha256 IS NOT NULL",
                                  [source_id])
        [(last_day,)] = db.rows("SELECT max(started_at) FROM captures")
        claims = db.rows("SELECT claim_id, count(*) FROM citations WHERE claim_id IS NOT NULL"
                         " GROUP BY claim_id ORDER BY count(*) DESC")
        [(tag,)] = db.rows("SELECT tags FROM claims WHERE tags IS NOT NULL AND tags != '[]' LIMIT 1") or [("[]",)]
    since = str(last_day)[:10]
    biggest, typical = claims[0], claims[len(claims) // 2]
    first_tag = __import__("json").loads(tag)[0] if tag != "[]" else "none"
    return [
        ("dashboard", "/"),
        (f"dashboard, changes since {since}", f"/?since={since}"),
        ("sources, first page", "/sources"),
        ("sources, state altered", "/sources?state=altered"),
        ("sources, sorted by last checked", "/sources?sort=checked&dir=desc"),
        ("sources, text 'ministry'", "/sources?q=ministry"),
        ("sources, language zh, sorted by title", "/sources?lang=zh&sort=title"),
        ("sources, site gov.cn", "/sources?site=gov.cn"),
        (f"sources, claim tag {first_tag}", f"/sources?tag={first_tag}"),
        ("sources, page 500", "/sources?page=500"),
        ("one source and its captures", f"/source/{source_id}"),
        ("a capture's provenance", f"/capture/{capture_id}"),
        ("claims, first page", "/claims"),
        ("claims, search", "/claims?q=cameras"),
        (f"claim report ({typical[1]} citations)", f"/claims/{typical[0]}"),
        (f"claim report ({biggest[1]} citations)", f"/claims/{biggest[0]}"),
    ]


def compare_pages(path: str) -> list[tuple[str, str]]:
    """The comparison of the newest two texts of the source with the longest text, on a real archive."""
    with connect(path) as db:
        rows = db.rows("SELECT source_id, max(text_length) FROM captures WHERE text_sha256 IS NOT NULL"
                       " GROUP BY source_id HAVING count(DISTINCT text_sha256) > 1 ORDER BY 2 DESC LIMIT 1")
    return [(f"compare two captures ({rows[0][1]:,} characters)", f"/source/{rows[0][0]}/compare")] if rows else []


def time_pages(path: str, wanted: list[tuple[str, str]], repeat: int) -> list[tuple[str, str, float, float, int]]:
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

    from archiver.web.app import create_app

    config = Config()
    config.database.url = f"sqlite:///{Path(path).resolve()}"
    found = []
    with TestClient(create_app(config), base_url="https://127.0.0.1") as http:
        for label, address in wanted:
            response = http.get(address)
            if response.status_code != 200:
                raise SystemExit(f"{address}: HTTP {response.status_code}")
            wall = cpu = float("inf")
            for _ in range(repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                http.get(address)
                wall, cpu = min(wall, time.perf_counter() - started), min(cpu, time.process_time() - started_cpu)
            found.append((label, address, wall * 1000, cpu * 1000, len(response.content)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="SQLite file of the archive (benchmarks/seed_store.py makes one)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare-store", help="a real archive to time the comparison of two captures on")
    args = parser.parse_args()
    results = time_pages(args.store, pages(args.store), args.repeat)
    if args.compare_store:
        results += time_pages(args.compare_store, compare_pages(args.compare_store), args.repeat)
    print(f"| page | address | wall ms (best of {args.repeat}) | CPU ms | KB |")
    print("|---|---|---:|---:|---:|")
    for label, address, wall, cpu, size in results:
        print(f"| {label} | `{address}` | {wall:.0f} | {cpu:.0f} | {size / 1024:.0f} |")


if __name__ == "__main__":
    main()
