"""Secrets never leave in the clear: database passwords, Wayback keys, the SMTP password and
webhook URL tokens, in every output, log, stored setting, WARC/WACZ file and report."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from archiver.cli import main
from archiver.redact import mask_url, remember, scrub
from tests.conftest import PG_URL, _drop_pg_database, _fresh_pg_database
from tests.fake_wayback import FakeWayback
from tests.proxyserver import ProxyServer
from tests.receivers import Webhook

pytestmark = pytest.mark.usefixtures("loopback_is_public")

TOKEN = "T0KEN-8b1f9c2e7d"
SMTP_PASSWORD = "smtp-pa55-4e1c"
DB_PASSWORD = "db-pa55-77aa01"
PROXY_PASSWORD = "proxy-pa55-5c0d"
PAGE = ("<html><head><title>Notice</title></head><body><article><p>The bureau published notice {n} "
        "on the procurement of cameras for the city police.</p></article></body></html>")


def test_mask_url_keeps_what_tells_the_database_apart():
    assert mask_url("postgresql://archiver:hunter2@db.example.org/archive") == "postgresql://archiver:***@db.example.org/archive"
    assert mask_url("sqlite:///archive.db") == "sqlite:///archive.db"
    assert mask_url("sqlite:////srv/archiver/archive.db") == "sqlite:////srv/archiver/archive.db"
    assert mask_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET") == "https://hooks.slack.com/***"
    assert mask_url("https://example.org/hook?token=abc123") == "https://example.org/***"
    assert mask_url("") == "" and mask_url(None) is None


def test_mask_url_hides_the_password_of_a_proxy():
    assert mask_url("socks5://alice:hunter2@127.0.0.1:1080") == "socks5://alice:***@127.0.0.1:1080"
    assert mask_url("http://alice:hunter2@proxy.example.cn:3128") == "http://alice:***@proxy.example.cn:3128"
    assert mask_url("socks5h://127.0.0.1:1080") == "socks5h://127.0.0.1:1080"


def test_scrub_takes_registered_secrets_and_url_passwords_out_of_any_text():
    remember(["wayback-secret-99f1", "https://hooks.example.org/services/AAAA/BBBB/CCCCCCCCCC"])
    text = ("key wayback-secret-99f1 failed; POST https://hooks.example.org/services/AAAA/BBBB/CCCCCCCCCC "
            "-> 500; dsn postgresql://u:pw-in-text@10.0.0.1/db; bare CCCCCCCCCC")
    cleaned = scrub(text)
    for secret in ("wayback-secret-99f1", "CCCCCCCCCC", "pw-in-text"):
        assert secret not in cleaned
    assert "https://hooks.example.org/***" in cleaned and "postgresql://u:***@10.0.0.1/db" in cleaned


@pytest.fixture
def secret_db(tmp_path, request):
    """A database URL holding a password: PostgreSQL (trust authentication ignores it) when
    configured, else SQLite, where only the other secrets can be tested."""
    if PG_URL:
        url, admin, name = _fresh_pg_database(PG_URL)
        with_password = url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
        assert DB_PASSWORD in with_password
        yield with_password
        _drop_pg_database(admin, name)
    else:
        yield f"sqlite:///{tmp_path / 'archive.db'}"


def test_no_secret_in_any_output_file_or_report(tmp_path, monkeypatch, site, secret_db):
    """A whole story with every secret configured (pages fetched through a proxy that asks for
    a password): add, run, Wayback submission with S3 keys,
    deletion, recovery (whose capture records the settings), status/show/runs JSON, reports in
    every format, WARC and WACZ exports, `--help` and error messages. No secret appears anywhere."""
    fake = FakeWayback().start()
    hook = Webhook().start()
    proxy = ProxyServer(user="alice", password=PROXY_PASSWORD).start()
    try:
        base = fake.base_url
        webhook_url = f"{hook.url}/services/{TOKEN}"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[database]\nurl = "{secret_db}"\n'
            "[fetch]\nallow_private_addresses = true\nper_host_delay = 0.0\ntimeout = 3.0\ntotal_timeout = 5.0\n"
            f'proxy = "{proxy.url("socks5")}"\n'
            "[capture]\nextract_workers = 1\n[verdict]\nprobe_not_found = false\n"
            f'[wayback]\nsave_url = "{base}/save"\nstatus_url = "{base}/save/status"\ncdx_url = "{base}/cdx/search/cdx"\n'
            f'availability_url = "{base}/wayback/available"\nreplay_url = "{base}/web"\n'
            f'access_key = "{fake.access_key}"\nsecret_key = "{fake.secret_key}"\n'
            "max_per_minute = 6000.0\nbackoff_base = 0.05\nbackoff_max = 0.5\ntimeout = 5.0\n"
            f'[notify]\nwebhook_url = "{webhook_url}"\nsmtp_host = "127.0.0.1"\nsmtp_port = 1\nsmtp_user = "me"\n'
            f'smtp_password = "{SMTP_PASSWORD}"\nmail_to = ["a@example.org"]\nretries = 0\n',
            encoding="utf-8",
        )
        for name in ("ARCHIVER_DATABASE_URL", "ARCHIVER_WAYBACK_ACCESS_KEY", "ARCHIVER_WAYBACK_SECRET_KEY",
                     "ARCHIVER_WEBHOOK_URL", "ARCHIVER_SMTP_PASSWORD", "ARCHIVER_PROXY"):
            monkeypatch.delenv(name, raising=False)
        runner = CliRunner()
        outputs: list[str] = []

        def cli(*args, ok=True):
            result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
            outputs.append(result.output + (result.stderr if result.stderr_bytes is not None else ""))
            if ok:
                assert result.exit_code == 0, result.output
            return result

        url = site.set("/notice.html", PAGE.format(n=1))
        cli("add", url)
        cli("claim", "add", "The bureau buys cameras", "--id", "cams")
        cli("cite", "cams", url, "--quote", "on the procurement of cameras")
        cli("run", "--no-notify")
        cli("wayback", "drain")
        site.set("/notice.html", "<h1>Not Found</h1>", status=404)
        cli("run", "--all", "--json", ok=False)
        cli("wayback", "recover", "--all-deleted", "--json")
        for args in (("status",), ("status", "--json"), ("show", url, "--json"), ("runs", "--json"), ("runs",),
                     ("report", "cams"), ("report", "cams", "--format", "json"), ("report", "--all", "--format", "html"),
                     ("wayback", "status", "--json"), ("--help",), ("claim", "list")):
            cli(*args)
        cli("notify", "--test", "--json", ok=False)
        cli("export", "--warc", str(tmp_path / "all.warc.gz"), "--wacz", str(tmp_path / "all.wacz"))
        cli("report", "cams", "--wacz", str(tmp_path / "cams.wacz"), "-o", str(tmp_path / "cams.md"))
    finally:
        fake.stop()
        hook.stop()
        proxy.stop()
    assert fake.requests, "the keys were used against the fake"
    assert proxy.forwarded(), "the pages were fetched through the proxy"

    files = [gzip.decompress((tmp_path / "all.warc.gz").read_bytes()).decode("utf-8", "replace"),
             (tmp_path / "cams.md").read_text(encoding="utf-8")]
    for package in ("all.wacz", "cams.wacz"):
        with zipfile.ZipFile(tmp_path / package) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                if name.endswith(".gz"):
                    data = gzip.decompress(data)
                files.append(data.decode("utf-8", "replace"))
    assert any('"config"' in text for text in files), "the recovered capture's settings are in the export"
    secrets = [TOKEN, SMTP_PASSWORD, PROXY_PASSWORD, fake.access_key, fake.secret_key] + ([DB_PASSWORD] if PG_URL else [])
    for where, text in [*(("output", o) for o in outputs), *(("file", f) for f in files)]:
        for secret in secrets:
            assert secret not in text, (where, secret, text[:3000])


def test_logs_are_scrubbed(tmp_path):
    """`archiver -v` logs what HTTP libraries do, webhook URLs included: the token is masked."""
    hook = Webhook().start()
    try:
        config = tmp_path / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
                          f'[notify]\nwebhook_url = "{hook.url}/services/{TOKEN}"\n', encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "archiver", "-v", "--config", str(config), "notify", "--test"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    finally:
        hook.stop()
    assert done.returncode == 0, done.stderr
    assert hook.posts, "the webhook was called"
    assert "HTTP Request: POST" in done.stderr, done.stderr
    assert TOKEN not in done.stderr and TOKEN not in done.stdout
