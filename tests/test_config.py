import dataclasses

import pytest

from archiver.config import Config, ConfigError, load_config


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.database.url == "sqlite:///archive.db"
    assert config.fetch.allow_private_addresses is False
    assert config.path is None


def test_shipped_config_documents_the_defaults():
    """config.toml at the top level lists every key with its default value."""
    from pathlib import Path

    shipped = load_config(Path(__file__).parent.parent / "config.toml", env={})
    shipped.path = None
    assert dataclasses.asdict(shipped) == dataclasses.asdict(Config())


def test_file_and_env_override(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n[fetch]\nconcurrency = 3\nper_host_delay = 0\n', encoding="utf-8")
    config = load_config(path, env={"ARCHIVER_DATABASE_URL": "postgresql://u@h/db"})
    assert config.fetch.concurrency == 3
    assert config.fetch.per_host_delay == 0.0
    assert config.database.url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[fetch]\nconcurency = 3\n", "unknown key 'concurency' in \\[fetch\\]"),
        ("[fech]\n", "unknown section \\[fech\\]"),
        ("[fetch]\nconcurrency = 'many'\n", "must be a whole number"),
        ("[fetch]\nallow_private_addresses = 'perhaps'\n", "true or false"),
        ("[fetch]\nconcurrency = 0\n", "at least 1"),
        ("[fetch\n", "cannot read config file"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_missing_file_named_explicitly(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_secrets_are_redacted():
    config = Config()
    config.wayback.secret_key = "s3cret"
    assert config.as_dict()["wayback"]["secret_key"] == "***"
    assert config.as_dict(redact=False)["wayback"]["secret_key"] == "s3cret"


def test_database_password_is_never_recorded():
    config = Config()
    config.database.url = "postgresql://archiver:hunter2@db.example.org/archive"
    assert config.as_dict()["database"]["url"] == "postgresql://archiver:***@db.example.org/archive"
    config.database.url = "sqlite:///archive.db"
    assert config.as_dict()["database"]["url"] == "sqlite:///archive.db"


def test_proxies_and_vantages(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[fetch]\nproxy = "http://me:hunter22@127.0.0.1:3128"\n'
                    '[vantages.cn]\nproxy = "socks5h://me:s3cret-cn@127.0.0.1:1080"\n[vantages.direct]\nproxy = ""\n',
                    encoding="utf-8")
    config = load_config(path, env={})
    assert config.fetch.proxy == "http://me:hunter22@127.0.0.1:3128"
    assert sorted(config.vantages) == ["cn", "direct"]
    assert config.vantages["cn"].proxy == "socks5h://me:s3cret-cn@127.0.0.1:1080"
    assert config.vantages["direct"].proxy == ""
    shown = config.as_dict()
    assert shown["fetch"]["proxy"] == "http://me:***@127.0.0.1:3128"
    assert shown["vantages"]["cn"]["proxy"] == "socks5h://me:***@127.0.0.1:1080"
    assert "s3cret-cn" in config.secrets() or any("s3cret-cn" in s for s in config.secrets())
    assert load_config(path, env={"ARCHIVER_PROXY": "socks5://127.0.0.1:9050"}).fetch.proxy == "socks5://127.0.0.1:9050"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[fetch]\nproxy = "ftp://127.0.0.1:21"\n', r"\[fetch\] proxy must start with http://, https://, socks5://"),
        ('[fetch]\nproxy = "socks5://me:pw-xyz@127.0.0.1"\n', r"must name the proxy's host and port.*me:\*\*\*@"),
        ('[vantages.cn]\nproxy = "http://127.0.0.1:3128/path"\n', r"\[vantages.cn\] proxy must be only"),
        ('[vantages.cn]\nprox = "http://127.0.0.1:3128"\n', r"unknown key 'prox' in \[vantages.cn\]"),
        ('[vantages]\ncn = "http://127.0.0.1:3128"\n', r"\[vantages.cn\] must be a table"),
        ('[vantages."in china"]\nproxy = ""\n', r"a vantage name is letters, digits"),
    ],
)
def test_bad_proxy_settings_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})
