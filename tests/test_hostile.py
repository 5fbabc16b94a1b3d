"""Hostile servers and inputs: each gives a clear recorded error or a capture, the pass
finishes, and the archiver's memory stays bounded.

The server (tests/hostile_server.py) speaks raw TCP on loopback. The fetch-level tests run the
real Fetcher against each attack; the pass-level test runs `archiver run` as a process over
every attack and ordinary pages, and samples the memory of its whole process tree.
Redirects to private addresses are tested with private addresses refused (the server itself
is let through by an address policy naming only its own address), and are refused before any
connection: a trap listens where they point, and must see nobody.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.config import FetchConfig
from archiver.fetch import Fetcher, FetchResult, classify_address
from benchmarks.measure import TreeSampler
from tests.hostile_server import PRIVATE_TARGETS, HostileServer, redirect
from tests.processes import write_config

MB = 1024 * 1024
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hostile():
    server = HostileServer().start()
    yield server
    server.stop()


def fetch(url: str, policy=None, **settings) -> FetchResult:
    values = {"allow_private_addresses": True, "per_host_delay": 0.0, "timeout": 3.0, "total_timeout": 5.0,
              "max_bytes": 4 * MB} | settings
    config = FetchConfig(**values)

    async def go() -> FetchResult:
        async with Fetcher(config, **({"address_policy": policy} if policy else {})) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


@pytest.mark.parametrize("path, codings", [
    ("/bomb/gzip", "gzip"), ("/bomb/deflate", "deflate"), ("/bomb/deflate-raw", "deflate"), ("/bomb/br", "br"),
    ("/bomb/zstd", "zstd"), ("/bomb/gzip-gzip", "gzip, gzip"), ("/bomb/zstd-br", "br, zstd"),
])
def test_a_compression_bomb_is_cut_at_max_bytes(hostile, path, codings):
    result = fetch(hostile.url(path))
    assert result.error_kind == "too_large" and result.truncated and result.status == 200
    assert result.body == b"\0" * (4 * MB)
    assert result.error.startswith("page larger than the 4 MB limit once its ")
    assert f"compression is undone (Content-Encoding: {codings}); kept the first 4 MB" in result.error


@pytest.mark.parametrize("path", ["/endless/chunked", "/large/with-length", "/large/without-length"])
def test_a_body_over_max_bytes_is_cut_with_or_without_a_length(hostile, path):
    result = fetch(hostile.url(path))
    assert result.error_kind == "too_large" and len(result.body) == 4 * MB
    assert result.error == "page larger than the 4 MB limit; kept the first 4 MB"
    assert result.body.startswith(b"<p>The bureau published")


def test_a_one_byte_a_second_drip_ends_at_the_total_timeout(hostile):
    began = time.monotonic()
    result = fetch(hostile.url("/drip"), timeout=3.0, total_timeout=4.0)
    took = time.monotonic() - began
    assert result.error_kind == "timeout" and "gave up after 4 s" in result.error
    assert 3.5 < took < 6.0, took
    assert 1 <= len(result.body) <= 5, "what had arrived is kept"


def test_a_redirect_loop_is_an_error(hostile):
    result = fetch(hostile.url("/loop/a"))
    assert result.error_kind == "redirect_loop" and len(result.redirects) == 2


def test_a_chain_of_fifty_redirects_is_stopped_at_max_redirects_or_followed_when_allowed(hostile):
    stopped = fetch(hostile.url("/chain/0"))
    assert stopped.error_kind == "too_many_redirects" and "more than 10 redirects" in stopped.error
    followed = fetch(hostile.url("/chain/0"), max_redirects=50)
    assert followed.ok and followed.status == 200 and len(followed.redirects) == 50
    assert followed.final_url == hostile.url("/chain/50") and b"fifty hops later" in followed.body


@pytest.mark.parametrize("path, scheme", [("/to/file", "file:"), ("/to/gopher", "gopher:")])
def test_a_redirect_to_another_scheme_is_refused(hostile, path, scheme):
    result = fetch(hostile.url(path))
    assert result.error_kind == "bad_url" and f"redirected to '{scheme}" in result.error
    assert "which is not an http(s) address" in result.error


@pytest.mark.parametrize("path", ["/headers/many", "/headers/huge-line"])
def test_oversized_headers_are_a_protocol_error(hostile, path):
    result = fetch(hostile.url(path))
    assert result.error_kind == "protocol"
    assert "sent response headers larger than an HTTP client accepts (over 100 KB" in result.error


@pytest.mark.parametrize("path", ["/status/garbage", "/status/no-code", "/status/huge-code"])
def test_an_invalid_status_line_is_a_protocol_error(hostile, path):
    result = fetch(hostile.url(path))
    assert result.error_kind == "protocol" and "not valid HTTP: illegal status line" in result.error


def test_a_connection_reset_mid_body_keeps_what_arrived(hostile):
    result = fetch(hostile.url("/reset/mid-body"))
    assert result.error_kind == "connect" and result.status == 200
    assert "broke off in the middle of the answer" in result.error
    assert 0 < len(result.body) < MB


@pytest.fixture
def trap():
    """Listeners on 127.0.0.1 and [::1] at one port, counting who connects: nobody should."""
    v4 = socket.create_server(("127.0.0.1", 0))
    port = v4.getsockname()[1]
    listeners = [v4]
    try:
        listeners.append(socket.create_server(("::1", port), family=socket.AF_INET6))
    except OSError:
        pass  # no IPv6 loopback here
    for listener in listeners:
        listener.setblocking(False)

    def visitors() -> int:
        count = 0
        for listener in listeners:
            try:
                while True:
                    listener.accept()[0].close()
                    count += 1
            except BlockingIOError:
                pass
        return count

    yield port, visitors
    for listener in listeners:
        listener.close()


@pytest.fixture(scope="module")
def hostile_v2():
    """The hostile server on 127.0.0.2, which the refusal tests let through by name."""
    server = HostileServer("127.0.0.2").start()
    yield server
    server.stop()


@pytest.mark.parametrize("form", PRIVATE_TARGETS)
def test_a_redirect_to_this_machine_in_any_spelling_is_refused_before_connecting(hostile_v2, trap, form):
    port, visitors = trap
    target = form.format(port=port)
    hostile_v2.answers["/to/private"] = redirect(target)
    only_the_test_server = lambda address: None if address == "127.0.0.2" else classify_address(address)  # noqa: E731
    result = fetch(hostile_v2.url("/to/private"), policy=only_the_test_server, allow_private_addresses=False)
    assert result.error_kind == "private_address", (target, result.error)
    assert result.error.startswith("refused to fetch http://") and "Set allow_private_addresses = true" in result.error
    assert len(result.redirects) == 1 and result.status == 302
    time.sleep(0.05)
    assert visitors() == 0, f"{target} was connected to"


# --- one pass over every attack, measured ------------------------------------------------

NORMAL_PAGES = 60


def _captures(db_path: Path) -> dict[str, dict]:
    """The last capture of every source, by URL, with its main text."""
    from archiver.db import open_database
    from archiver.store import get_text

    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT s.url, s.state, c.error_kind, c.error, c.body_size, c.text_length, c.verdict, "
                          "c.text_sha256 FROM sources s LEFT JOIN captures c ON c.id = s.last_capture_id").fetchall()
    found = {row["url"]: dict(row) for row in rows}
    sessions = open_database(f"sqlite:///{db_path}")
    with sessions() as session:
        for capture in found.values():
            capture["text"] = get_text(session, capture["text_sha256"]) if capture["text_sha256"] else ""
    sessions.kw["bind"].dispose()
    return found


# Bodies past max_bytes end "too_large"; on a loaded machine a few of them may not have reached
# max_bytes when total_timeout ends them: "timeout" is as clear, and as bounded.
CUT = ("too_large", "timeout")
EXPECTED_ERRORS = {
    "/bomb/": CUT, "/endless/": CUT, "/large/": CUT, "/drip": "timeout",
    "/loop/": "redirect_loop", "/chain/": "too_many_redirects", "/to/": "bad_url", "/headers/": "protocol",
    "/status/": "protocol", "/reset/": "connect",
}


def test_a_pass_over_every_attack_records_each_captures_every_ordinary_page_and_stays_bounded(hostile, tmp_path):
    from archiver.db import open_database
    from archiver.sources import add_source

    db_path = tmp_path / "archive.db"
    config = write_config(tmp_path / "config.toml", f"sqlite:///{db_path}",
                          fetch={"per_host_concurrency": 16, "timeout": 30.0, "total_timeout": 30.0})
    attacks = [p for p in hostile.answers if p != "/loop/b" and not (p.startswith("/chain/") and p != "/chain/0")]
    normal = [f"/normal/{n}" for n in range(NORMAL_PAGES)]
    sessions = open_database(f"sqlite:///{db_path}")
    with sessions.begin() as session:
        for path in attacks + normal:
            add_source(session, hostile.url(path))
    sessions.kw["bind"].dispose()

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    process = subprocess.Popen([sys.executable, "-m", "archiver", "--config", str(config), "run", "--all", "--json",
                                "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, cwd=tmp_path)
    sampler = TreeSampler(process.pid)
    sampler.start()
    try:
        out, err = process.communicate(timeout=600)
    finally:
        sampler.stop()
        if process.poll() is None:
            process.kill()
    peak_pss_mb, peak_rss_mb = sampler.peak_pss_kb / 1024, sampler.peak_rss_kb / 1024
    print(f"\n{len(attacks)} attacks and {NORMAL_PAGES} ordinary pages: peak PSS {peak_pss_mb:.0f} MB, "
          f"peak RSS {peak_rss_mb:.0f} MB over {sampler.peak_processes} processes")
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["total"] == len(attacks) + NORMAL_PAGES

    captures = _captures(db_path)
    for path in normal:
        assert captures[hostile.url(path)]["state"] == "new", (path, captures[hostile.url(path)])
    for path in attacks:
        capture = captures[hostile.url(path)]
        expected = next((kind for prefix, kind in EXPECTED_ERRORS.items() if path.startswith(prefix)), None)
        assert capture["error_kind"] in (expected if isinstance(expected, tuple) else (expected,)), (path, capture)
        assert (capture["body_size"] or 0) <= 50 * MB
        if expected:
            assert capture["error"] and capture["state"] == "unreachable", (path, capture)
        else:
            assert capture["state"] == "new", (path, capture)
    for path in ("/charset/lying-header", "/charset/lying-meta"):
        assert "二〇二三年国民经济和社会发展统计公报" in captures[hostile.url(path)]["text"], path
    one_line = captures[hostile.url("/one-line")]
    assert 48 * MB <= one_line["body_size"] < 48 * MB + 100 and one_line["text_length"] <= 2 * MB
    assert one_line["error"].startswith("text extracted from the first 2 MB of this page's 48 MB of HTML")
    for path in ("/pdf/truncated", "/pdf/no-xref", "/pdf/garbage"):
        assert captures[hostile.url(path)]["error"].startswith("could not parse PDF"), path
    cut = [captures[hostile.url(p)] for p in attacks if p.startswith(("/bomb/", "/endless/", "/large/"))]
    assert sum(c["error_kind"] == "too_large" and c["body_size"] == 50 * MB for c in cut) >= len(cut) // 2

    verify = subprocess.run([sys.executable, "-m", "archiver", "--config", str(config), "verify"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert peak_pss_mb < 1024, f"the pass's processes together peaked at {peak_pss_mb:.0f} MB (PSS)"
