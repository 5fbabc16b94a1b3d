"""Tests for archiver.fetch against real loopback HTTP servers."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from contextlib import contextmanager
from datetime import UTC

import pytest

from archiver.config import FetchConfig
from archiver.fetch import Fetcher, FetchResult, Hop, classify_address
from tests.siteserver import Site


def make_config(**overrides) -> FetchConfig:
    config = FetchConfig(allow_private_addresses=True, per_host_delay=0.0, timeout=5.0, total_timeout=10.0)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def fetch(url: str, config: FetchConfig | None = None, **kwargs) -> FetchResult:
    async def go():
        async with Fetcher(config or make_config()) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def fetch_many(urls: list[str], config: FetchConfig, **fetcher_kwargs) -> list[FetchResult]:
    async def go():
        async with Fetcher(config, **fetcher_kwargs) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(u) for u in urls))

    return asyncio.run(go())


def _reset(site: Site) -> Site:
    with site.lock:
        site.pages.clear()
        site.requests.clear()
    return site


@pytest.fixture(scope="module")
def _sites():
    """Servers shared by this module's tests: stopping one takes half a second."""
    sites = Site("127.0.0.1").start(), Site("127.0.0.2").start()
    yield sites
    for s in sites:
        s.stop()


@pytest.fixture
def site(_sites):
    """A loopback site on 127.0.0.1 with no pages and an empty request log."""
    return _reset(_sites[0])


@pytest.fixture
def second_site(_sites):
    """Another loopback site on 127.0.0.2: a different host for the per-host rules."""
    return _reset(_sites[1])


