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
