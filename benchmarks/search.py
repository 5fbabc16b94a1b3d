"""Search benchmark: index a seeded store's texts, then time `search_captures` on it.

    python benchmarks/seed_store.py /tmp/big.db --texts     # 50,000 sources, 1,000,000 captures
    python benchmarks/search.py /tmp/big.db [--repeat 5] [--json results.json]
    python benchmarks/search.py /tmp/big.db --postgres postgresql://postgres@127.0.0.1/search_bench

With --postgres (an empty database), the store's runs, sources, blobs and captures are copied
there first (through the migrations' schema), and everything below runs on PostgreSQL.

1. when the store's texts are not indexed yet (a store seeded with --texts is left as one
   made before search existed), runs the backfill of `archiver search --reindex` and prints
   how long it took and how many texts a second it indexed;
2. times the first page (50 hits) of a set of queries, from a very rare name to words in
   every text, Chinese and English, phrases, prefixes, OR, one source, a later page: best and
   median wall-clock time of --repeat runs after a warm-up, and the median CPU time of this
   process (SQLite runs in it: the figure to read on a busy machine), with how many hits a
   full listing has (search.count_hits: one per source and text).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO))

from sqlalchemy import text  # noqa: E402

from archiver.db import open_database  # noqa: E402
from archiver.search import count_hits, search_captures, unindexed_upto  # noqa: E402
from archiver.textindex import reindex  # noqa: E402

QUERIES = [
    ("very rare name, Chinese", "大华股份", {}),
    ("very rare name, English", '"Dahua Technology"', {}),
    ("rare name, Chinese (0.5% of sources)", "海康威视", {}),
    ("rare name, English (0.5% of sources)", "Hikvision", {}),
    ("rare name, a part of it", "威视", {}),
    ("common Chinese word", "视频监控", {}),
    ("common English word", "surveillance", {}),
    ("English phrase", '"smart city"', {}),
    ("two names, OR", "海康威视 OR Hikvision", {}),
    ("name and common word", "海康威视 视频监控", {}),
    ("one Chinese character", "监", {}),
    ("English prefix", "surv*", {}),
    ("no match", "zzzzqqq", {}),
    ("common word, one source", "视频监控", {"source_id": 2}),
    ("common word, page 11", "视频监控", {"offset": 500}),
]


COPIED = ("runs", "blobs", "sources", "captures")


def copy_to_postgres(store_url: str, pg_url: str) -> None:
    """Copy what search reads from the seeded SQLite store into an empty PostgreSQL database
    made by the migrations, and leave its texts to index as in the SQLite store."""
    from sqlalchemy import MetaData, insert, select

    source = open_database(store_url).kw["bind"]
    target = open_database(pg_url).kw["bind"]
    meta = MetaData()
    meta.reflect(target, only=list(COPIED))
    started = time.monotonic()
    with source.connect() as reading, target.begin() as writing:
        for name in COPIED:
            table = meta.tables[name]
            rows = reading.execute(select(table)).mappings()
            batch = []
            for row in rows:
                batch.append(dict(row))
                if len(batch) >= 5_000:
                    writing.execute(insert(table), batch)
                    batch.clear()
            if batch:
                writing.execute(insert(table), batch)
            print(f"  copied {name} ({time.monotonic() - started:.0f} s)")
        writing.execute(text("UPDATE search_backfill SET capture_id_upto = (SELECT MAX(id) FROM captures), "
                             "done_upto = 0"))
        writing.execute(text("SELECT setval('captures_id_seq', (SELECT MAX(id) FROM captures))"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="SQLite file (benchmarks/seed_store.py --texts) or a database URL")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", dest="json_path", help="write every figure to this file")
    parser.add_argument("--postgres", help="copy the store to this empty PostgreSQL database and run there")
    args = parser.parse_args()
    url = args.store if "://" in args.store else f"sqlite:///{Path(args.store).resolve()}"
    if args.postgres:
        copy_to_postgres(url, args.postgres)
        url = args.postgres
    sessions = open_database(url)
    figures: dict = {"store": args.store, "database": url.split(":")[0], "queries": []}
    with sessions() as session:
        pending = unindexed_upto(session)
    if pending is not None:
        started = time.monotonic()
        done = reindex(sessions, progress=lambda d, last: print(f"  indexed {d.texts_added:,} texts "
                                                                 f"(captures up to #{last:,})", end="\r"))
        seconds = time.monotonic() - started
        figures["reindex"] = {"texts": done.texts_added, "seconds": round(seconds, 1),
                              "texts_per_second": round(done.texts_added / seconds, 1)}
        print(f"\nreindex: {done.texts_added:,} texts in {seconds:.1f} s ({done.texts_added / seconds:,.0f}/s)")
    print(f"{'query':<40} {'best ms':>8} {'median':>8} {'CPU ms':>8} {'hits':>8}")
    for label, query, kwargs in QUERIES:
        timings = []
        with sessions() as session:
            search_captures(session, query, **kwargs)
            cpu = []
            for _ in range(args.repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                hits = search_captures(session, query, **kwargs)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            total = count_hits(session, query, source_id=kwargs.get("source_id"))
        row = {"label": label, "query": query, **kwargs, "best_ms": round(min(timings), 1),
               "cpu_ms": round(statistics.median(cpu), 1),
               "median_ms": round(statistics.median(timings), 1), "hits": total, "page": len(hits)}
        figures["queries"].append(row)
        print(f"{label:<40} {row['best_ms']:>8} {row['median_ms']:>8} {row['cpu_ms']:>8} {total:>8,}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
