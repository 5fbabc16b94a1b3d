"""A loopback web server that misbehaves on purpose: one path per attack on an HTTP client.

It speaks raw bytes over TCP (no HTTP library in between), so it can send what no well-behaved
server would: compression bombs, bodies that never end, a byte a second, ten thousand
headers, broken status lines, connections reset in the middle of a body. Endless and huge
bodies are made as they are sent and stop when the client hangs up, or after `CAP` bytes, so
a client that fails to stop costs the test time, never the machine's memory.

Used by tests/test_hostile.py and benchmarks/hostile.py: `HostileServer().start()`, then
`server.url(path)` for each path in `ATTACKS`, and `NORMAL_PAGE` for ordinary pages.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator

import brotli
import zstandard

CAP = 2 * 1024**3  # bytes sent at most by an endless answer
ZEROS = b"\0" * (1024 * 1024)
FILLER = b"<p>" + b"The bureau published the figures for the quarter and the names of its suppliers. " * 12 + b"</p>\n"


# Where the refusal tests redirect to: each names this machine (or "any address", which Linux
# takes for this machine) in a form an address check might miss. {port} is a trap listener's.
PRIVATE_TARGETS = [
    "http://127.0.0.1:{port}/", "http://[::1]:{port}/", "http://0.0.0.0:{port}/", "http://2130706433:{port}/",
    "http://0x7f.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/", "http://localhost:{port}/", "http://127.1:{port}/",
    "http://017700000001:{port}/",
]


def _head(status: str = "200 OK", headers: list[tuple[str, str]] | None = None, length: int | None = None,
          content_type: str = "text/html; charset=utf-8") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _page(title: str, text: str, charset: str = "utf-8") -> bytes:
    return (f"<html><head><meta charset=\"{charset}\"><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1><p>{text}</p></article></body></html>").encode(charset)


def _compressed(compress: Callable[[bytes], bytes], flush: Callable[[], bytes],
                source: Iterator[bytes]) -> Iterator[bytes]:
    """`source` compressed, flushed every 16 pieces so that the output flows while it is made
    (a compressor fed zeros would otherwise keep gigabytes of them to itself)."""
    for count, block in enumerate(source, start=1):
        out = compress(block)
        if count % 16 == 0:
            out += flush()
        if out:
            yield out
    yield flush()


def _zeros(megabytes: int = 10 * 1024) -> Iterator[bytes]:
    """Zeros in blocks of 1 MB, 10 GB in all: the payload of every bomb."""
    for _ in range(megabytes):
        yield ZEROS


def deflate_zeros(wbits: int, megabytes: int = 10 * 1024) -> Iterator[bytes]:
    """A valid gzip (wbits 31), zlib (15) or raw deflate (-15) stream of `megabytes` MB of zeros,
    made without compressing them: after a full flush, each further megabyte of zeros compresses
    to the same 1,037 bytes, which are repeated; the trailer's checksum is computed as they go."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert first.endswith(block)
    yield first
    crc, adler = zlib.crc32(ZEROS), zlib.adler32(ZEROS)
    for _ in range(megabytes - 1):
        yield block
        if wbits == 31:
            crc = zlib.crc32(ZEROS, crc)
        elif wbits == 15:
            adler = zlib.adler32(ZEROS, adler)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    if wbits == 31:
        end += struct.pack("<II", crc, (megabytes * len(ZEROS)) & 0xFFFFFFFF)
    elif wbits == 15:
        end += struct.pack(">I", adler)
    yield end


