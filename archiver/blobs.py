"""How the store encodes a blob: named by the SHA-256 of its bytes, kept as a zstd frame.

Apart from the store's database code (archiver.store) so that the extraction workers can
compress a body where they extract it, without importing SQLAlchemy: a first pass then keeps
a third of each body in memory until it is written, and the compression runs in the pool.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import zstandard

LEVEL = 3


def sha256_hex(data: bytes) -> str:
    """The blob name of `data`: its SHA-256, in hexadecimal."""
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes) -> bytes:
    """`data` as the store keeps it: one zstd frame."""
    return zstandard.ZstdCompressor(level=LEVEL).compress(data)


def decompress(data: bytes) -> bytes:
    """The bytes of a zstd frame made by compress()."""
    return zstandard.ZstdDecompressor().decompress(data)


@dataclass(frozen=True)
class Packed:
    """A blob compressed ahead of storing: its name, its uncompressed size and its zstd frame."""

    sha256: str
    size: int
    data: bytes


def pack(data: bytes, sha256: str | None = None) -> Packed:
    """`data` ready for archiver.store.put_blobs; `sha256` when the caller hashed it already."""
    return Packed(sha256 or sha256_hex(data), len(data), compress(data))
