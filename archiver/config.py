"""Configuration: built-in defaults, overridden by a TOML file, overridden by environment variables.

Every key lives in a small dataclass so that a typo in config.toml is a clear error
instead of a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.redact import MASK, mask_url, remember

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36 source-archiver/0.1"
)


VANTAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or holds an invalid value."""


@dataclass
class DatabaseConfig:
    url: str = "sqlite:///archive.db"


@dataclass
class FetchConfig:
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    timeout: float = 30.0
    total_timeout: float = 120.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 10
    user_agent: str = DEFAULT_USER_AGENT
    accept_language: str = "en,zh-CN;q=0.9,zh;q=0.8"
    allow_private_addresses: bool = False
    conditional_requests: bool = True
    ca_file: str = ""
    render: str = "auto"
    proxy: str = ""


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass
class VantageConfig:
    """A named vantage point: where pages are fetched from. `proxy` is its proxy URL, "" for none."""

    proxy: str = ""


@dataclass
class BrowserConfig:
    executable: str = ""
    concurrency: int = 2
    page_timeout: float = 60.0
    settle_seconds: float = 2.0
    screenshots: bool = True
    viewport_width: int = 1280
    viewport_height: int = 900
    max_screenshot_height: int = 20000


@dataclass
class SiteConfig:
    """A [sites] rule: the vantage that captures the pages of a host suffix, and the one that
    checks them again when it does not get them ("" for none)."""

    vantage: str = ""
    recheck: str = ""


@dataclass
class CaptureConfig:
    default_interval_hours: float = 24.0
    extract_workers: int = 0
    batch_size: int = 200
    extract_max_bytes: int = 2 * 1024 * 1024
    extract_timeout: float = 120.0
    worker_memory_mb: int = 1024


@dataclass
class VerdictConfig:
    min_body_chars: int = 40
    probe_not_found: bool = True


@dataclass
class WaybackConfig:
    enabled: bool = True
    save_url: str = "https://web.archive.org/save"
    status_url: str = "https://web.archive.org/save/status"
    cdx_url: str = "https://web.archive.org/cdx/search/cdx"
    availability_url: str = "https://archive.org/wayback/available"
    replay_url: str = "https://web.archive.org/web"
    access_key: str = ""
    secret_key: str = ""
    max_per_minute: float = 6.0
    resubmit_after_days: float = 30.0
    if_not_archived_within: str = ""
    max_attempts: int = 8
    backoff_base: float = 60.0
    backoff_max: float = 6 * 3600.0
    timeout: float = 120.0
    poll_interval: float = 5.0
    poll_timeout: float = 300.0
    max_in_flight: int = 4


@dataclass
class ScheduleConfig:
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    lease_seconds: float = 900.0
    wayback_interval_seconds: float = 30.0
    due_check_seconds: float = 900.0
    stop_grace_seconds: float = 60.0


@dataclass
class NotifyConfig:
    webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = ""
    mail_to: list[str] = field(default_factory=list)
    retries: int = 3
    retry_delay: float = 5.0
    timeout: float = 30.0


@dataclass
class IntegrityConfig:
    tsa_url: str = ""
    anchor_log: str = ""


@dataclass
class WebConfig:
    """`archiver serve`: who may use the web interface. Bound to a loopback address it needs
    neither; on any other address it refuses to start without a password or a token."""

    password: str = ""
    token: str = ""
    session_secret: str = ""


