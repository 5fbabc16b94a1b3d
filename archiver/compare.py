"""Comparing two captures of one source: which two, and what changed in their main text.

`archiver diff` and the web interface's side-by-side view choose the captures the same way
(`choose_pair`) and diff them with archiver.diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archiver.diff import Segment, diff_texts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archiver.models import Capture, Source


class CompareError(LookupError):
    """A capture asked for is not a capture of this source with text."""


@dataclass
class Comparison:
    """Two captures of a source (old first) and the segments of their texts' diff."""

    old: Capture
    new: Capture
    old_text: str
    new_text: str
    segments: list[Segment]


def choose_pair(captures: list[Capture], from_id: int | None, to_id: int | None,
                url: str) -> tuple[Capture | None, Capture | None]:
    """The (old, new) captures to compare among a source's captures, oldest first.

    `to_id` defaults to the latest capture with text, `from_id` to the latest earlier one whose
    text differs. Either may be None when there are no two such captures. Raises CompareError
    for an id that is not a capture of this source with text."""
    with_text = [c for c in captures if c.text_sha256]
    by_id = {c.id: c for c in with_text}
    for wanted in (from_id, to_id):
        if wanted is not None and wanted not in by_id:
            raise CompareError(f"capture {wanted} is not a capture of {url} with text (see `archiver show`)")
    new = by_id[to_id] if to_id else (with_text[-1] if with_text else None)
    if from_id:
        return by_id[from_id], new
    earlier = [c for c in with_text if new is not None and c.id < new.id and c.text_sha256 != new.text_sha256]
    return (earlier[-1] if earlier else None), new


def compare(session: Session, source: Source, from_id: int | None = None, to_id: int | None = None) -> Comparison | None:
    """The comparison of two captures of `source` (see choose_pair), or None when there are not
    two to compare. Chinese text is cut into words (jieba), other text into words."""
    from archiver.sources import source_captures
    from archiver.store import get_text

    old, new = choose_pair(source_captures(session, source), from_id, to_id, source.url)
    if old is None or new is None:
        return None
    old_text, new_text = get_text(session, old.text_sha256), get_text(session, new.text_sha256)
    return Comparison(old, new, old_text, new_text, diff_texts(old_text, new_text, lang=source.lang))