def gzip_stream(source: Iterator[bytes]) -> Iterator[bytes]:
    """gzip of `source`, flushed every 64 pieces so that the output flows while it is made."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for count, block in enumerate(source, start=1):
        out = compressor.compress(block)
        if count % 64 == 0:
            out += compressor.flush(zlib.Z_SYNC_FLUSH)
        if out:
            yield out
    yield compressor.flush()


def brotli_stream(source: Iterator[bytes]) -> Iterator[bytes]:
    compressor = brotli.Compressor(quality=1)
    return _compressed(compressor.process, compressor.flush, source)


def zstd_stream(source: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zstandard.ZstdCompressor(level=1).compressobj()
    return _compressed(compressor.compress, lambda: compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK), source)


def _endless(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def _chunked(source: Iterator[bytes]) -> Iterator[bytes]:
    for block in source:
        yield b"%x\r\n%s\r\n" % (len(block), block)


def _nested(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"<p>deep inside</p>" + b"</div>" * depth + b"</body></html>"


def _bomb_pdf() -> bytes:
    """A PDF whose one page's content stream inflates to 1 GB of zeros."""
    stream = b"".join(deflate_zeros(15, 1024))
    return _pdf([b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"])


def _nested_pdf(depth: int) -> bytes:
    """A PDF whose page holds an array nested `depth` deep."""
    content = b"BT ET"
    page = _pdf([b"<< /Length %d /Deep %s%s >>\nstream\n%s\nendstream" % (len(content), b"[" * depth, b"]" * depth,
                                                                         content)])
    return page


def _pdf(page_contents: list[bytes], xref: bool = True) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
                   b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(len(page_contents))), len(page_contents))]
    for i, content in enumerate(page_contents):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>" % (4 + 2 * i))
        objects.append(content)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    start = len(out)
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start)
    return bytes(out)


