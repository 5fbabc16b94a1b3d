"""WACZ packages: validated by the `wacz` package's validator, and their index finds every page in the WARC."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import zipfile

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archiver.db import open_database
from archiver.models import Capture
from archiver.store import get_blob
from archiver.wacz import write_wacz
from archiver.warc import select_captures
from tests.processes import console_script
from tests.test_warc import ZH_PAGE, store_with_captures

validate = pytest.importorskip("wacz.validate", reason="the wacz package is in the test extras: pip install -e .[test]")


def package(url: str, path, **kwargs):
    sessions = open_database(url)
    with sessions() as session:
        return write_wacz(session, select_captures(session), path, **kwargs)


def run_validator(path) -> tuple[bool, str]:
    result = subprocess.run([console_script("wacz"), "validate", "-f", str(path)], capture_output=True, text=True)
    return result.returncode == 0, result.stdout + result.stderr


def test_wacz_validates_with_the_wacz_package(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    path = package(sqlite_url, tmp_path / "evidence.wacz", title="Claim 12: 云从科技 contract")
    ok, output = run_validator(path)
    assert ok, output
    assert "Validation succeeded, the passed WACZ is valid" in output

    checks = validate.Validation(str(path))
    assert checks.version == "1.1.1"
    assert checks.check_file_hashes() and checks.check_file_paths() and checks.frictionless_validate()
    assert checks.check_data_package_hash_and_sig()

    with zipfile.ZipFile(path) as archive:
        names = {info.filename: info for info in archive.infolist()}
        assert set(names) == {"archive/data.warc.gz", "indexes/index.cdx.gz", "indexes/index.idx",
                              "pages/pages.jsonl", "datapackage.json", "datapackage-digest.json"}
        assert names["archive/data.warc.gz"].compress_type == zipfile.ZIP_STORED
        assert names["indexes/index.cdx.gz"].compress_type == zipfile.ZIP_STORED
        datapackage = json.loads(archive.read("datapackage.json"))
        assert datapackage["title"] == "Claim 12: 云从科技 contract"
        assert datapackage["wacz_version"] == "1.1.1"
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").decode().splitlines()]
    assert pages[0]["format"] == "json-pages-1.0"
    assert [p["url"] for p in pages[1:]] == ["http://news.example.org/contract",
                                             "http://www.example.gov.cn/art/2018/4/1/art_1.html"]
    assert pages[1]["ts"].startswith("2024-05-06T07:08:09")


def test_tampered_wacz_fails_validation(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    path = package(sqlite_url, tmp_path / "evidence.wacz")
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "pages/pages.jsonl":
                data = data.replace(b"example.org", b"example.net")
            target.writestr(info, data)
    ok, output = run_validator(tampered)
    assert not ok and "Validation failed" in output
    assert "pages.jsonl': [{'type': 'hash-count'" in output


def test_index_points_at_each_capture_in_the_warc(sqlite_url, tmp_path):
    store_with_captures(sqlite_url)
    path = package(sqlite_url, tmp_path / "evidence.wacz")
    with zipfile.ZipFile(path) as archive:
        warc = archive.read("archive/data.warc.gz")
        blocks = archive.read("indexes/index.cdx.gz")
        idx = archive.read("indexes/index.idx").decode().splitlines()
    assert idx[0].startswith("!meta 0 ") and json.loads(idx[0][8:])["format"] == "cdxj-gzip-1.0"
    block = json.loads(idx[1].split(" ", 2)[2])
    lines = gzip.decompress(blocks[block["offset"]:block["offset"] + block["length"]]).decode().splitlines()
    entries = {}
    for line in lines:
        urlkey, timestamp, data = line.split(" ", 2)
        entries[(urlkey, timestamp)] = json.loads(data)
    assert ("cn,gov,example)/art/2018/4/1/art_1.html", "20240506070909") in entries
    assert {e["mime"] for e in entries.values()} == {"text/html", "warc/revisit"}

    sessions = open_database(sqlite_url)
    with sessions() as session:
        bodies = {c.final_url: get_blob(session, c.body_sha256)
                  for c in session.scalars(select(Capture).where(Capture.not_modified.is_(False)))
                  if c.body_sha256}
    for entry in entries.values():
        if entry["mime"] == "warc/revisit":
            continue
        record_bytes = warc[int(entry["offset"]):int(entry["offset"]) + int(entry["length"])]
        record = next(iter(ArchiveIterator(io.BytesIO(record_bytes))))
        assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
        assert record.content_stream().read() == bodies[entry["url"]]
        assert entry["digest"] == record.rec_headers.get_header("WARC-Payload-Digest")
    assert bodies["http://www.example.gov.cn/art/2018/4/1/art_1.html"] == ZH_PAGE.encode("gbk")


def test_empty_selection_still_makes_a_valid_wacz(sqlite_url, tmp_path):
    sessions = open_database(sqlite_url)
    with sessions() as session:
        path = write_wacz(session, [], tmp_path / "empty.wacz")
    ok, output = run_validator(path)
    assert ok, output


def test_wacz_of_real_captures_validates(site, config, tmp_path):
    from tests.test_integrity import real_store

    sessions = real_store(site, config)
    with sessions() as session:
        path = write_wacz(session, select_captures(session), tmp_path / "real.wacz", title="Two passes")
    ok, output = run_validator(path)
    assert ok, output
    with zipfile.ZipFile(path) as archive:
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").decode().splitlines()[1:]]
    assert sorted({p["url"] for p in pages}) == [site.url("/en.html"), site.url("/zh.html")]
    assert len(pages) == 6
    assert "合作协议" in {p["title"] for p in pages}


def test_wacz_and_warc_carry_the_chain_head_and_verify_checks_the_archive_against_them(sqlite_url, tmp_path):
    """The head at export time is in datapackage.json and in the WARC's warcinfo record, with the
    sealed Wayback event of a capture in its metadata record; `verify --anchor` reads both back."""
    from click.testing import CliRunner

    from archiver.chain import append_event
    from archiver.cli import main
    from archiver.models import ChainHead
    from archiver.warc import write_warc
    from tests.test_integrity import tamper

    ids = store_with_captures(sqlite_url)
    sessions = open_database(sqlite_url)
    with sessions.begin() as session:
        event = append_event(session, "wayback", capture_id=ids["plain"], payload={
            "wayback_url": "https://web.archive.org/web/20240301080500/http://news.example.org/contract",
            "wayback_timestamp": "20240301080500"})
        event_id, event_hash = event.id, event.record_hash
    with sessions() as session:
        head = session.get(ChainHead, 1)
        expected = {"capture_id": head.capture_id, "event_id": event_id, "record_hash": event_hash}
        assert head.record_hash == event_hash
    wacz = package(sqlite_url, tmp_path / "evidence.wacz")
    warc = tmp_path / "evidence.warc.gz"
    with sessions() as session:
        write_warc(session, select_captures(session), warc)
    ok, output = run_validator(wacz)
    assert ok, output
    with zipfile.ZipFile(wacz) as archive:
        assert json.loads(archive.read("datapackage.json"))["chain_head"] == expected
    kinds = []
    with open(warc, "rb") as stream:
        for record in ArchiveIterator(stream):
            kinds.append(record.rec_type)
            if record.rec_type == "warcinfo":
                fields = record.content_stream().read().decode()
            elif record.rec_type == "metadata" and record.rec_headers.get_header("WARC-Target-URI").endswith(
                    f":{ids['plain']}"):
                metadata = json.loads(record.content_stream().read())
    assert kinds[0] == "warcinfo"
    assert f"chain-head-record-hash: {event_hash}" in fields and f"chain-head-event: {event_id}" in fields
    assert metadata["wayback_url"].endswith("/http://news.example.org/contract")
    assert metadata["record_version"] == 3 and metadata["events"][0]["record_hash"] == event_hash

    runner = CliRunner()
    env = {"ARCHIVER_DATABASE_URL": sqlite_url}
    for file in (wacz, warc):
        result = runner.invoke(main, ["verify", "--anchor", str(file)], env=env)
        assert result.exit_code == 0, result.output
    tamper(sqlite_url, "DELETE FROM chain_events WHERE id = :id", {"id": event_id})
    tamper(sqlite_url, "UPDATE chain_heads SET event_id = NULL, record_hash = (SELECT record_hash FROM captures "
                       "WHERE id = capture_id) WHERE id = 1")
    for file in (wacz, warc):
        result = runner.invoke(main, ["verify", "--json", "--anchor", str(file)], env=env)
        assert result.exit_code == 1
        problems = json.loads(result.stdout)["problems"]
        assert [(p["kind"], p["event_id"]) for p in problems] == [("chain_truncated", event_id)]
        assert str(file) in problems[0]["message"]
    result = runner.invoke(main, ["verify", "--anchor", str(tmp_path / "nothing.json")], env=env)
    assert result.exit_code == 1 and "anchor file not found" in result.output
