"""The chain head anchored outside the database: a store cut short fails `verify`, and so does an
anchor log that was removed, edited or cut short; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from archiver.anchors import Head, anchor_head, append_line, default_log_path, log_path, read_log
from archiver.chain import add_captures, record_hash
from archiver.config import Config
from archiver.integrity import verify_store
from archiver.models import Capture, ChainAnchor, Source
from tests.test_chain import make_capture, setup_store
from tests.test_integrity import tamper


def store_config(url: str, tmp_path: Path) -> Config:
    """Settings for `url`: the anchor log beside a SQLite file, or a configured one for PostgreSQL."""
    config = Config()
    config.database.url = url
    if not url.startswith("sqlite"):
        config.integrity.anchor_log = str(tmp_path / "pg-anchors.jsonl")
    return config


def anchored_store(url: str, tmp_path: Path, batches=(40, 40, 40)):
    """A store written in batches, the head anchored after each, as capture passes do."""
    config = store_config(url, tmp_path)
    sessions, source_ids, keys = setup_store(url)
    made: list[int] = []
    for size in batches:
        with sessions.begin() as session:
            sources = {s.id: s for s in session.scalars(select(Source))}
            captures = [make_capture(len(made) + i, sources[source_ids[i % len(source_ids)]], *keys)
                        for i in range(size)]
            add_captures(session, captures)
            made += [c.id for c in captures]
        assert anchor_head(sessions, config, "run") is not None
    return sessions, config, made


def verify(sessions, config, files=()):
    with sessions() as session:
        return verify_store(session, anchor_log=log_path(config), anchor_files=files)


def truncate(url: str, made: list[int], keep: int) -> None:
    """Delete the newest captures and move the chain head back to the last one kept."""
    tamper(url, "DELETE FROM captures WHERE id > :id", {"id": made[keep - 1]})
    tamper(url, "UPDATE chain_heads SET capture_id = :id, event_id = NULL, record_hash = "
                "(SELECT record_hash FROM captures WHERE id = :id) WHERE id = 1", {"id": made[keep - 1]})


def test_an_anchored_store_passes_and_says_what_it_checked(db_url, tmp_path):
    sessions, config, made = anchored_store(db_url, tmp_path)
    path = log_path(config)
    if db_url.startswith("sqlite"):
        assert path == Path(db_url.removeprefix("sqlite:///") + ".anchors.jsonl")
    report = verify(sessions, config)
    assert report.ok, report.problems
    assert report.anchors["checked"] == 6, "three log lines and the store's three copies"
    assert [(log["path"], log["found"], log["lines"]) for log in report.anchors["logs"]] == [(str(path), True, 3)]
    assert report.anchors["latest"]["capture_id"] == made[-1]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert [line["capture_id"] for line in lines] == [made[39], made[79], made[119]]
    assert lines[0]["prev_line_sha256"] is None and lines[1]["prev_line_sha256"] and lines[2]["command"] == "run"
    sessions.kw["bind"].dispose()


def test_the_last_50_captures_deleted_and_the_head_moved_back_is_caught(db_url, tmp_path):
    """The chain that is left is valid on its own; the anchors show it once reached further."""
    sessions, config, made = anchored_store(db_url, tmp_path, batches=(60, 60))
    truncate(db_url, made, keep=70)
    report = verify(sessions, config)
    assert report.captures_checked == 70
    assert [(p.kind, p.capture_id) for p in report.problems] == [("chain_truncated", made[-1])]
    message = report.problems[0].message
    assert message.startswith("the chain was cut short: anchor log ")
    assert f"reached capture {made[-1]}" in message and f"now ends at capture {made[69]}" in message
    assert "deleted and the chain head moved back" in message and "(and 1 other anchor(s))" in message

    # the store's copies of the log lines removed as well: the log alone still tells
    tamper(db_url, "DELETE FROM chain_anchors WHERE capture_id > :id", {"id": made[69]})
    assert [p.kind for p in verify(sessions, config).problems] == ["chain_truncated"]
    sessions.kw["bind"].dispose()


def test_truncation_with_the_log_cut_short_too_is_caught_by_the_stores_copies(db_url, tmp_path):
    sessions, config, made = anchored_store(db_url, tmp_path)
    truncate(db_url, made, keep=70)
    path = log_path(config)
    path.write_text(path.read_text().splitlines()[0] + "\n")
    found = {(p.kind, p.capture_id) for p in verify(sessions, config).problems}
    assert found == {("anchor_log_truncated", None), ("chain_truncated", made[79]), ("chain_truncated", made[119])}
    sessions.kw["bind"].dispose()


def test_a_missing_anchor_log_is_named_and_a_moved_one_can_be_given(db_url, tmp_path):
    sessions, config, made = anchored_store(db_url, tmp_path)
    path = log_path(config)
    kept = tmp_path / "elsewhere" / "copy.jsonl"
    kept.parent.mkdir()
    shutil.copy(path, kept)
    path.unlink()
    report = verify(sessions, config)
    assert [p.kind for p in report.problems] == ["anchor_log_missing"]
    assert str(path) in report.problems[0].message and "--anchor PATH" in report.problems[0].message
    assert report.anchors["logs"][0]["found"] is False
    report = verify(sessions, config, files=[kept])
    assert report.ok, report.problems
    assert report.anchors["logs"][-1] == {"path": str(kept), "role": "given", "found": True, "lines": 3,
                                          "last": report.anchors["logs"][-1]["last"]}
    sessions.kw["bind"].dispose()


def test_an_edited_anchor_log_is_named(db_url, tmp_path):
    sessions, config, made = anchored_store(db_url, tmp_path)
    path = log_path(config)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["record_hash"] = "0" * 64
    lines[1] = json.dumps(entry, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    found = [(p.kind, p.capture_id) for p in verify(sessions, config).problems]
    assert ("anchor_log_altered", None) in found, "line 3 no longer links to line 2, and the store's copy differs"
    assert ("chain_rewritten", made[79]) in found, "line 2 now names a hash the chain never had"

    entry["record_hash"] = json.loads(path.read_text().splitlines()[2])["record_hash"]
    entry["written_at"] = "2020-01-01T00:00:00+00:00"
    lines[1] = json.dumps(entry, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    assert {p.kind for p in verify(sessions, config).problems} == {"anchor_log_altered", "chain_rewritten"}
    path.write_text("not json at all\n" + "\n".join(lines[1:]) + "\n")
    report = verify(sessions, config)
    assert any("line 1 of the anchor log" in p.message and "is not an anchor" in p.message for p in report.problems)
    sessions.kw["bind"].dispose()


def test_a_rewritten_chain_is_caught_by_its_anchors(db_url, tmp_path):
    """A capture in the middle deleted and every later hash and the head recomputed: the chain
    checks pass again, but the anchored heads no longer match."""
    sessions, config, made = anchored_store(db_url, tmp_path)
    tamper(db_url, "DELETE FROM captures WHERE id = :id", {"id": made[10]})
    with sessions() as session:
        previous, updates = None, []
        for capture in session.scalars(select(Capture).order_by(Capture.id)):
            sealed = record_hash(capture, previous)
            updates.append({"p": previous, "h": sealed, "id": capture.id})
            previous = sealed
    for update in updates:
        tamper(db_url, "UPDATE captures SET prev_hash = :p, record_hash = :h WHERE id = :id", update)
    tamper(db_url, "UPDATE chain_heads SET record_hash = :h WHERE id = 1", {"h": previous})
    found = [(p.kind, p.capture_id) for p in verify(sessions, config).problems]
    assert sorted(found) == sorted([("chain_rewritten", made[39]), ("chain_rewritten", made[79]),
                                    ("chain_rewritten", made[119])])
    sessions.kw["bind"].dispose()


def test_no_line_is_written_while_the_head_stays_and_postgresql_needs_a_configured_log(tmp_path, db_url):
    sessions, config, made = anchored_store(db_url, tmp_path, batches=(3,))
    assert anchor_head(sessions, config, "run") is None, "the log names this head already"
    assert read_log(log_path(config)).lines == 1
    if not db_url.startswith("sqlite"):
        bare = Config()
        bare.database.url = db_url
        assert log_path(bare) is None and anchor_head(sessions, bare, "run") is None
        with sessions() as session:
            report = verify_store(session, anchor_log=None)
        assert report.ok and "no anchor log is configured" in report.notes[0]
    else:
        assert default_log_path("sqlite:///:memory:") is None
    sessions.kw["bind"].dispose()


def test_an_unwritable_anchor_log_is_a_clear_error_and_the_work_stays(sqlite_url, tmp_path):
    from archiver.anchors import AnchorError, anchor_quietly

    sessions, config, made = anchored_store(sqlite_url, tmp_path, batches=(3,))
    config.integrity.anchor_log = str(tmp_path / "no" / "such" / "folder" / "anchors.jsonl")
    with pytest.raises(AnchorError, match="folder .* does not exist"):
        anchor_head(sessions, config, "run")
    assert anchor_quietly(sessions, config, "run") is None
    with sessions() as session:
        assert session.scalar(select(ChainAnchor.id).order_by(ChainAnchor.id.desc())) == 1
    sessions.kw["bind"].dispose()


def _append_many(path: str, offset: int) -> None:
    for i in range(25):
        append_line(Path(path), Head(offset + i, None, f"{offset + i:064x}"), "run")


def test_processes_appending_at_once_keep_the_log_linked(tmp_path):
    path = tmp_path / "anchors.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(path), 1000 * n)) for n in range(1, 5)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    reading = read_log(path)
    assert reading.problems == [] and reading.lines == 100
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == list(range(1, 101))


ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           "<p>{para} The company signed the agreement in the capital, officials said on Tuesday.</p>"
           "<p>Critics said the contract lacked any public tender and raised human rights concerns.</p>"
           "</article></body></html>")


def test_runs_anchor_the_head_and_verify_says_what_it_found(site, cli, tmp_path):
    """`archiver run` writes the head beside the store; `archiver verify` names the log, and
    fails in words a researcher understands once the newest captures are deleted."""
    urls = [site.set(f"/a/{i}.html", ARTICLE.format(title=f"Report {i}", para=f"第{i}段 Paragraph {i}."))
            for i in range(6)]
    for url in urls:
        assert cli("add", url).exit_code == 0
    assert cli("run", "--no-progress").exit_code == 0
    site.set("/a/2.html", ARTICLE.format(title="Report 2", para="Paragraph 2, edited."))
    assert cli("run", "--all", "--no-progress").exit_code == 0
    path = Path(str(tmp_path / "archive.db") + ".anchors.jsonl")
    assert read_log(path).lines == 2
    healthy = cli("verify")
    assert healthy.exit_code == 0, healthy.output
    assert "archive intact" in healthy.output and f"anchor log {path}" in healthy.output
    assert "2 line(s)" in healthy.output and "4 anchored head(s) found in the chain" in healthy.output

    tamper(cli.db_url, "DELETE FROM quote_checks")
    tamper(cli.db_url, "DELETE FROM wayback_jobs")
    tamper(cli.db_url, "DELETE FROM captures WHERE id > 8")
    tamper(cli.db_url, "UPDATE chain_heads SET capture_id = 8, record_hash = (SELECT record_hash FROM captures "
                       "WHERE id = 8) WHERE id = 1")
    broken = cli("verify")
    assert broken.exit_code == 1
    assert "the chain was cut short" in broken.output and "reached capture 12" in broken.output
    assert "now ends at capture 8" in broken.output
    data = json.loads(cli("verify", "--json").stdout)
    assert [p["kind"] for p in data["problems"]] == ["chain_truncated"]
