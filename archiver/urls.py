"""URL normalisation, so that the same page is never tracked twice under two spellings."""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """The text given is not an http(s) URL we can track."""


def _requote(part: str, safe: str) -> str:
    """Percent-encode what must be encoded and upper-case existing escapes.

    Works on bytes, so a GBK-encoded query (common on Chinese sites) survives unchanged.
    """
    return quote(unquote_to_bytes(part), safe=safe)


def normalise_url(raw: str) -> str:
    """Return the canonical spelling of an http(s) URL, or raise InvalidURL.

    Lower-cases scheme and host, converts an internationalised host to IDNA, drops the
    default port and the fragment, gives an empty path "/", and normalises percent-escapes.
    The query string keeps its order: on many government sites it selects the page.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidURL("empty URL")
    if any(ch in text for ch in "\r\n\t"):
        raise InvalidURL(f"URL contains a control character: {text!r}")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidURL(f"malformed URL {text!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURL(f"missing scheme (expected http:// or https://): {text!r}")
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(f"only http and https URLs can be tracked, not {scheme}: {text!r}")
    host = parts.hostname
    if not host:
        raise InvalidURL(f"missing host name: {text!r}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidURL(f"invalid port in {text!r}") from None
    if " " in host:
        raise InvalidURL(f"host name contains a space: {text!r}")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError:
        raise InvalidURL(f"invalid international host name in {text!r}") from None
    host = host.rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if parts.username or parts.password:
        raise InvalidURL(f"URLs with a user name or password are not tracked: {text!r}")
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    path = _requote(parts.path or "/", safe="/:@!$&'()*+,;=-._~")
    query = _requote(parts.query, safe="/:@!$&'()*+,;=?-._~")
    return urlunsplit((scheme, netloc, path, query, ""))