@contextmanager
def raw_server(reply: bytes):
    """A TCP server on loopback that answers every connection with `reply`, whatever was asked."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def start_times(site: Site) -> list[float]:
    return sorted(r["time"] for r in site.requests)


# A request is stamped when the server reads it, a few milliseconds after the fetcher started it.
JITTER = 0.03


def test_plain_page_records_status_headers_body_and_peer(site):
    body = "<html><body><p>国务院关于进一步优化营商环境的意见</p></body></html>".encode()
    url = site.set("/news/1.html", body, headers={"X-Served-By": "test"})
    result = fetch(url)
    assert result.ok
    assert (result.status, result.error_kind, result.error) == (200, None, None)
    assert result.requested_url == result.final_url == url
    assert result.redirects == []
    assert result.body == body
    assert result.content_type == "text/html; charset=utf-8"
    assert result.header("x-served-by") == "test"
    assert result.header("X-SERVED-BY") == "test"
    assert result.header("x-absent") is None
    assert result.server_ip == "127.0.0.1"
    assert result.http_version == "HTTP/1.1"
    assert result.started_at.tzinfo == UTC and result.started_at <= result.ended_at
    assert not result.truncated and not result.not_modified


def test_sends_configured_headers(site):
    url = site.set("/a", "ok")
    config = make_config(user_agent="TestArchiver/1.0", accept_language="zh-CN,zh;q=0.9")
    result = fetch(url, config)
    sent = site.requests[0]["headers"]
    assert sent["User-Agent"] == "TestArchiver/1.0"
    assert sent["Accept-Language"] == "zh-CN,zh;q=0.9"
    assert "text/html" in sent["Accept"] and "application/pdf" in sent["Accept"]
    assert "If-None-Match" not in sent
    assert result.request_headers["User-Agent"] == "TestArchiver/1.0"


def test_raw_response_headers_keep_order_case_and_duplicates():
    reply = (b"HTTP/1.1 200 OK\r\nX-B: first\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
             b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
    with raw_server(reply) as url:
        result = fetch(url)
    assert result.ok
    assert result.response_headers[:3] == [("X-B", "first"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
    assert result.header("SET-COOKIE") == "a=1"
    assert result.body == b"ok"


def test_redirect_chain_is_recorded(site):
    start = site.redirect("/old", "/moved", 301)
    site.redirect("/moved", "/final", 302)
    final = site.set("/final", "<p>final</p>")
    result = fetch(start)
    assert result.ok and result.status == 200
    assert result.final_url == final
    assert result.body == b"<p>final</p>"
    assert result.redirects == [Hop(start, 301, site.url("/moved")), Hop(site.url("/moved"), 302, final)]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed(site, status):
    start = site.redirect("/from", "/to", status)
    site.set("/to", "arrived")
    result = fetch(start)
    assert result.ok and result.body == b"arrived"
    assert [h.status for h in result.redirects] == [status]


def test_relative_redirects_resolve_against_the_current_url(site):
    site.set("/a/b/start", status=302, headers={"Location": "next"}, content_type=None)
    site.set("/a/b/next", status=302, headers={"Location": "../c/page?id=7"}, content_type=None)
    site.set("/a/c/page?id=7", status=302, headers={"Location": "/top"}, content_type=None)
    site.set("/top", "top")
    result = fetch(site.url("/a/b/start"))
    assert result.ok and result.body == b"top"
    assert [h.location for h in result.redirects] == [
        site.url("/a/b/next"), site.url("/a/c/page?id=7"), site.url("/top")]


def test_redirect_limit(site):
    for i in range(4):
        site.redirect(f"/r{i}", f"/r{i + 1}", 302)
    site.set("/r4", "end")
    allowed = fetch(site.url("/r1"), make_config(max_redirects=3))
    assert allowed.ok and allowed.body == b"end" and len(allowed.redirects) == 3
    refused = fetch(site.url("/r0"), make_config(max_redirects=3))
    assert refused.error_kind == "too_many_redirects"
    assert "more than 3 redirects" in refused.error
    assert not refused.ok
    assert site.hits("/r4") == 1


def test_redirect_loop(site):
    site.redirect("/ping", "/pong", 302)
    site.redirect("/pong", "/ping", 302)
    result = fetch(site.url("/ping"))
    assert result.error_kind == "redirect_loop"
    assert len(result.redirects) == 2
    assert "loop" in result.error and site.url("/ping") in result.error
    assert site.hits("/ping") == 1


def test_self_redirect_setting_a_cookie_is_followed_once_then_cookie_sent(site):
    site.set("/gate", status=302, headers={"Location": "/content", "Set-Cookie": "visited=yes; Path=/"},
             content_type=None)
    site.set("/content", "inside")
    result = fetch(site.url("/gate"))
    assert result.ok and result.body == b"inside"
    assert site.requests[-1]["headers"].get("Cookie") == "visited=yes"


def test_cookies_do_not_leak_between_fetches(site):
    first = site.set("/sets", "x", headers={"Set-Cookie": "session=abc; Path=/"})
    second = site.set("/other", "y")

    async def go():
        async with Fetcher(make_config()) as fetcher:
            await fetcher.fetch(first)
            await fetcher.fetch(second)

    asyncio.run(go())
    assert "Cookie" not in site.requests[1]["headers"]


def test_location_in_raw_gbk_bytes_is_percent_encoded_as_sent():
    reply = b"HTTP/1.1 302 Found\r\nLocation: /" + "新闻".encode("gbk") + b"\r\nContent-Length: 0\r\n\r\n"
    with raw_server(reply) as url:
        result = fetch(url)
    assert result.redirects[0].location == url + "%D0%C2%CE%C5"
    assert result.error_kind == "redirect_loop"


def test_redirect_to_non_http_scheme_is_bad_url(site):
    start = site.set("/mail", status=302, headers={"Location": "mailto:press@example.cn"}, content_type=None)
    result = fetch(start)
    assert result.error_kind == "bad_url"
    assert "mailto:press@example.cn" in result.error
    assert result.status == 302 and len(result.redirects) == 1


@pytest.mark.parametrize("url", ["ftp://example.com/file", "example.com/page", "http:///no-host"])
def test_bad_urls(url):
    result = fetch(url)
    assert result.error_kind == "bad_url"
    assert result.status is None and not result.ok


def test_loopback_refused_by_default(site):
    url = site.set("/secret", "internal")
    result = fetch(url, make_config(allow_private_addresses=False))
    assert result.error_kind == "private_address"
    assert "127.0.0.1" in result.error and "loopback" in result.error
    assert "allow_private_addresses" in result.error
    assert result.status is None and result.body == b""
    assert site.requests == []


def test_host_name_resolving_to_loopback_refused(site):
    site.set("/secret", "internal")
    result = fetch(f"http://localhost:{site.port}/secret", make_config(allow_private_addresses=False))
    assert result.error_kind == "private_address"
    assert "localhost resolves to" in result.error
    assert site.requests == []


def test_each_redirect_hop_is_checked(site, second_site):
    inner = second_site.set("/admin", "internal")
    start = site.redirect("/go", inner, 302)

    def refuse_second(address: str) -> str | None:
        return "an address this test forbids" if address == "127.0.0.2" else None

    results = fetch_many([start], make_config(allow_private_addresses=False), address_policy=refuse_second)
    result = results[0]
    assert result.error_kind == "private_address"
    assert "127.0.0.2" in result.error
    assert result.redirects == [Hop(start, 302, inner)]
    assert site.hits("/go") == 1
    assert second_site.requests == []


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.5.4", "192.168.1.1", "169.254.169.254", "127.0.0.1", "0.0.0.0",
    "224.0.0.1", "239.255.255.250", "100.64.0.1", "240.0.0.1", "::1", "::", "fe80::1", "fc00::1",
    "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2002:c0a8:0101::1",
])
def test_classifier_refuses_non_public_addresses(address):
    assert classify_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "114.114.114.114", "202.108.22.5", "2001:4860:4860::8888"])
def test_classifier_allows_public_addresses(address):
    assert classify_address(address) is None


def test_classifier_names_the_kind_of_address():
    assert "loopback" in classify_address("127.0.0.1")
    assert "private" in classify_address("192.168.0.10")
    assert "link-local" in classify_address("169.254.169.254")
    assert "multicast" in classify_address("224.0.0.1")


def test_oversized_body_is_truncated(site):
    body = bytes(range(256)) * 6144  # 1.5 MB
    url = site.set("/big.pdf", body, content_type="application/pdf")
    result = fetch(url, make_config(max_bytes=1024 * 1024))
    assert result.error_kind == "too_large" and result.truncated
    assert result.error == "page larger than the 1 MB limit; kept the first 1 MB"
    assert result.body == body[: 1024 * 1024]
    assert result.status == 200 and not result.ok


def test_body_exactly_at_limit_is_complete(site):
    url = site.set("/exact", b"x" * 1000)
    result = fetch(url, make_config(max_bytes=1000))
    assert result.ok and not result.truncated and len(result.body) == 1000


def test_compressed_body_is_decoded_and_limit_applies_to_decoded_size(site):
    text = ("<p>中华人民共和国国家统计局</p>" * 4000).encode("gbk")
    small = site.set("/small", gzip.compress(text[:500]), headers={"Content-Encoding": "gzip"})
    large = site.set("/large", gzip.compress(text), headers={"Content-Encoding": "gzip"})
    assert len(gzip.compress(text)) < 20_000 < len(text)
    assert fetch(small).body == text[:500]
    result = fetch(large, make_config(max_bytes=20_000))
    assert result.error_kind == "too_large"
    assert result.body == text[:20_000]


def test_slow_server_hits_the_total_time_limit(site):
    url = site.set("/slow", "late", delay=3.0)
    began = time.monotonic()
    result = fetch(url, make_config(timeout=5.0, total_timeout=0.5))
    elapsed = time.monotonic() - began
    assert result.error_kind == "timeout"
    assert "0.5 s" in result.error and "127.0.0.1" in result.error
    assert 0.4 < elapsed < 1.5


def test_slow_body_hits_the_total_time_limit_and_keeps_what_arrived(site):
    url = site.set("/trickle", b"a" * 40 * 1024, chunk_delay=0.1)
    result = fetch(url, make_config(timeout=5.0, total_timeout=0.6))
    assert result.error_kind == "timeout"
    assert result.status == 200
    assert 0 < len(result.body) < 40 * 1024


def test_read_timeout_per_request(site):
    url = site.set("/stall", "late", delay=2.0)
    began = time.monotonic()
    result = fetch(url, make_config(timeout=0.3, total_timeout=10.0))
    assert result.error_kind == "timeout"
    assert "0.3 s" in result.error
    assert time.monotonic() - began < 1.5


def test_connection_refused():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result = fetch(f"http://127.0.0.1:{port}/")
    assert result.error_kind == "connect"
    assert "refused" in result.error
    assert result.status is None


def test_unresolvable_host_is_dns_failure():
    result = fetch("http://nonexistent.invalid/page", make_config(timeout=2.0))
    assert result.error_kind == "dns"
    assert "nonexistent.invalid" in result.error


def test_tls_failure(site):
    site.set("/", "plain http only")
    result = fetch(f"https://127.0.0.1:{site.port}/")
    assert result.error_kind == "tls"
    assert "TLS" in result.error


def test_garbage_response_is_protocol_error():
    with raw_server(b"this is not HTTP at all\r\n\r\n") as url:
        result = fetch(url)
    assert result.error_kind == "protocol"
    assert "127.0.0.1" in result.error


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_error_statuses_are_not_fetch_errors(site, status):
    url = site.set("/gone", "<h1>页面不存在</h1>", status=status)
    result = fetch(url)
    assert result.ok and result.error_kind is None
    assert result.status == status
    assert result.body == "<h1>页面不存在</h1>".encode()


def test_etag_conditional_request(site):
    url = site.set("/doc", "v1", etag='"abc"')
    result = fetch(url, etag='"abc"')
    assert site.requests[0]["headers"]["If-None-Match"] == '"abc"'
    assert result.status == 304 and result.not_modified and result.ok
    changed = fetch(url, etag='"old"')
    assert changed.status == 200 and not changed.not_modified and changed.body == b"v1"


def test_last_modified_conditional_request(site):
    stamp = "Wed, 01 May 2024 08:00:00 GMT"
    url = site.set("/doc", "v1", last_modified=stamp)
    result = fetch(url, last_modified=stamp)
    assert site.requests[0]["headers"]["If-Modified-Since"] == stamp
    assert result.not_modified and result.status == 304


STAMP = "Wed, 01 May 2024 08:00:00 GMT"
OLDER = "Mon, 01 Jan 2024 00:00:00 GMT"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_conditions_are_not_sent_across_a_redirect(site, status):
    """The article's validators go to the article only: the home page it now redirects to,
    which would answer 304 to them, gets a plain request and answers with its page."""
    site.set("/", "<h1>Home</h1>", etag='"build-7"', last_modified=OLDER)
    url = site.redirect("/news/a.html", "/", status=status)
    result = fetch(url, etag='"build-7"', last_modified=STAMP)
    article, home = [r["headers"] for r in site.requests]
    assert article.get("If-None-Match") == '"build-7"' and article.get("If-Modified-Since") == STAMP
    assert "If-None-Match" not in home and "If-Modified-Since" not in home
    assert result.status == 200 and not result.not_modified and result.body == b"<h1>Home</h1>"
    assert result.final_url == site.url("/")


def test_conditions_go_to_the_address_they_came_from(site):
    """A capture that ended at B after a redirect holds B's validators: B gets them, the
    redirecting address does not, and B's 304 means not modified."""
    start = site.redirect("/old", "/new", status=301)
    site.set("/new", "v1", etag='"abc"')
    result = fetch(start, etag='"abc"', validated_url=site.url("/new"))
    first, second = [r["headers"] for r in site.requests]
    assert "If-None-Match" not in first and second.get("If-None-Match") == '"abc"'
    assert result.status == 304 and result.not_modified and result.final_url == site.url("/new")


