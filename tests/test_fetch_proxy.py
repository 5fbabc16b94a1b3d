"""archiver.fetch through real proxies (pproxy on loopback): SOCKS5 and HTTP, credentials,
a proxy that refuses a site, a proxy that is down, and the private-address guard, which
applies to the pages fetched and never to the proxy."""

from __future__ import annotations

import asyncio

import pytest

from archiver.config import FetchConfig
from archiver.fetch import Fetcher, FetchResult
from tests.proxyserver import ProxyServer
from tests.siteserver import Site
from tests.test_fetch import make_config

CHINESE = "<html><head><meta charset='gbk'></head><body><p>国务院关于印发通知</p></body></html>".encode("gbk")


def fetch(url: str, config: FetchConfig | None = None, **fetcher_kwargs) -> FetchResult:
    async def go():
        async with Fetcher(config or make_config(), **fetcher_kwargs) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def sites():
    sites = Site("127.0.0.1").start(), Site("127.0.0.2").start()
    yield sites
    for s in sites:
        s.stop()


@pytest.fixture(scope="module")
def proxy():
    """A proxy asking for a user and password that refuses every page of 127.0.0.3."""
    server = ProxyServer(user="alice", password="pa55-w0rd-x", block=r"127\.0\.0\.3").start()
    yield server
    server.stop()


@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "http"])
def test_pages_go_through_the_proxy(sites, proxy, scheme):
    url = sites[1].set(f"/notice-{scheme}.html", CHINESE, content_type="text/html")
    before = len(proxy.forwarded())
    result = fetch(url, proxy=proxy.url(scheme), vantage="cn")
    assert result.ok and result.status == 200, result.error
    assert result.body == CHINESE
    assert result.vantage == "cn"
    assert proxy.forwarded()[before:] == [f"127.0.0.2:{sites[1].port}"]
    # The server is not the proxy: the address recorded is the page's host, never the proxy's.
    assert result.server_ip is None and result.addresses == ["127.0.0.2"]


def test_proxy_from_the_fetch_settings_is_used_by_default(sites, proxy):
    url = sites[1].set("/default.html", "<p>through the configured proxy</p>")
    before = len(proxy.forwarded())
    result = fetch(url, make_config(proxy=proxy.url("http")))
    assert result.status == 200 and result.vantage is None
    assert len(proxy.forwarded()) == before + 1


def test_wrong_password_is_a_proxy_failure_with_the_password_masked(sites, proxy):
    url = sites[1].set("/x.html", "<p>x</p>")
    for scheme in ("socks5", "http"):
        result = fetch(url, proxy=proxy.url(scheme, password="not-the-s3cret"), vantage="cn")
        assert not result.ok
        assert result.error_kind == "proxy", (scheme, result.error)
        assert "vantage cn" in result.error
        assert "not-the-s3cret" not in result.error


def test_a_proxy_that_is_down_is_named(sites):
    url = sites[1].set("/y.html", "<p>y</p>")
    down = ProxyServer().start()
    address = down.url("socks5")
    down.stop()
    result = fetch(url, proxy=address, vantage="cn")
    assert result.error_kind == "proxy"
    assert result.error.startswith("could not connect to the proxy of vantage cn")


def test_a_proxy_that_refuses_a_site(proxy):
    blocked = Site("127.0.0.3").start()
    try:
        url = blocked.set("/page.html", "<p>only from elsewhere</p>")
        for scheme in ("socks5", "http"):
            result = fetch(url, proxy=proxy.url(scheme), vantage="direct")
            assert not result.ok and result.status is None
            assert result.error_kind == "connect", result.error
            assert "vantage direct" in result.error and "pa55-w0rd-x" not in result.error
        assert blocked.requests == []
        assert "127.0.0.3" in proxy.refused()
    finally:
        blocked.stop()


def test_the_address_guard_judges_the_page_not_the_proxy(sites, proxy):
    """The proxy listens on 127.0.0.1, an address this test's policy forbids: pages of
    127.0.0.2 are fetched through it all the same, pages of 127.0.0.1 are refused before
    anything is sent to the proxy."""

    def forbid_first(address: str) -> str | None:
        return "an address this test forbids" if address == "127.0.0.1" else None

    allowed = sites[1].set("/public.html", "<p>public</p>")
    forbidden = sites[0].set("/private.html", "<p>private</p>")
    config = make_config(allow_private_addresses=False)
    before = len(proxy.forwarded())
    ok = fetch(allowed, config, proxy=proxy.url("socks5"), vantage="cn", address_policy=forbid_first)
    assert ok.status == 200, ok.error
    refused = fetch(forbidden, config, proxy=proxy.url("socks5"), vantage="cn", address_policy=forbid_first)
    assert refused.error_kind == "private_address"
    assert proxy.forwarded()[before:] == [f"127.0.0.2:{sites[1].port}"]
    assert sites[0].hits("/private.html") == 0
