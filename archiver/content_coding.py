"""Undo the Content-Encoding of a response body as it streams in, each layer bounded.

A server may compress a page (gzip, deflate, br, zstd) and may stack codings
(`Content-Encoding: gzip, gzip`). A few kilobytes of gzip can hold gigabytes of zeros, and
a second layer multiplies that again; decoding a whole network chunk at once, as HTTP
clients do, lets one hostile page take all the machine's memory. Here every layer hands on
its output in pieces of at most `PIECE` bytes and counts what it has produced: when the
bytes on the wire, or the output of any layer, pass the limit, decoding stops with
`TooLarge`, and what the innermost layer had produced so far is kept as the body.

Unknown codings are left in place (the body is stored as sent), as HTTP clients do. Like a
browser, a stream that ends early keeps what decoded; bytes that are not in the coding the
server named raise `CodingError`.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import brotli
import zstandard

# Output handed on at once by a layer, at most.
PIECE = 64 * 1024
# A body is gathered as a list of pieces up to this size (joined once at the end: the fastest
# for ordinary pages), then in a BytesIO (handed over without a copy: half the memory of a list
# or a bytearray for a 50 MB body).
LIST_UP_TO = 1024 * 1024
# More stacked codings than this is no real server.
MAX_LAYERS = 4
# RFC 9659: a zstd window of up to 8 MB is all a decoder of HTTP content need accept.
ZSTD_MAX_WINDOW = 8 * 1024 * 1024
CODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd")

Emit = Callable[[bytes], None]


class CodingError(Exception):
    """The body is not valid in the coding the server declared; `coding` names it."""

    def __init__(self, coding: str, reason: str) -> None:
        super().__init__(f"{coding}: {reason}")
        self.coding = coding
        self.reason = reason


class TooLarge(Exception):
    """The body passed the size limit: on the wire (`layer` None) or once a layer of
    compression (`layer`, e.g. "gzip") was undone."""

    def __init__(self, layer: str | None) -> None:
        super().__init__(layer or "body")
        self.layer = layer


class _Layer:
    """One coding undone: feed() the coded bytes, the decoded ones go to `emit` piece by piece."""

    name = "identity"

    def __init__(self, emit: Emit, limit: int) -> None:
        self._emit = emit
        self._limit = limit
        self.produced = 0

    def out(self, data: bytes) -> None:
        if not data:
            return
        room = self._limit - self.produced
        self.produced += len(data)
        if len(data) > room:
            if room > 0:
                self._emit(data[:room])
            raise TooLarge(self.name)
        self._emit(data)

    def feed(self, data: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """The coded stream ended: hand on what the decoder still holds."""


class _Zlib(_Layer):
    """gzip (one member, as browsers read it) and deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, emit: Emit, limit: int, name: str) -> None:
        super().__init__(emit, limit)
        self.name = name
        self._gzip = name in ("gzip", "x-gzip")
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._started = False

    def feed(self, data: bytes) -> None:
        if self._started or self._gzip:
            self._drain(data)
            return
        self._started = True
        try:
            self._drain(data)
        except CodingError:
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            self._drain(data)

    def _drain(self, data: bytes) -> None:
        decoder = self._decoder
        while not decoder.eof:
            try:
                piece = decoder.decompress(data, PIECE)
            except zlib.error as exc:
                raise CodingError(self.name, str(exc)) from None
            self.out(piece)
            data = decoder.unconsumed_tail
            if not data and len(piece) < PIECE:  # a full piece may leave more output pending
                return

    def finish(self) -> None:
        try:
            self.out(self._decoder.flush())
        except zlib.error as exc:
            raise CodingError(self.name, str(exc)) from None


class _Brotli(_Layer):
    name = "br"

    def __init__(self, emit: Emit, limit: int) -> None:
        super().__init__(emit, limit)
        self._decoder = brotli.Decompressor()

    def feed(self, data: bytes) -> None:
        decoder = self._decoder
        try:
            if decoder.is_finished():
                return
            self.out(decoder.process(data, output_buffer_limit=PIECE))
            while not decoder.can_accept_more_data():
                self.out(decoder.process(b"", output_buffer_limit=PIECE))
        except brotli.error as exc:
            raise CodingError(self.name, str(exc) or "invalid brotli data") from None


class _Sink:
    """Hands a zstd layer's output on, piece by piece (zstandard's writer pushes into it)."""

    def __init__(self, layer: _Zstd) -> None:
        self._layer = layer

    def write(self, data) -> int:
        self._layer.out(bytes(data))
        return len(data)


class _Zstd(_Layer):
    name = "zstd"

    def __init__(self, emit: Emit, limit: int) -> None:
        super().__init__(emit, limit)
        decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._writer = decompressor.stream_writer(
            _Sink(self), write_size=PIECE, closefd=False)  # type: ignore[arg-type]  # any object with write()

    def feed(self, data: bytes) -> None:
        try:
            self._writer.write(data)
        except zstandard.ZstdError as exc:
            raise CodingError(self.name, str(exc)) from None


def _make(name: str, emit: Emit, limit: int) -> _Layer:
    if name == "br":
        return _Brotli(emit, limit)
    if name == "zstd":
        return _Zstd(emit, limit)
    return _Zlib(emit, limit, name)


class BoundedDecoder:
    """Decode a body coded with `codings` (in the order the server applied them, as the
    Content-Encoding header lists them), keeping at most `limit` decoded bytes.

    feed() each chunk off the wire and finish() at its end; getvalue() gives the decoded bytes
    so far, also after TooLarge or CodingError. A large body is kept in a BytesIO, whose
    getvalue() hands over its buffer without copying it (a bytearray would need a copy: twice
    the memory of a 50 MB body for a moment).
    """

    def __init__(self, codings: list[str], limit: int) -> None:
        known = [c for c in (c.strip().lower() for c in codings) if c in CODINGS]
        if len(known) > MAX_LAYERS:
            raise CodingError(", ".join(known), f"more than {MAX_LAYERS} stacked compression layers")
        self.codings = known
        self.limit = limit
        self._pieces: list[bytes] = []
        self._large: io.BytesIO | None = None
        self._size = 0
        self.wire = 0
        emit: Emit = self._keep
        layers = []
        for name in known:  # the first coding applied is undone last
            layer = _make(name, emit, limit)
            layers.append(layer)
            emit = layer.feed
        self._layers = list(reversed(layers))
        self._entry = emit

    def _keep(self, data: bytes) -> None:
        room = self.limit - self._size
        if len(data) > room:
            self._gather(data[:room])
            raise TooLarge(self.codings[0] if self.codings else None)
        self._gather(data)

    def _gather(self, data: bytes) -> None:
        self._size += len(data)
        if self._large is not None:
            self._large.write(data)
            return
        self._pieces.append(data)
        if self._size > LIST_UP_TO:
            self._large = io.BytesIO()
            for piece in self._pieces:
                self._large.write(piece)
            self._pieces = []

    @property
    def size(self) -> int:
        """Decoded bytes kept so far."""
        return self._size

    def getvalue(self) -> bytes:
        """The decoded bytes kept so far."""
        if self._large is not None:
            return self._large.getvalue()
        return self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)

    def feed(self, chunk: bytes) -> None:
        room = self.limit - self.wire
        self.wire += len(chunk)
        if len(chunk) > room:
            if room > 0:
                self._entry(chunk[:room])
            raise TooLarge(None)
        self._entry(chunk)

    def finish(self) -> None:
        for layer in self._layers:
            layer.finish()