def test_a_304_from_an_address_not_asked_is_refetched_then_refused(site):
    """A server that answers 304 to a request without conditions breaks the chain: the fetch is
    made again without conditions, and a second such answer is a protocol error, never
    'not modified'."""
    site.set("/", b"", status=304, content_type=None)
    url = site.redirect("/news/a.html", "/", status=302)
    result = fetch(url, etag='"v1"')
    assert [r["path"] for r in site.requests] == ["/news/a.html", "/", "/news/a.html", "/"]
    assert "If-None-Match" in site.requests[0]["headers"]
    assert all("If-None-Match" not in r["headers"] for r in site.requests[1:])
    assert not result.not_modified and not result.ok
    assert result.error_kind == "protocol" and "not conditional" in result.error
    plain = fetch(site.url("/"))
    assert plain.error_kind == "protocol" and not plain.not_modified


def test_conditional_requests_can_be_switched_off(site):
    url = site.set("/doc", "v1", etag='"abc"')
    result = fetch(url, make_config(conditional_requests=False), etag='"abc"')
    assert "If-None-Match" not in site.requests[0]["headers"]
    assert result.status == 200 and not result.not_modified


def test_requests_to_one_host_are_spaced(site):
    urls = [site.set(f"/p{i}", f"page {i}") for i in range(4)]
    results = fetch_many(urls, make_config(per_host_delay=0.3, per_host_concurrency=4))
    assert all(r.ok for r in results)
    times = start_times(site)
    assert len(times) == 4
    assert all(b - a >= 0.3 - JITTER for a, b in zip(times, times[1:]))


