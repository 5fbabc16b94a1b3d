"""The content-addressed blob store: each distinct body or text is kept once, zstd-compressed.

An unchanged page costs a capture row, not another copy of its bytes. Blobs are never
rewritten: the key is the SHA-256 of the uncompressed bytes, so a blob either exists with
the right content or `verify` reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Executable, select
from sqlalchemy.orm import Session

from archiver.blobs import Packed, compress, decompress, sha256_hex
from archiver.models import Blob
from archiver.readdb import chunks

__all__ = ["MissingBlob", "Packed", "compress", "decompress", "get_blob", "get_text", "get_texts",
           "put_blob", "put_blobs", "sha256_hex"]


class MissingBlob(LookupError):
    """A capture refers to a body or text that is not in the store."""


def _row(key: str, item: bytes | Packed) -> dict:
    if isinstance(item, Packed):
        return {"sha256": key, "size": item.size, "codec": "zstd", "data": item.data}
    return {"sha256": key, "size": len(item), "codec": "zstd", "data": compress(item)}


def put_blobs(
    session: Session, items: Sequence[bytes | Packed], keys: Sequence[str | None] | None = None
) -> tuple[list[str], int]:
    """Store each byte string unless already present; return their SHA-256 keys, in order,
    and how many blobs were new.

    items: raw bytes, or blobs already compressed by archiver.blobs.pack (named by their own
    SHA-256). keys: the raw items' SHA-256 when the caller has computed them already (None for
    any not known); they must be right, as they become the blobs' names (`verify` re-hashes
    them). Safe against a concurrent writer storing the same bytes (INSERT ... ON CONFLICT DO
    NOTHING).
    """
    known = keys or [None] * len(items)
    hashes = [item.sha256 if isinstance(item, Packed) else key or sha256_hex(item) for key, item in zip(known, items)]
    wanted = {key: item for key, item in zip(hashes, items)}
    if not wanted:
        return hashes, 0
    existing = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(list(wanted)))))
    rows = [_row(key, item) for key, item in wanted.items() if key not in existing]
    if rows:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Executable = pg_insert(Blob).on_conflict_do_nothing(index_elements=["sha256"])
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(Blob).on_conflict_do_nothing(index_elements=["sha256"])
        session.execute(statement, rows)
    return hashes, len(rows)


def put_blob(session: Session, data: bytes) -> str:
    """Store one byte string (once per distinct content) and return its SHA-256."""
    return put_blobs(session, [data])[0][0]


def get_blob(session: Session, sha256: str) -> bytes:
    """The uncompressed bytes stored under `sha256`, or MissingBlob."""
    blob = session.get(Blob, sha256)
    if blob is None:
        raise MissingBlob(f"blob {sha256} is missing from the store")
    return decompress(blob.data) if blob.codec == "zstd" else blob.data


def get_texts(session: Session, keys: Iterable[str | None], *, missing_ok: bool = False) -> dict[str, str]:
    """Extracted texts by SHA-256 (None keys skipped), read in a few IN queries instead of one per
    text; MissingBlob when one is not in the store, unless `missing_ok` (then it is left out)."""
    wanted = sorted({key for key in keys if key})
    texts: dict[str, str] = {}
    for chunk in chunks(wanted):
        for key, codec, data in session.execute(select(Blob.sha256, Blob.codec, Blob.data).where(Blob.sha256.in_(chunk))):
            texts[key] = (decompress(data) if codec == "zstd" else data).decode("utf-8")
    missing = [key for key in wanted if key not in texts]
    if missing and not missing_ok:
        raise MissingBlob(f"blob {missing[0]} is missing from the store")
    return texts


def get_text(session: Session, sha256: str | None) -> str:
    """An extracted text stored as a blob ("" when the capture has none)."""
    if not sha256:
        return ""
    return get_blob(session, sha256).decode("utf-8")