def _text_pdf(text: str) -> bytes:
    content = b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    return _pdf([b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"])


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class Answer:
    """What the server sends for one path: head bytes, then body pieces; `drip` seconds between
    pieces; `reset` drops the connection (RST) after the body instead of closing it."""

    def __init__(self, head: bytes, body: Callable[[], Iterator[bytes]] = lambda: iter(()), *,
                 drip: float = 0.0, reset: bool = False) -> None:
        self.head = head
        self.body = body
        self.drip = drip
        self.reset = reset


def _fixed(status: str, body: bytes, content_type: str = "text/html; charset=utf-8",
           headers: list[tuple[str, str]] | None = None) -> Answer:
    return Answer(_head(status, headers, len(body), content_type), lambda: iter([body]))


def redirect(location: str, status: str = "302 Found") -> Answer:
    """An answer sending the client to `location`."""
    return _fixed(status, b"", headers=[("Location", location)])


def _made(make: Callable[[], bytes], content_type: str) -> Answer:
    """A large body made when first asked for, then kept (sent without a Content-Length)."""
    made: list[bytes] = []

    def body() -> Iterator[bytes]:
        if not made:
            made.append(make())
        yield made[0]

    return Answer(_head(content_type=content_type), body)


def _encoded(coding: str, stream: Callable[[], Iterator[bytes]]) -> Answer:
    return Answer(_head(headers=[("Content-Encoding", coding)]), stream)


def attacks(base: str) -> dict[str, Answer]:
    """Every hostile path of a server whose address is `base` (http://127.0.0.1:PORT)."""
    gbk_page = _page("国家统计局", "二〇二三年国民经济和社会发展统计公报：全年国内生产总值稳步增长。", "gbk")
    answers: dict[str, Answer] = {
        "/bomb/gzip": _encoded("gzip", lambda: deflate_zeros(31)),
        "/bomb/deflate": _encoded("deflate", lambda: deflate_zeros(15)),
        "/bomb/deflate-raw": _encoded("deflate", lambda: deflate_zeros(-15)),
        "/bomb/br": _encoded("br", lambda: brotli_stream(_zeros())),
        "/bomb/zstd": _encoded("zstd", lambda: zstd_stream(_zeros())),
        "/bomb/gzip-gzip": _encoded("gzip, gzip", lambda: gzip_stream(deflate_zeros(31))),
        "/bomb/zstd-br": Answer(_head(headers=[("Content-Encoding", "br"), ("Content-Encoding", "zstd")]),
                                lambda: zstd_stream(brotli_stream(_zeros()))),
        "/endless/chunked": Answer(_head(headers=[("Transfer-Encoding", "chunked")]),
                                   lambda: _chunked(_endless(FILLER * 64))),
        "/large/with-length": Answer(_head(length=200 * 1024 * 1024), lambda: _endless(FILLER * 64)),
        "/large/without-length": Answer(_head(), lambda: _endless(FILLER * 64)),
        "/drip": Answer(_head(length=1000), lambda: _endless(b"x"), drip=1.0),
        "/loop/a": redirect("/loop/b"),
        "/loop/b": redirect("/loop/a"),
        "/to/file": redirect("file:///etc/passwd"),
        "/to/gopher": redirect("gopher://127.0.0.1:70/1"),
        "/headers/many": _fixed("200 OK", _page("Many headers", "ten thousand of them"),
                                headers=[(f"X-Header-{i}", "v") for i in range(10_000)]),
        "/headers/huge-line": _fixed("200 OK", _page("Huge header", "one megabyte long"),
                                     headers=[("X-Huge", "a" * (1024 * 1024))]),
        "/status/garbage": Answer(b"SPLAT\r\n\r\nnot http at all", lambda: iter(())),
        "/status/no-code": Answer(b"HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok", lambda: iter(())),
        "/status/huge-code": Answer(b"HTTP/1.1 99999999999 Weird\r\nContent-Length: 2\r\n\r\nok", lambda: iter(())),
        "/reset/mid-body": Answer(_head(length=1024 * 1024), lambda: iter([FILLER * 100]), reset=True),
        "/charset/lying-header": _fixed("200 OK", gbk_page, "text/html; charset=utf-8"),
        "/charset/lying-meta": _fixed("200 OK", _page("国家统计局", "二〇二三年国民经济和社会发展统计公报：全年国内生产总值稳步增长。",
                                                       "utf-8").replace(b'charset="utf-8"', b'charset="gb2312"'),
                                      "text/html"),
        # 48 MB of text without a newline: under the default max_bytes, so it reaches the extractor whole.
        "/one-line": _made(lambda: b"<html><body><p>" + b"word " * (48 * 1024 * 1024 // 5) + b"</p></body></html>",
                           "text/html; charset=utf-8"),
        "/nested": _fixed("200 OK", _nested(100_000)),
        "/pdf/truncated": _fixed("200 OK", _text_pdf("Annual report of the bureau")[:300], "application/pdf"),
        "/pdf/no-xref": _fixed("200 OK", _pdf([b"<< /Length 5 >>\nstream\nBT ET\nendstream"], xref=False)[:-40],
                               "application/pdf"),
        "/pdf/garbage": _fixed("200 OK", b"%PDF-1.7\n" + bytes(range(256)) * 400, "application/pdf"),
        "/pdf/bomb": _made(_bomb_pdf, "application/pdf"),
        "/pdf/nested": _fixed("200 OK", _nested_pdf(100_000), "application/pdf"),
    }
    for hop in range(50):
        answers[f"/chain/{hop}"] = redirect(f"{base}/chain/{hop + 1}")
    answers["/chain/50"] = _fixed("200 OK", _page("End of the chain", "fifty hops later"))
    return answers


def normal_page(n: int) -> bytes:
    """An ordinary article, different for every `n`."""
    return _page(f"Report {n}", f"Report number {n}: the bureau published the figures for the quarter. " * 30)


class HostileServer:
    """A threaded raw-TCP server on `host`: `start()`, `url(path)`, `stop()`; paths under
    /normal/N serve ordinary pages, the paths of `attacks()` misbehave."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self.base = f"http://{host}:{self.port}"
        self.answers = attacks(self.base)
        self.requests: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hostile-server", daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            path = request.split(b" ", 2)[1].decode("latin-1") if request.count(b" ") >= 2 else "/"
            self.requests.append(path)
            answer = self.answers.get(path)
            if answer is None:
                if path.startswith("/normal/"):
                    answer = _fixed("200 OK", normal_page(int(path.rsplit("/", 1)[1] or 0)))
                else:
                    answer = _fixed("404 Not Found", _page("Not found", "no such page"))
            conn.sendall(answer.head)
            sent = 0
            for piece in answer.body():
                if answer.drip:
                    time.sleep(answer.drip)
                conn.sendall(piece)
                sent += len(piece)
                if sent >= CAP or self._stopping.is_set():
                    break
            if answer.reset:
                _reset(conn)
                return
        except (OSError, ValueError):
            pass  # the client hung up: what a client that stops reading is expected to do
        finally:
            try:
                conn.close()
            except OSError:
                pass
