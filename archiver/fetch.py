"""Fetch web pages politely and safely, and record everything about the exchange.

One `Fetcher` serves a whole capture run. It limits how many requests run at once
(overall and per host), spaces out requests to the same host, follows redirects
itself so that every hop is recorded and checked, refuses private and loopback
addresses (a tracked URL must not be able to reach the archive's own network),
stops reading at a size limit and gives up after a time limit.

Nothing raises out of `Fetcher.fetch`: every failure comes back as a `FetchResult`
whose `error_kind` says what kind of failure it was and whose `error` explains it in
a sentence a researcher can act on. HTTP error statuses (404, 500 ...) are not
failures here; judging them is the verdict layer's job.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from archiver.config import FetchConfig
from archiver.content_coding import BoundedDecoder, CodingError, TooLarge
from archiver.provenance import Exchange, exchange, tls_of
from archiver.redact import mask_url

log = logging.getLogger(__name__)

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,application/pdf;q=0.9,*/*;q=0.8"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# The most header bytes httpcore reads before giving up on a response ("Receive buffer too long").
MAX_HEADER_BYTES = 100 * 1024
# Idle per-host connection pools kept, per request slot (see Fetcher._pool).
IDLE_SITES_PER_SLOT = 2
ERROR_KINDS = (
    "timeout",
    "connect",
    "dns",
    "tls",
    "too_large",
    "too_many_redirects",
    "redirect_loop",
    "private_address",
    "bad_url",
    "protocol",
    "proxy",
    "other",
)
_URL_SAFE_ASCII = "".join(chr(i) for i in range(0x21, 0x7F))


@dataclass
class Hop:
    """One redirect step: `url` answered `status` and sent us on to `location` (absolute)."""

    url: str
    status: int
    location: str


@dataclass
class FetchResult:
    """Everything recorded about one fetch, successful or not.

    `final_url`, `status`, the headers and `server_ip` describe the last response received,
    which after a refused or failed redirect is the redirect response itself. When a
    failure happens while the body is being read (timeout, size limit, broken connection),
    `body` holds what had arrived.
    """

    requested_url: str
    final_url: str | None = None
    status: int | None = None
    redirects: list[Hop] = field(default_factory=list)
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    truncated: bool = False
    server_ip: str | None = None
    http_version: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    error_kind: str | None = None
    error: str | None = None
    not_modified: bool = False
    content_type: str | None = None
    # The server address of every response in the chain, redirects included, in order. Through
    # a proxy, the addresses the target's name resolves to here (the proxy's own is not the server's).
    addresses: list[str] = field(default_factory=list)
    # The vantage point the page was fetched from (archiver.vantages), None for the [fetch] settings.
    vantage: str | None = None
    # Every request and response of the chain, with its headers and TLS details (archiver.provenance).
    exchanges: list[Exchange] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first value of response header `name` (any letter case), or None."""
        wanted = name.lower()
        for key, value in self.response_headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def ok(self) -> bool:
        """A response arrived and nothing went wrong (the status may still be 404 or 500)."""
        return self.error_kind is None and self.status is not None


class _Failure(Exception):
    """Ends a fetch: `kind` is one of ERROR_KINDS, `message` is shown to the researcher."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def classify_address(address: str) -> str | None:
    """Say why an IP address must not be fetched ("a loopback address" ...), or None if it is public.

    IPv4 addresses written inside IPv6 (::ffff:10.0.0.1, 6to4) are judged by the IPv4 address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private network address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public internet address"
    return None


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _seconds(s: float) -> str:
    return f"{s:g} s"


def _now() -> datetime:
    return datetime.now(UTC)