def test_different_hosts_proceed_in_parallel(site, second_site):
    urls = [site.set(f"/a{i}", "a") for i in range(2)] + [second_site.set(f"/b{i}", "b") for i in range(2)]
    results = fetch_many(urls, make_config(per_host_delay=0.5))
    assert all(r.ok for r in results)
    first, second = start_times(site), start_times(second_site)
    assert abs(first[0] - second[0]) < 0.2
    assert first[1] - first[0] >= 0.5 - JITTER and second[1] - second[0] >= 0.5 - JITTER


def test_per_host_concurrency(site):
    urls = [site.set(f"/slow{i}", "x", delay=0.3) for i in range(6)]
    results = fetch_many(urls, make_config(per_host_concurrency=2))
    assert all(r.ok for r in results)
    times = start_times(site)
    assert times[1] - times[0] < 0.2
    assert all(times[i + 2] - times[i] >= 0.3 - JITTER for i in range(4))


def test_global_concurrency_limits_all_hosts(site, second_site):
    urls = [site.set("/x", "x", delay=0.3), second_site.set("/y", "y", delay=0.3)]
    results = fetch_many(urls, make_config(concurrency=1))
    assert all(r.ok for r in results)
    first, second = sorted(start_times(site) + start_times(second_site))
    assert second - first >= 0.3 - JITTER