@dataclass
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    browser: BrowserConfig = field(default_factory=BrowserConfig)
    verdict: VerdictConfig = field(default_factory=VerdictConfig)
    wayback: WaybackConfig = field(default_factory=WaybackConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    integrity: IntegrityConfig = field(default_factory=IntegrityConfig)
    web: WebConfig = field(default_factory=WebConfig)
    vantages: dict[str, VantageConfig] = field(default_factory=dict)
    sites: dict[str, SiteConfig] = field(default_factory=dict)
    path: str | None = None

    def as_dict(self, redact: bool = True) -> dict[str, Any]:
        """The settings as plain data, secrets masked: recorded on captures and printed by the CLI."""
        data = dataclasses.asdict(self)
        data.pop("path", None)
        if redact:
            data["database"]["url"] = mask_url(data["database"]["url"])
            data["notify"]["webhook_url"] = mask_url(data["notify"]["webhook_url"])
            data["fetch"]["proxy"] = mask_url(data["fetch"]["proxy"])
            for vantage in data["vantages"].values():
                vantage["proxy"] = mask_url(vantage["proxy"])
            for section, key in SECRET_KEYS:
                if data[section][key]:
                    data[section][key] = MASK
        return data

    def secrets(self) -> list[str]:
        """The secret values in these settings (for archiver.redact to keep out of any output)."""
        return [self.database.url, self.notify.webhook_url, self.fetch.proxy,
                *(vantage.proxy for vantage in self.vantages.values()),
                *(getattr(getattr(self, section), key) for section, key in SECRET_KEYS)]


SECRET_KEYS = (("wayback", "secret_key"), ("wayback", "access_key"), ("notify", "smtp_password"),
               ("web", "password"), ("web", "token"), ("web", "session_secret"))


ENV_OVERRIDES = {
    "ARCHIVER_DATABASE_URL": ("database", "url"),
    "ARCHIVER_WAYBACK_ACCESS_KEY": ("wayback", "access_key"),
    "ARCHIVER_WAYBACK_SECRET_KEY": ("wayback", "secret_key"),
    "ARCHIVER_WEBHOOK_URL": ("notify", "webhook_url"),
    "ARCHIVER_SMTP_PASSWORD": ("notify", "smtp_password"),
    "ARCHIVER_WEB_PASSWORD": ("web", "password"),
    "ARCHIVER_WEB_TOKEN": ("web", "token"),
    "ARCHIVER_PROXY": ("fetch", "proxy"),
}


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    where = f"[{section}] {key}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{where} must be a whole number, got {value!r}") from None
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if isinstance(default, list):
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [str(v) for v in value]
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def _apply(config: Config, section: str, key: str, value: Any) -> None:
    target = getattr(config, section)
    default = getattr(target, key)
    setattr(target, key, _coerce(section, key, value, default))


