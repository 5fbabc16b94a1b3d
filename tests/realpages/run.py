"""Judge every case of the real-page corpus the way a capture pass does, and tabulate the verdicts.

Each page is captured once as saved (the first capture), then each of its variants (changes.py)
is judged against it with the extraction worker's own function, archiver.tasks.extract_and_judge:
the same extraction, packing and verdict a pass runs in its pool, given what the pass would give
it (the previous good capture as the store holds it, the site's not-found page when the site
answers 200 to a made-up address, the site's home page after a redirect). The HTTP side of those
cases (statuses, redirects, probes) is proven end to end by tests/test_verdict_corpus.py.

    python -m tests.realpages.run [--jobs 2] [--only ID ...]   # prints the confusion table
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass

from archiver.extract import extract
from archiver.quotes import check_quote, squeeze_spaces
from archiver.tasks import Judging, extract_and_judge
from archiver.verdict import Snapshot
from tests.realpages.changes import Prepared, load_corpus, prepare, variants

STATES = ("unchanged", "altered", "moved", "deleted", "unreachable")
MIN_BODY_CHARS = 40


@dataclass
class Outcome:
    page: str
    lang: str
    case: str
    expected: str
    actual: str
    reason: str
    note: str = ""


@dataclass
class PageResult:
    page: str
    lang: str
    outcomes: list[Outcome]
    skipped: dict[str, str]
    first: str
    quote: str | None
    quote_status: str | None
    seconds: float


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _snapshot(url: str, final_url: str, status: int, redirects, body: bytes) -> Snapshot:
    return Snapshot(requested_url=url, final_url=final_url, status=status, redirects=redirects, text="",
                    full_text="", body_sha256=_sha(body), text_sha256=None, error_kind=None, error=None,
                    kind="other", title=None)


def _visible(body: bytes | None, url: str) -> str | None:
    """What the pass keeps of a site's not-found or home page: its visible text (capture.SiteContext)."""
    if body is None:
        return None
    found = extract(body, "text/html; charset=utf-8", url, main_text=False)
    return found.full_text or found.text or None


def judge_page(page_id: str) -> PageResult:
    started = time.process_time()
    page = next(p for p in load_corpus() if p.id == page_id)
    prepared: Prepared = prepare(page)
    url = page.url
    root = url.split("/", 3)
    home_url = "/".join(root[:3]) + "/"
    first_extracted, _, text_blob, first = extract_and_judge(
        page.raw, "text/html", Judging(_snapshot(url, url, 200, [], page.raw), None, None, None, MIN_BODY_CHARS, False))
    previous = Snapshot(requested_url=url, final_url=url, status=200, redirects=[], text=first_extracted.text,
                        full_text=first_extracted.text, body_sha256=_sha(page.raw),
                        text_sha256=text_blob.sha256 if text_blob else None, error_kind=None, error=None,
                        kind=first_extracted.kind, title=first_extracted.title)
    outcomes = []
    first_chars = len(squeeze_spaces(first_extracted.text))
    for variant in variants(prepared):
        if variant.removed and len(squeeze_spaces(variant.removed)) > first_chars / 2:
            prepared.skipped[variant.case] = "the paragraph is most of the main text"
            continue
        if variant.redirect_to:
            current = _snapshot(url, home_url, variant.status, [(302, home_url)], variant.body)
        else:
            current = _snapshot(url, url, variant.status, [], variant.body)
        not_found = _visible(variant.not_found, home_url) if variant.status == 200 else None
        home = _visible(variant.home, home_url) if variant.status == 200 and current.redirects else None
        judging = Judging(current, previous, not_found, home, MIN_BODY_CHARS, False)
        _, _, _, verdict = extract_and_judge(variant.body, variant.content_type, judging)
        outcomes.append(Outcome(page.id, page.lang, variant.case, variant.expected, verdict.state, verdict.reason,
                                variant.note))
    quote = next((label for label in page.positive if 20 <= len(label) <= 200), None)
    status = check_quote(quote, first_extracted.text).status if quote else None
    return PageResult(page.id, page.lang, outcomes, prepared.skipped, first.state, quote, status,
                      time.process_time() - started)


def run(jobs: int = 2, only: list[str] | None = None) -> list[PageResult]:
    ids = [p.id for p in load_corpus() if not only or p.id in only]
    if jobs <= 1:
        return [judge_page(i) for i in ids]
    with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(judge_page, ids, chunksize=1))


def _group(lang: str) -> str:
    return lang if lang in ("zh", "en") else "other"


def confusion_table(results: list[PageResult]) -> str:
    """Expected state (rows) x state given (columns), with the pages' languages per row."""
    outcomes = [o for r in results for o in r.outcomes]
    counts = Counter((o.expected, o.actual) for o in outcomes)
    width = 13
    lines = ["expected \\ actual".ljust(18) + "".join(s.rjust(width) for s in STATES) + "     zh     en  other"]
    for expected in ("unchanged", "altered", "deleted"):
        langs = Counter(_group(o.lang) for o in outcomes if o.expected == expected)
        lines.append(expected.ljust(18) + "".join(str(counts[(expected, s)]).rjust(width) for s in STATES)
                     + f"  {langs['zh']:5d}  {langs['en']:5d}  {langs['other']:5d}")
    right = sum(1 for o in outcomes if o.actual == o.expected)
    wrong_deleted = sum(1 for o in outcomes if o.actual == "deleted" != o.expected)
    wrong_altered = sum(1 for o in outcomes if o.actual == "altered" != o.expected)
    lines.append(f"{right} of {len(outcomes)} verdicts as expected on {len(results)} pages; "
                 f"false deleted: {wrong_deleted}; false altered: {wrong_altered} "
                 f"({100 * wrong_altered / max(1, len(outcomes)):.2f}% of all cases)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--all", action="store_true", help="print every case, not only the wrong ones")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args.jobs, args.only)
    for r in results:
        for o in r.outcomes:
            if args.all or o.actual != o.expected:
                mark = "ok " if o.actual == o.expected else "BAD"
                print(f"{mark} {o.page:45s} {o.case:18s} {o.expected:9s} {o.actual:11s} {o.reason[:160]} {o.note}")
    skipped = Counter(case for r in results for case in r.skipped)
    print(f"\ncases left out (not applicable): {dict(skipped)}")
    quotes = Counter(r.quote_status for r in results if r.quote)
    print(f"quotes (a labelled passage) in the first capture's main text: {dict(quotes)}")
    print(confusion_table(results))
    print(f"{time.perf_counter() - started:.1f} s; CPU per page {sum(r.seconds for r in results) / len(results):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