def _decode_header(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _location(response: httpx.Response) -> str | None:
    """The Location header as URL text; raw non-UTF-8 bytes (GBK paths) are percent-encoded as sent."""
    for name, value in response.headers.raw:
        if name.lower() == b"location":
            value = value.strip()
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return quote(value, safe=_URL_SAFE_ASCII)
    return None


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _Failure("bad_url", f"not a web address that can be fetched: {url!r} ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise _Failure("bad_url", f"only http and https addresses can be fetched, not {url!r}")
    if not parsed.raw_host:
        raise _Failure("bad_url", f"the address {url!r} has no host name")
    return parsed


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower()


def _caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_DNS_PHRASES = ("name or service not known", "nodename nor servname", "getaddrinfo failed",
                "temporary failure in name resolution", "no address associated with hostname")


def _failure_from(exc: httpx.HTTPError, url: httpx.URL, config: FetchConfig) -> _Failure:
    """Turn an httpx exception into a failure kind and a sentence naming the host."""
    host = url.host
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return _Failure("timeout", f"timed out after {_seconds(config.timeout)} trying to connect to {host}")
    if isinstance(exc, httpx.ReadTimeout):
        return _Failure("timeout", f"timed out after {_seconds(config.timeout)} waiting for {host} to send data")
    if isinstance(exc, httpx.WriteTimeout):
        return _Failure("timeout", f"timed out after {_seconds(config.timeout)} sending the request to {host}")
    if isinstance(exc, httpx.PoolTimeout):
        return _Failure("timeout", f"timed out after {_seconds(config.timeout)} waiting for a free connection to {host}")
    if isinstance(exc, httpx.TimeoutException):
        return _Failure("timeout", f"timed out waiting for {host}")
    if isinstance(exc, httpx.NetworkError):
        tls_error = _caused_by(exc, ssl.SSLError)
        if tls_error is not None or "SSL" in text:
            reason = getattr(tls_error, "reason", None) or getattr(tls_error, "verify_message", None) or text
            return _Failure("tls", f"the secure (TLS) connection to {host} failed: {reason}")
        if _caused_by(exc, socket.gaierror) is not None or any(p in text.lower() for p in _DNS_PHRASES):
            return _Failure("dns", f"could not find the address of {host} (DNS lookup failed: {text})")
        if isinstance(exc, httpx.ConnectError):
            if _caused_by(exc, ConnectionRefusedError) is not None or "refused" in text.lower():
                return _Failure("connect", f"could not connect to {host} port {url.port or _default_port(url)}: "
                                           "the connection was refused (nothing is listening there, or a firewall blocks it)")
            return _Failure("connect", f"could not connect to {host}: {text}")
        if _caused_by(exc, ConnectionResetError) is not None or isinstance(exc, httpx.ReadError):
            detail = f": {exc}" if str(exc) else ""
            return _Failure("connect", f"the connection to {host} broke off in the middle of the answer "
                                       f"(reset by the server or the network{detail})")
        return _Failure("connect", f"the connection to {host} broke off: {text}")
    if isinstance(exc, httpx.DecodingError):
        return _Failure("protocol", f"{host} sent a compressed page that could not be decompressed: {text}")
    if isinstance(exc, httpx.ProtocolError):
        if "receive buffer too long" in text.lower():
            return _Failure("protocol", f"{host} sent response headers larger than an HTTP client accepts "
                                        f"(over {_size(MAX_HEADER_BYTES)}: a 1 MB header line, thousands of headers)")
        return _Failure("protocol", f"{host} sent an answer that is not valid HTTP: {text}")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return _Failure("bad_url", f"not a web address that can be fetched: {url} ({text})")
    return _Failure("other", f"fetching {url} failed: {type(exc).__name__}: {text}")


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


@dataclass
class _HostTurns:
    """Politeness state of one host: how many requests may run, and when the last one started."""

    running: asyncio.Semaphore
    spacing: asyncio.Lock
    last_start: float = float("-inf")


@dataclass
class _SitePool:
    """One site's connection pool, and how many of its requests are under way."""

    transport: httpx.AsyncHTTPTransport
    active: int = 0


class Fetcher:
    """A polite, bounded HTTP client for one capture run; use as `async with Fetcher(config) as f`.

    `address_policy` says why an IP address is refused, or None to allow it; it applies only
    while `config.allow_private_addresses` is false. The default refuses every address that is
    not public. It applies to the pages fetched, never to the proxy: `proxy` (default
    `config.proxy`, "" for none) is where every request of this fetcher goes through, and
    may well be on this machine (an SSH tunnel). `vantage` names it on every result.
    """

    def __init__(self, config: FetchConfig, *, address_policy: Callable[[str], str | None] = classify_address,
                 proxy: str | None = None, vantage: str | None = None) -> None:
        self.config = config
        self.address_policy = address_policy
        self.proxy = config.proxy if proxy is None else proxy
        self.vantage = vantage
        self._client: httpx.AsyncClient | None = None
        self._pools: OrderedDict[tuple, _SitePool] = OrderedDict()
        self._tls: ssl.SSLContext | None = None
        self._running: asyncio.Semaphore | None = None
        self._hosts: dict[str, _HostTurns] = {}

    async def __aenter__(self) -> Fetcher:
        self._running = asyncio.Semaphore(self.config.concurrency)
        self._hosts = {}
        self._pools = OrderedDict()
        self._tls = httpx.create_ssl_context(trust_env=False)  # one for all pools: each takes ~70 ms to make
        if self.config.ca_file:
            self._tls.load_verify_locations(cafile=self.config.ca_file)
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                         timeout=httpx.Timeout(self.config.timeout))
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    validated_url: str | None = None) -> FetchResult:
        """GET `url`, following redirects, and return what happened; never raises for a failed fetch.

        `etag` and `last_modified` (from the previous capture) make the request conditional when
        `config.conditional_requests` is on, but only the request to `validated_url` (default:
        `url`), the address whose response carried them: a validator says nothing about any other
        address, and another page (a home page a deleted article now redirects to) may well
        answer 304 to it. A 304 is `not_modified` only as the answer to that request; a 304 from
        any other address breaks the chain, and the whole fetch is made again without
        conditions (a second such 304 is a protocol error). Cookies set during the redirect
        chain are sent on its later hops but never carried over to another fetch.
        """
        if self._client is None:
            raise RuntimeError("Fetcher must be used as `async with Fetcher(config) as fetcher:`")
        conditional: dict[str, str] = {}
        if self.config.conditional_requests:
            if etag:
                conditional["If-None-Match"] = etag
            if last_modified:
                conditional["If-Modified-Since"] = last_modified
        target = _same_address_key(validated_url or url) if conditional else None
        result = await self._fetch_once(url, conditional, target)
        if result.error_kind == "unasked_304" and conditional:
            log.info("%s; fetching %s again without conditions", result.error, url)
            result = await self._fetch_once(url, {}, None)
        if result.error_kind == "unasked_304":
            result.error_kind = "protocol"
        result.not_modified = result.status == 304 and result.error_kind is None
        return result

    async def _fetch_once(self, url: str, conditional: dict[str, str], validated: str | None) -> FetchResult:
        result = FetchResult(requested_url=url, vantage=self.vantage)
        try:
            await self._follow(result, url, conditional, validated)
        except _Failure as failure:
            result.error_kind, result.error = failure.kind, failure.message
        except Exception as exc:
            result.error_kind = "other"
            result.error = f"unexpected error while fetching {url}: {type(exc).__name__}: {exc}"
        result.ended_at = _now()
        return result

    async def _follow(self, result: FetchResult, url: str, conditional: dict[str, str], validated: str | None) -> None:
        current = _parse_url(url)
        cookies = httpx.Cookies()
        seen = {_visit_key(current, cookies)}
        spent = 0.0
        first = True
        while True:
            asked = conditional if validated is not None and _same_address_key(str(current)) == validated else {}
            async with self._turn(_host(current)):
                if first:
                    result.started_at = _now()
                    first = False
                began = time.monotonic()
                budget = self.config.total_timeout - spent
                try:
                    async with asyncio.timeout(max(budget, 0.0)):
                        resolved = await self._check_address(current)
                        response = await self._exchange(result, current, cookies, asked)
                except TimeoutError:
                    raise _Failure("timeout", f"gave up after {_seconds(self.config.total_timeout)} "
                                              f"(the time limit for one page) waiting for {current.host}") from None
                finally:
                    spent += time.monotonic() - began
            if result.server_ip:
                result.addresses.append(result.server_ip)
            elif self.proxy:
                result.addresses.extend(resolved)
            if response.status_code == 304 and not asked:
                hops = f" after {len(result.redirects)} redirect(s)" if result.redirects else ""
                raise _Failure("unasked_304", f"{current}{hops} answered 304 Not Modified to a request that was not "
                                              "conditional (a 304 only stands for the address whose capture it refers to)")
            location = _location(response) if response.status_code in REDIRECT_STATUSES else None
            if not location:
                return
            try:
                target = current.join(location)
            except (httpx.InvalidURL, ValueError) as exc:
                raise _Failure("bad_url", f"{current.host} redirected to {location!r}, "
                                          f"which is not a valid web address ({exc})") from None
            result.redirects.append(Hop(url=str(current), status=response.status_code, location=str(target)))
            if target.scheme not in ("http", "https") or not target.raw_host:
                raise _Failure("bad_url", f"{current} redirected to {location!r}, which is not an http(s) address")
            key = _visit_key(target, cookies)
            if key in seen:
                raise _Failure("redirect_loop", f"redirect loop: {current} sends us back to {target}, "
                                                f"which was already visited ({len(result.redirects)} redirects)")
            if len(result.redirects) > self.config.max_redirects:
                raise _Failure("too_many_redirects", f"more than {self.config.max_redirects} redirects starting "
                                                     f"from {url}; stopped at {current}")
            seen.add(key)
            current = target

    @asynccontextmanager
    async def _turn(self, host: str) -> AsyncIterator[None]:
        """Wait until `host` may receive another request and an overall slot is free, then hold both."""
        assert self._running is not None
        turns = self._hosts.get(host)
        if turns is None:
            turns = self._hosts[host] = _HostTurns(asyncio.Semaphore(self.config.per_host_concurrency), asyncio.Lock())
        async with turns.running:
            async with turns.spacing:
                wait = turns.last_start + self.config.per_host_delay - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._running.acquire()
                turns.last_start = time.monotonic()
            try:
                yield
            finally:
                self._running.release()

    async def _check_address(self, url: httpx.URL) -> list[str]:
        """Resolve the host (which also detects DNS failures reliably), refuse non-public addresses,
        and return the addresses."""
        host = _host(url)
        try:
            addresses = [str(ipaddress.ip_address(host))]
            literal = True
        except ValueError:
            addresses = await self._resolve(host, url.port or _default_port(url))
            literal = False
        if self.config.allow_private_addresses:
            return addresses
        for address in addresses:
            problem = self.address_policy(address)
            if problem:
                where = f"{host} is {problem}" if literal else f"{host} resolves to {address}, {problem}"
                raise _Failure("private_address", f"refused to fetch {url}: {where}. Set allow_private_addresses "
                                                  "= true in the [fetch] section of the configuration to allow it")
        return addresses

    async def _resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.config.timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise _Failure("dns", f"could not find the address of {host}: the DNS lookup took longer "
                                  f"than {_seconds(self.config.timeout)}") from None
        except socket.gaierror as exc:
            raise _Failure("dns", f"could not find the address of {host} "
                                  f"(DNS lookup failed: {exc.strerror or exc})") from None
        except UnicodeError:
            raise _Failure("bad_url", f"the host name {host!r} is not valid") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise _Failure("dns", f"could not find the address of {host}: the DNS lookup returned nothing")
        return addresses

    async def _exchange(self, result: FetchResult, url: httpx.URL, cookies: httpx.Cookies,
                        conditional: dict[str, str]) -> httpx.Response:
        """Send one GET, record the response on `result`, read the body unless it is a redirect."""
        assert self._client is not None
        headers = {"User-Agent": self.config.user_agent, "Accept": ACCEPT,
                   "Accept-Language": self.config.accept_language, **conditional}
        request = self._client.build_request("GET", url, headers=headers)
        cookies.set_cookie_header(request)
        result.request_headers = {_decode_header(k, request.headers.encoding): _decode_header(v, request.headers.encoding)
                                  for k, v in request.headers.raw}
        pool = await self._pool(url)
        pool.active += 1
        sent_at = _now()
        try:
            response = await pool.transport.handle_async_request(request)
            response.request = request
            if response.status_code == 407 and self.proxy:
                await response.aclose()
                raise _Failure("proxy", f"the proxy {self._proxy_name()} refused its credentials (407 Proxy "
                                        "Authentication Required): check the user and password in its proxy URL")
            try:
                self._record_response(result, response, sent_at)
                cookies.extract_cookies(response)
                if response.status_code in REDIRECT_STATUSES and _location(response):
                    return response
                await self._read_body(result, response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            failure = self._proxy_failure(exc, url) if self.proxy else None
            if failure is None:
                failure = _failure_from(exc, url, self.config)
                if self.proxy:
                    failure.message += f" (through the proxy {self._proxy_name()})"
            raise failure from None
        finally:
            pool.active -= 1
        return response

    def _proxy_name(self) -> str:
        where = mask_url(self.proxy) or ""
        return f"of vantage {self.vantage} ({where})" if self.vantage else where

    def _proxy_failure(self, exc: httpx.HTTPError, url: httpx.URL) -> _Failure | None:
        """The failure of a fetch through the proxy, told as what it says about the page or about
        the proxy. Kind "proxy" only for the proxy's own failures (nothing listening where it
        should be, its host name unknown, our credentials refused): they say nothing about the
        page. A proxy that cannot reach the site, or closes the connection without an answer
        (a refusal, a firewall, a proxy's block rules), is a refused connection to the site,
        seen from this vantage. None for the others, told as without a proxy."""
        text = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ProxyError):
            if any(word in text.lower() for word in ("407", "password", "authenticat")):
                return _Failure("proxy", f"the proxy {self._proxy_name()} refused our credentials ({text}): "
                                         "check the user and password in its proxy URL")
            return _Failure("connect", f"the proxy {self._proxy_name()} could not connect to {url.host}: {text}")
        if isinstance(exc, httpx.ConnectError) and (
                _caused_by(exc, ConnectionRefusedError) is not None or _caused_by(exc, socket.gaierror) is not None):
            return _Failure("proxy", f"could not connect to the proxy {self._proxy_name()}: {text}")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ConnectError)) and (
                "disconnected" in text.lower() or not str(exc)):
            return _Failure("connect", f"no answer from {url.host} through the proxy {self._proxy_name()}: the "
                                       "connection was closed before any response (refused by the site or by the proxy)")
        return None

    async def _pool(self, url: httpx.URL) -> _SitePool:
        """The connection pool of `url`'s site (scheme, host, port), made on first use.

        One small pool per site (at most per_host_concurrency connections) rather than one for
        all: httpcore checks every connection of a pool before each request, which cost ~0.06 ms
        of CPU per pooled connection and page. The pools of the sites used last are kept, idle,
        for their next pages; older idle ones are closed. Requests are sent on the pool's
        transport directly, bypassing the client's redirect handling, which would work out the
        next request of every redirect itself and fail on a Location it cannot parse (mailto:,
        malformed), losing the response we must record.
        """
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        size = self.config.per_host_concurrency
        pool = self._pools[key] = _SitePool(httpx.AsyncHTTPTransport(
            verify=self._tls or True, trust_env=False, limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            proxy=httpx.Proxy(self.proxy) if self.proxy else None))
        keep = self.config.concurrency * IDLE_SITES_PER_SLOT
        for old_key, old in list(self._pools.items()):
            if len(self._pools) <= keep:
                break
            if old.active == 0 and old_key != key:
                del self._pools[old_key]
                await old.transport.aclose()
        return pool

    def _record_response(self, result: FetchResult, response: httpx.Response, sent_at: datetime) -> None:
        encoding = response.headers.encoding
        result.final_url = str(response.request.url)
        result.status = response.status_code
        result.http_version = response.http_version
        result.response_headers = [(_decode_header(k, encoding), _decode_header(v, encoding))
                                   for k, v in response.headers.raw]
        result.content_type = response.headers.get("content-type")
        result.body = b""
        result.truncated = False
        result.server_ip = None
        stream = response.extensions.get("network_stream")
        if stream is not None and not self.proxy:  # through a proxy, the peer is the proxy
            address = stream.get_extra_info("server_addr")
            if address:
                result.server_ip = str(address[0])
        secure = stream is not None and result.final_url.startswith("https:")
        tls = tls_of(stream.get_extra_info("ssl_object")) if secure and stream is not None else None
        result.exchanges.append(exchange(result.final_url, result.status, result.server_ip, result.http_version,
                                         result.request_headers, result.response_headers, tls, sent_at))
        if result.server_ip and not self.config.allow_private_addresses:
            problem = self.address_policy(result.server_ip)
            if problem:
                raise _Failure("private_address", f"refused {result.final_url}: the server answered from "
                                                  f"{result.server_ip}, {problem} (its DNS answer changed after the check)")

    async def _read_body(self, result: FetchResult, response: httpx.Response) -> None:
        """Read and decode the body, keeping at most `max_bytes` bytes; what arrived stays on `result`.

        The limit holds on the wire and for every layer of compression undone, as the bytes
        stream in (archiver.content_coding), so a compression bomb stops at the limit too.
        """
        limit = self.config.max_bytes
        host = response.request.url.host
        codings = response.headers.get_list("content-encoding", split_commas=True)
        decoder: BoundedDecoder | None = None
        try:
            decoder = BoundedDecoder(codings, limit)
            async for chunk in response.aiter_raw():
                decoder.feed(chunk)
            decoder.finish()
        except TooLarge as exc:  # raised while feeding: the decoder exists
            result.truncated = True
            layers, kept = (decoder.codings, decoder.size) if decoder is not None else (codings, limit)
            if exc.layer is None:
                raise _Failure("too_large", f"page larger than the {_size(limit)} limit; "
                                            f"kept the first {_size(limit)}") from None
            raise _Failure("too_large", f"page larger than the {_size(limit)} limit once its {exc.layer} compression "
                                        f"is undone (Content-Encoding: {', '.join(layers)}); kept the first "
                                        f"{_size(kept)}") from None
        except CodingError as exc:
            raise _Failure("protocol", f"{host} sent a compressed page that could not be decompressed "
                                       f"({exc.coding}: {exc.reason})") from None
        finally:
            if decoder is not None:
                result.body = decoder.getvalue()


def _same_address_key(url: str) -> str | None:
    """`url` as the address a conditional request is tied to: parsed the way requests are sent
    (so spellings httpx sends alike compare equal), without its fragment; None if unparsable."""
    try:
        return str(httpx.URL(url.strip()).copy_with(fragment=None))
    except (httpx.InvalidURL, ValueError, TypeError):
        return None


def _visit_key(url: httpx.URL, cookies: httpx.Cookies) -> tuple[str, str]:
    """A URL together with the cookies it would be sent: revisiting it with new cookies is not a loop."""
    if not cookies:
        return str(url.copy_with(fragment=None)), ""
    probe = httpx.Request("GET", url)
    cookies.set_cookie_header(probe)
    return str(url.copy_with(fragment=None)), probe.headers.get("cookie", "")
