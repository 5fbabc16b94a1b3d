"""What a capture pass asks of its extraction pool: one call per new body.

The worker that extracts a body also compresses it and its text for the store, and judges the
capture against the previous one. Each step then runs on every core, and a page crosses the
pipe to a worker once and comes back once, without the full visible text (only the verdict
reads it). Judging costs a tenth of extracting, and describing an edit more; done on the
pass's own event loop, it would stall the fetches in flight.

Like everything a pass hands its workers, this module is loaded by the pool's fork server
(archiver.forkserver_preload) and imports neither the database nor the HTTP code.
"""

from __future__ import annotations

import dataclasses

from archiver import limits
from archiver.blobs import Packed, pack
from archiver.extract import Extracted, extract
from archiver.layout import PageLayout
from archiver.terms import index_terms
from archiver.verdict import Snapshot, Verdict, judge


@dataclasses.dataclass(frozen=True)
class PackedText(Packed):
    """A main text packed for the store, with its search terms (archiver.terms), space-separated:
    computed where the text is extracted, so the pass's writer only stores them."""

    terms: str = ""


def extract_and_pack(
    body: bytes, content_type: str | None, url: str, sha256: str | None = None, *, keep_tree: bool = False
) -> tuple[Extracted, Packed, Packed | None]:
    """extract() the body, and compress it and its main text for the store (archiver.blobs.pack),
    the text with its search terms (PackedText).

    The pass keeps the compressed third of the body until it is written. The text's blob is
    None when the text is empty. keep_tree: keep the parsed page in Extracted.tree."""
    extracted = extract(body, content_type, url, keep_tree=keep_tree)
    text = None
    if extracted.text:
        packed = pack(extracted.text.encode("utf-8"))
        text = PackedText(packed.sha256, packed.size, packed.data, " ".join(index_terms(extracted.text)))
    return extracted, pack(body, sha256), text


@dataclasses.dataclass
class Judging:
    """What judging a capture needs besides its body: the capture as fetched (`current`, texts
    still empty), the previous good capture, the site's not-found and home pages (None when
    not probed), and the verdict's settings."""

    current: Snapshot
    previous: Snapshot | None
    not_found_text: str | None
    home_text: str | None
    min_body_chars: int
    follows_refresh: bool = True


def extract_and_judge(
    body: bytes, content_type: str | None, judging: Judging
) -> tuple[Extracted, Packed, Packed | None, Verdict | None]:
    """extract_and_pack() the body, then judge the capture (archiver.verdict.judge).

    The verdict is None when the page sends the browser elsewhere with a meta refresh and
    `judging.follows_refresh`: the pass fetches that page and judges it instead. The not-found
    page counts when the text changed or the request was redirected, the home page when it was
    redirected. The verdict may look up where texts sit in the page (archiver.layout), on the tree
    parsed for extraction. The returned Extracted has no full_text and no tree.

    A page past the worker's time or memory limit (archiver.limits) comes back with an
    "extraction" error (Extracted.error_kind), its body packed and no verdict: its text is
    missing, not empty, and must not be judged as an emptied page."""
    current = judging.current
    url = current.final_url or current.requested_url
    try:
        with limits.deadline():
            return _extract_and_judge(body, content_type, judging, url)
    except (limits.PageTooCostly, MemoryError) as exc:
        message = exc.message if isinstance(exc, limits.PageTooCostly) else limits.memory_message()
        return Extracted("other", "", error=message, error_kind="extraction"), pack(body, current.body_sha256), None, None


def _extract_and_judge(
    body: bytes, content_type: str | None, judging: Judging, url: str
) -> tuple[Extracted, Packed, Packed | None, Verdict | None]:
    current = judging.current
    keep_tree = judging.previous is not None
    extracted, packed, text = extract_and_pack(body, content_type, url, current.body_sha256, keep_tree=keep_tree)
    if extracted.error_kind:
        extracted.tree = None
        return extracted, packed, text, None
    verdict = None
    if not (judging.follows_refresh and extracted.meta_refresh and extracted.meta_refresh != url):
        current = dataclasses.replace(
            current, text=extracted.text, full_text=extracted.full_text, kind=extracted.kind,
            title=extracted.title, text_sha256=text.sha256 if text else None,
            page=PageLayout(extracted.tree) if extracted.tree is not None else None,
        )
        previous = judging.previous
        changed = previous is None or current.text_sha256 != previous.text_sha256
        verdict = judge(
            previous, current,
            not_found_text=judging.not_found_text if changed or current.redirects else None,
            home_text=judging.home_text if current.redirects else None,
            min_body_chars=judging.min_body_chars,
        )
    extracted.full_text = ""
    extracted.tree = None
    return extracted, packed, text, verdict


def extract_visible(body: bytes, content_type: str | None, url: str) -> Extracted:
    """extract() a page's visible text only (main_text=False), within the worker's time limit:
    how a site's not-found and home pages are read."""
    try:
        with limits.deadline():
            return extract(body, content_type, url, main_text=False)
    except limits.PageTooCostly as exc:
        return Extracted("other", "", error=exc.message, error_kind="extraction")