def test_connections_are_reused_across_sites_taking_turns(site, second_site):
    """With one request in flight at a time, two sites served in turn keep one connection each:
    a site's next page does not pay for a new connection (a TLS handshake, on the web)."""
    urls = [s.set(f"/turn{i}", f"page {i}") for i in range(4) for s in (site, second_site)]

    async def go():
        async with Fetcher(make_config(concurrency=1, per_host_delay=0)) as fetcher:
            return [await fetcher.fetch(url) for url in urls]

    assert [r.status for r in asyncio.run(go())] == [200] * 8
    for s in (site, second_site):
        clients = {r["client"] for r in s.requests if r["path"].startswith("/turn")}
        assert len(clients) == 1, f"{len(clients)} connections to one site for 4 pages"


def test_many_concurrent_fetches(site, second_site):
    urls = [site.set(f"/n{i}", f"第{i}页") for i in range(40)]
    urls += [second_site.set(f"/m{i}", f"page {i}") for i in range(20)]
    results = fetch_many(urls, make_config(concurrency=8, per_host_concurrency=4))
    assert [r.status for r in results] == [200] * 60
    assert [r.body.decode("utf-8") for r in results] == [f"第{i}页" for i in range(40)] + [f"page {i}" for i in range(20)]
    assert [r.final_url for r in results] == urls
