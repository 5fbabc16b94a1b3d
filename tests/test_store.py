from dataclasses import astuple

import pytest
from sqlalchemy import func, select

from archiver.blobs import pack
from archiver.db import open_database
from archiver.extract import extract
from archiver.models import Blob
from archiver.store import MissingBlob, get_blob, get_text, get_texts, put_blob, put_blobs, sha256_hex
from archiver.tasks import extract_and_pack
from archiver.terms import index_terms


def test_blobs_are_stored_once_and_compressed(db_url):
    sessions = open_database(db_url)
    body = ("<p>新疆 surveillance 监控</p>" * 2000).encode("utf-8")
    with sessions.begin() as session:
        keys, new = put_blobs(session, [body, body, b"other"])
        assert keys[0] == keys[1] == sha256_hex(body)
        assert new == 2
    with sessions.begin() as session:
        _, new = put_blobs(session, [body])
        assert new == 0
        assert session.scalar(select(func.count()).select_from(Blob)) == 2
        stored = session.get(Blob, sha256_hex(body))
        assert stored.size == len(body)
        assert len(stored.data) < len(body) / 10
    with sessions() as session:
        assert get_blob(session, sha256_hex(body)) == body


def test_blobs_packed_ahead_are_stored_as_they_are(db_url):
    """A body compressed by an extraction worker (blobs.pack) is stored without being compressed
    again, under its own name and size, and reads back as the original bytes; it is deduplicated
    against the same bytes stored raw."""
    sessions = open_database(db_url)
    body = "<html><title>通知</title><body><p>关于公开招标的公告 tender notice</p></body></html>".encode("gbk") * 300
    packed = pack(body)
    with sessions.begin() as session:
        keys, new = put_blobs(session, [packed, body], keys=[None, None])
        assert keys == [sha256_hex(body)] * 2 and new == 1
        stored = session.get(Blob, keys[0])
        assert (stored.size, stored.data) == (len(body), packed.data)
    with sessions() as session:
        assert get_blob(session, keys[0]) == body


def test_extract_and_pack_is_extract_plus_the_packed_body():
    body = "<html><head><meta charset=gbk><title>公告</title></head><body><p>新疆公安厅采购人脸识别系统。</p></body></html>".encode("gbk")
    extracted, packed, text = extract_and_pack(body, "text/html", "http://example.cn/a", sha256_hex(body))
    assert extracted == extract(body, "text/html", "http://example.cn/a")
    assert "人脸识别" in extracted.text
    assert packed == pack(body)
    assert (text.sha256, text.size, text.data) == astuple(pack(extracted.text.encode("utf-8")))
    assert text.terms == " ".join(index_terms(extracted.text))  # the search terms, made where the text is
    assert extract_and_pack(b"\x00\x01", "application/octet-stream", "http://example.cn/b")[2] is None


def test_text_round_trip_and_missing(db_url):
    sessions = open_database(db_url)
    with sessions.begin() as session:
        key = put_blob(session, "对不起，您访问的页面不存在".encode())
    with sessions() as session:
        assert get_text(session, key) == "对不起，您访问的页面不存在"
        assert get_text(session, None) == ""
        with pytest.raises(MissingBlob):
            get_blob(session, "0" * 64)


def test_many_texts_in_few_queries(db_url):
    sessions = open_database(db_url)
    texts = [f"第{i}条 notice number {i}" for i in range(1200)]
    with sessions.begin() as session:
        keys, _ = put_blobs(session, [t.encode("utf-8") for t in texts])
    with sessions() as session:
        found = get_texts(session, keys + [None, keys[0]])
        assert found == dict(zip(keys, texts))
        assert get_texts(session, []) == {}
        with pytest.raises(MissingBlob):
            get_texts(session, [keys[5], "0" * 64])