def load_config(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load settings: `path` if given (it must exist), else ./config.toml if present, else defaults.

    Environment variables (ARCHIVER_DATABASE_URL and friends) win over the file.
    """
    variables = os.environ if env is None else env
    config = Config()
    file: Path | None = None
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file not found: {file}")
    elif Path("config.toml").is_file():
        file = Path("config.toml")
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from None
        for section, values in data.items():
            if section not in {f.name for f in dataclasses.fields(Config)} or section == "path":
                raise ConfigError(f"{file}: unknown section [{section}]")
            if not isinstance(values, dict):
                raise ConfigError(f"{file}: [{section}] must be a table")
            if section == "vantages":
                config.vantages = _vantages(file, values)
                continue
            if section == "sites":
                config.sites = _sites(file, values)
                continue
            known = {f.name for f in dataclasses.fields(getattr(config, section))}
            for key, value in values.items():
                if key not in known:
                    raise ConfigError(f"{file}: unknown key {key!r} in [{section}]")
                _apply(config, section, key, value)
        config.path = str(file)
    for var, (section, key) in ENV_OVERRIDES.items():
        if variables.get(var):
            _apply(config, section, key, variables[var])
    _validate(config)
    remember(config.secrets())
    return config


def _vantages(file: Path, tables: dict[str, Any]) -> dict[str, VantageConfig]:
    """The [vantages.NAME] tables of a configuration file, each checked like a section."""
    vantages = {}
    for name, values in tables.items():
        if name == "default":
            raise ConfigError(f"{file}: [vantages.default] is the [fetch] settings: set its proxy as [fetch] proxy")
        if not VANTAGE_NAME.fullmatch(name):
            raise ConfigError(f"{file}: [vantages.{name}]: a vantage name is letters, digits, '-' and '_' "
                              "(it is stored on every capture made from it)")
        if not isinstance(values, dict):
            raise ConfigError(f"{file}: [vantages.{name}] must be a table, e.g. proxy = \"socks5://host:1080\"")
        vantage = VantageConfig()
        for key, value in values.items():
            if key not in {f.name for f in dataclasses.fields(VantageConfig)}:
                raise ConfigError(f"{file}: unknown key {key!r} in [vantages.{name}]")
            setattr(vantage, key, _coerce(f"vantages.{name}", key, value, getattr(vantage, key)))
        vantages[name] = vantage
    return vantages


def _sites(file: Path, rules: dict[str, Any]) -> dict[str, SiteConfig]:
    """The [sites] table: host suffix = "vantage", or = { vantage = "...", recheck = "..." }."""
    sites = {}
    for suffix, value in rules.items():
        if not suffix.strip(".") or "/" in suffix or " " in suffix:
            raise ConfigError(f"{file}: [sites] {suffix!r} is not a host name or suffix (e.g. \".gov.cn\", \"www.miit.gov.cn\")")
        if isinstance(value, str):
            sites[suffix] = SiteConfig(vantage=value)
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: [sites] {suffix!r} must be a vantage name or {{ vantage = \"...\", recheck = \"...\" }}")
        rule = SiteConfig()
        for key, item in value.items():
            if key not in {f.name for f in dataclasses.fields(SiteConfig)}:
                raise ConfigError(f"{file}: unknown key {key!r} in [sites] {suffix!r} (vantage, recheck)")
            setattr(rule, key, _coerce("sites", f"{suffix!r} {key}", item, ""))
        sites[suffix] = rule
    return sites


def proxy_problem(proxy: str) -> str | None:
    """Why `proxy` cannot be used as a proxy URL, or None ("" means no proxy)."""
    if not proxy:
        return None
    try:
        parts = urlsplit(proxy)
        port = parts.port
    except ValueError as exc:
        return f"is not a proxy address ({exc})"
    if parts.scheme not in PROXY_SCHEMES:
        return f"must start with {', '.join(s + '://' for s in PROXY_SCHEMES)}, not {mask_url(proxy)!r}"
    if not parts.hostname or port is None:
        return f"must name the proxy's host and port, e.g. socks5://127.0.0.1:1080, not {mask_url(proxy)!r}"
    if parts.path.strip("/") or parts.query:
        return f"must be only scheme://[user:password@]host:port, not {mask_url(proxy)!r}"
    return None


def _validate(config: Config) -> None:
    for where, proxy in [("[fetch] proxy", config.fetch.proxy),
                         *((f"[vantages.{name}] proxy", v.proxy) for name, v in config.vantages.items())]:
        problem = proxy_problem(proxy)
        if problem:
            raise ConfigError(f"{where} {problem}")
    known = {"default", *config.vantages}
    for suffix, rule in config.sites.items():
        for name in (rule.vantage, rule.recheck):
            if name and name not in known:
                raise ConfigError(f"[sites] {suffix!r} names the vantage {name!r}, which is not defined: "
                                  f"add [vantages.{name}] with its proxy (defined: {', '.join(sorted(known))})")
    checks = [
        (config.fetch.concurrency >= 1, "[fetch] concurrency must be at least 1"),
        (config.fetch.per_host_concurrency >= 1, "[fetch] per_host_concurrency must be at least 1"),
        (config.fetch.per_host_delay >= 0, "[fetch] per_host_delay cannot be negative"),
        (config.fetch.timeout > 0, "[fetch] timeout must be positive"),
        (config.fetch.max_bytes > 0, "[fetch] max_bytes must be positive"),
        (config.fetch.max_redirects >= 0, "[fetch] max_redirects cannot be negative"),
        (config.fetch.render in ("never", "auto", "always"), '[fetch] render must be "never", "auto" or "always"'),
        (config.browser.concurrency >= 1, "[browser] concurrency must be at least 1"),
        (config.browser.page_timeout > 0, "[browser] page_timeout must be positive"),
        (config.browser.max_screenshot_height >= 100, "[browser] max_screenshot_height must be at least 100"),
        (config.wayback.max_per_minute > 0, "[wayback] max_per_minute must be positive"),
        (config.capture.default_interval_hours > 0, "[capture] default_interval_hours must be positive"),
        (config.capture.extract_max_bytes >= 64 * 1024, "[capture] extract_max_bytes must be at least 65536 (64 KB)"),
        (config.capture.extract_timeout >= 0, "[capture] extract_timeout cannot be negative (0 turns it off)"),
        (config.capture.worker_memory_mb == 0 or config.capture.worker_memory_mb >= 512,
         "[capture] worker_memory_mb must be at least 512 (0 turns the limit off)"),
        (config.schedule.lease_seconds > 0, "[schedule] lease_seconds must be positive"),
        (config.schedule.due_check_seconds >= 0, "[schedule] due_check_seconds cannot be negative (0 turns it off)"),
        (config.schedule.wayback_interval_seconds > 0, "[schedule] wayback_interval_seconds must be positive"),
        (config.schedule.stop_grace_seconds >= 0, "[schedule] stop_grace_seconds cannot be negative"),
        (config.notify.retries >= 0, "[notify] retries cannot be negative"),
        (not (config.notify.smtp_ssl and config.notify.smtp_starttls),
         "[notify] smtp_ssl and smtp_starttls exclude each other: port 465 uses smtp_ssl, port 587 smtp_starttls"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
