"""Content-Encoding decoding: every coding round-trips, and every layer stops at the limit."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from archiver.content_coding import BoundedDecoder, CodingError, TooLarge
from tests.hostile_server import brotli_stream, deflate_zeros, gzip_stream, zstd_stream

PAGE = ("<html><head><meta charset='gbk'><title>统计公报</title></head><body><p>"
        + "二〇二三年国民经济和社会发展统计公报。" * 3000 + "</p></body></html>").encode("gbk")
MB = 1024 * 1024


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def decode(codings: list[str], data: bytes, limit: int = 10 * MB, chunk: int = 4096) -> BoundedDecoder:
    decoder = BoundedDecoder(codings, limit)
    for start in range(0, len(data), chunk):
        decoder.feed(data[start:start + chunk])
    decoder.finish()
    return decoder


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_each_coding_round_trips_in_small_chunks(coding):
    assert decode([coding], ENCODERS[coding](PAGE), chunk=7).getvalue() == PAGE


def test_raw_deflate_as_some_servers_send_it_is_read():
    assert decode(["deflate"], _raw_deflate(PAGE)).getvalue() == PAGE


def test_stacked_codings_are_undone_last_applied_first():
    data = brotli.compress(gzip.compress(PAGE))  # Content-Encoding: gzip, br
    assert decode(["gzip", "br"], data).getvalue() == PAGE
    assert decode(["gzip", "gzip"], gzip.compress(gzip.compress(PAGE))).getvalue() == PAGE


def test_identity_and_unknown_codings_leave_the_body_as_sent():
    assert decode([], PAGE).getvalue() == PAGE
    assert decode(["identity"], PAGE).getvalue() == PAGE
    assert decode(["x-unknown"], b"\x01\x02 opaque").getvalue() == b"\x01\x02 opaque"


def test_concatenated_zstd_frames_are_all_read():
    frames = zstandard.ZstdCompressor().compress(b"first ") + zstandard.ZstdCompressor().compress(b"second")
    assert decode(["zstd"], frames, chunk=3).getvalue() == b"first second"


@pytest.mark.parametrize("coding, stream", [
    ("gzip", lambda: deflate_zeros(31, 64)),
    ("deflate", lambda: deflate_zeros(15, 64)),
    ("deflate", lambda: deflate_zeros(-15, 64)),
    ("br", lambda: brotli_stream(iter([b"\0" * MB] * 64))),
    ("zstd", lambda: zstd_stream(iter([b"\0" * MB] * 64))),
])
def test_a_bomb_stops_at_the_limit_with_what_decoded_kept(coding, stream):
    decoder = BoundedDecoder([coding], 3 * MB)
    wire = 0
    with pytest.raises(TooLarge) as caught:
        for chunk in stream():
            wire += len(chunk)
            decoder.feed(chunk)
        decoder.finish()
    assert caught.value.layer == coding
    assert decoder.getvalue() == b"\0" * (3 * MB)
    assert wire < MB, "the bomb is small on the wire"


def test_the_inner_layer_of_a_double_bomb_stops_at_the_limit():
    decoder = BoundedDecoder(["gzip", "gzip"], 2 * MB)
    with pytest.raises(TooLarge) as caught:
        for chunk in gzip_stream(deflate_zeros(31, 1024)):
            decoder.feed(chunk)
    assert caught.value.layer == "gzip"
    assert decoder.size == 2 * MB


def test_the_outer_layer_is_bounded_too():
    """A body whose outer layer expands past the limit while the inner one yields little:
    gzip of a megabyte of incompressible-looking gzip members."""
    inner = b"".join(gzip.compress(bytes([i]) * 10) for i in range(256)) * 400  # ~3 MB of tiny gzip members
    decoder = BoundedDecoder(["gzip", "gzip"], MB)
    with pytest.raises(TooLarge) as caught:
        decoder.feed(gzip.compress(inner))
    assert caught.value.layer == "gzip" and decoder.size <= MB


def test_bytes_on_the_wire_are_bounded_without_compression():
    decoder = BoundedDecoder([], 1000)
    decoder.feed(b"a" * 600)
    with pytest.raises(TooLarge) as caught:
        decoder.feed(b"b" * 600)
    assert caught.value.layer is None
    assert decoder.getvalue() == b"a" * 600 + b"b" * 400


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_bytes_that_are_not_in_the_declared_coding_are_an_error(coding):
    with pytest.raises(CodingError) as caught:
        decode([coding], b"<html>this was never compressed</html>" * 10)
    assert caught.value.coding == coding


def test_more_than_four_stacked_codings_are_refused():
    with pytest.raises(CodingError, match="more than 4 stacked"):
        BoundedDecoder(["gzip"] * 5, MB)
