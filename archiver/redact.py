"""Secrets never leave in the clear: database passwords, Wayback Machine keys, the SMTP password
and webhook URLs (whose path or query is the token) are masked in every output, log, stored
setting, WARC/WACZ file and report.

`mask_url` is the one way a URL holding a secret is shown. The secret values of the settings in
use are also registered (`remember`, done by archiver.config.load_config), so that `scrub` can
take them out of any text that may quote them: an error message from a driver, a log line of
an HTTP library. `LogFilter` applies `scrub` to every log record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# A password in the user part of any URL: scheme://user:password@host
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*):[^\s@/]*@")
_MIN_SECRET = 4
_known: set[str] = set()


def mask_url(url: str | None) -> str | None:
    """`url` with its secrets masked: the password of a database URL (the rest is kept, so you
    can still tell which database it is), and the path and query of a web address such as a
    webhook's, which are its token (https://hooks.example.com/***)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_PASSWORD.sub(rf"\1:{MASK}@", url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    if parts.scheme in ("http", "https") and (parts.path.strip("/") or parts.query):
        return urlunsplit((parts.scheme, netloc, f"/{MASK}", "", ""))
    if netloc == parts.netloc:
        return url
    return url.replace(parts.netloc, netloc, 1)


def remember(values: Iterable[str | None]) -> None:
    """Register secret values (keys, passwords, webhook URLs) for `scrub` to take out of text."""
    for value in values:
        if not value:
            continue
        _known.add(value)
        parts = urlsplit(value) if "://" in value else None
        if parts is not None:
            if parts.password:
                _known.add(parts.password)
            if parts.scheme in ("http", "https"):
                for piece in (parts.path + ("?" + parts.query if parts.query else "")).split("/"):
                    if len(piece) >= 8:
                        _known.add(piece)


def scrub(text: str) -> str:
    """`text` without any registered secret, and without the password of any URL in it."""
    if not text:
        return text
    for secret in sorted(_known, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, (mask_url(secret) or MASK) if "://" in secret else MASK)
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", text)


class LogFilter(logging.Filter):
    """Scrubs every log record (message and arguments) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def install_log_filter() -> None:
    """Attach LogFilter to every handler of the root logger (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LogFilter) for f in handler.filters):
            handler.addFilter(LogFilter())
