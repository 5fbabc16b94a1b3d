"""The floor: fetch, SHA-256 and extract a list of pages as fast as this machine can, storing nothing.

What any capture pipeline has to do at the least, so the pipeline's speed can be stated as
a share of it. Fetching is concurrent (httpx, one async client, redirects followed by
httpx, no politeness delays); extraction runs in a process pool with one worker per core.

--extractor archiver (default) uses archiver.extract.extract, the pipeline's own function:
charset detection, the visible text, trafilatura's main text, normalisation (pypdf for
PDFs). --extractor trafilatura calls plain trafilatura.extract on the bytes (PDFs are
skipped) and shows what our decoding and normalisation add. --fetch-only skips extraction
and measures the HTTP side (client and server) alone.

    python benchmarks/floor.py URLS.txt [--concurrency 16] [--workers N] [--extractor archiver]

Prints one JSON object: pages, bytes, seconds, statuses, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import hashlib
import json
import os
import sys
import time
from collections import Counter

import httpx


def _plain_trafilatura(body: bytes, content_type: str | None, url: str) -> int:
    if content_type and "pdf" in content_type:
        return 0
    import trafilatura

    return len(trafilatura.extract(body, url=url) or "")


def _archiver(body: bytes, content_type: str | None, url: str) -> int:
    from archiver.extract import extract

    return len(extract(body, content_type, url).text)


async def floor(urls: list[str], concurrency: int, workers: int, extractor: str, fetch_only: bool) -> dict:
    extract = _archiver if extractor == "archiver" else _plain_trafilatura
    pool = None if fetch_only else concurrent.futures.ProcessPoolExecutor(max_workers=workers)
    loop = asyncio.get_running_loop()
    statuses: Counter = Counter()
    totals = {"bytes": 0, "text_chars": 0, "errors": 0}
    queue = iter(urls)
    started = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, follow_redirects=True, timeout=30, trust_env=False) as client:
        fetching = asyncio.Semaphore(concurrency)

        async def worker() -> None:
            for url in queue:
                try:
                    async with fetching:
                        response = await client.get(url)
                except httpx.HTTPError:
                    totals["errors"] += 1
                    continue
                body = response.content
                hashlib.sha256(body).hexdigest()
                statuses[response.status_code] += 1
                totals["bytes"] += len(body)
                if pool is not None and body:
                    chars = await loop.run_in_executor(
                        pool, extract, body, response.headers.get("content-type"), str(response.url))
                    totals["text_chars"] += chars

        await asyncio.gather(*(worker() for _ in range(max(concurrency * 4, 8))))
    elapsed = time.monotonic() - started
    if pool is not None:
        pool.shutdown()
    return {"pages": len(urls), "seconds": elapsed, "pages_per_second": len(urls) / elapsed,
            "statuses": dict(statuses), **totals, "extractor": None if fetch_only else extractor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", help="file with one URL a line")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--extractor", choices=["archiver", "trafilatura"], default="archiver")
    parser.add_argument("--fetch-only", action="store_true")
    args = parser.parse_args()
    with open(args.urls, encoding="utf-8") as handle:
        urls = [line.strip() for line in handle if line.strip()]
    result = asyncio.run(floor(urls, args.concurrency, args.workers, args.extractor, args.fetch_only))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
