"""Vantage points: where each page is fetched from, and which one checks it again.

Many Chinese government and company sites refuse or time out for visitors outside mainland
China, and some serve them a different page. A vantage point is a named way out to the web,
a proxy ([vantages.NAME] proxy = "socks5://..."), or none ("" : this machine's own
connection). `default` is always there: the [fetch] settings, with [fetch] proxy if set.

A source is captured from one vantage and, optionally, checked again from a second when the
first does not get the page. Which ones: the source's own choice (`archiver add URL
--vantage cn --recheck direct`, the CSV columns `vantage` and `recheck`), else the [sites]
rule with the longest host suffix that matches the page's host, else `default` and no
second check.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.config import Config

DEFAULT = "default"


class UnknownVantage(ValueError):
    """A vantage name that the configuration does not define."""


@dataclass(frozen=True)
class Route:
    """Where a source is captured from (`vantage`) and checked again from (`recheck`, or None)."""

    vantage: str = DEFAULT
    recheck: str | None = None


def names(config: Config) -> list[str]:
    """Every vantage name the configuration knows, `default` first."""
    return [DEFAULT, *sorted(name for name in config.vantages if name != DEFAULT)]


def check_name(config: Config, name: str | None) -> str | None:
    """`name` as stored on a source (None or "" for none); raises UnknownVantage for a name the
    configuration does not define, with the names it does."""
    if not name:
        return None
    name = name.strip()
    if name not in names(config):
        known = ", ".join(names(config))
        raise UnknownVantage(f"unknown vantage {name!r}: the configuration defines {known} "
                             f"(add a [vantages.{name}] table with its proxy to config.toml)")
    return name


def proxy_of(config: Config, name: str) -> str:
    """The proxy URL of vantage `name` ("" for a direct connection)."""
    if name == DEFAULT:
        return config.fetch.proxy
    if name not in config.vantages:
        raise UnknownVantage(f"unknown vantage {name!r}: it is not in the configuration ([vantages.{name}])")
    return config.vantages[name].proxy


def site_rule(config: Config, url: str) -> Route | None:
    """The [sites] rule for `url`'s host: the longest matching suffix (".gov.cn" matches
    www.gov.cn and gov.cn; "www.miit.gov.cn" only that host), or None."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    best = None
    for suffix, rule in config.sites.items():
        bare = suffix.lstrip(".").lower()
        if host == bare or host.endswith("." + bare):
            if best is None or len(bare) > best[0]:
                best = (len(bare), rule)
    if best is None:
        return None
    rule = best[1]
    return Route(rule.vantage or DEFAULT, rule.recheck or None)


def capture_vantage(settings: dict | None) -> str | None:
    """The vantage a capture was made from, read from the settings recorded on it; None for
    captures made before vantages were recorded, and for recovered or imported ones."""
    vantage = (settings or {}).get("vantage") if isinstance(settings, dict) else None
    return vantage.get("name") if isinstance(vantage, dict) else None


def route_for(config: Config, url: str, vantage: str | None = None, recheck: str | None = None) -> Route:
    """Where the source `url` is captured from: its own `vantage` and `recheck` (as stored on
    it, None when unset), else its site's rule, else `default` with no second check. A second
    check from the vantage that made the first is no check: it is dropped."""
    rule = site_rule(config, url) or Route()
    chosen = vantage or rule.vantage
    again = recheck or rule.recheck
    if again == chosen:
        again = None
    return Route(chosen, again)
