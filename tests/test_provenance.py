"""Provenance records: every hop's address, headers and TLS chain, stored and sealed with each capture."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from archiver.config import FetchConfig
from archiver.fetch import Fetcher
from archiver.provenance import Provenance
from tests.certs import make_certs
from tests.siteserver import Site


def fetch(url: str, **config) -> object:
    async def go():
        async with Fetcher(FetchConfig(allow_private_addresses=True, per_host_delay=0.0, timeout=5.0, **config)) as f:
            return await f.fetch(url)

    return asyncio.run(go())


def test_every_hop_is_recorded_with_its_address_and_headers(site):
    site.set("/end", "<html><body><p>The end of the chain.</p></body></html>", headers={"X-Served-By": "end"})
    site.redirect("/middle", "/end", status=302)
    site.redirect("/start", "/middle")
    result = fetch(site.url("/start"))
    assert [e.url for e in result.exchanges] == [site.url("/start"), site.url("/middle"), site.url("/end")]
    assert [e.status for e in result.exchanges] == [301, 302, 200]
    assert all(e.server_ip == "127.0.0.1" and e.tls is None for e in result.exchanges)
    assert ["Location", site.url("/middle")] in result.exchanges[0].response_headers
    assert ["X-Served-By", "end"] in result.exchanges[2].response_headers
    assert all(dict(e.request_headers)["User-Agent"] == FetchConfig().user_agent for e in result.exchanges)
    assert all(e.started_at for e in result.exchanges)


def test_https_records_tls_version_and_the_certificate_chain(tmp_path):
    certs = make_certs(tmp_path)
    site = Site(tls=certs.server_context()).start()
    try:
        site.set("/", "<html><body><p>Secure page.</p></body></html>")
        result = fetch(site.url("/"), ca_file=str(certs.ca_file))
    finally:
        site.stop()
    assert result.ok, result.error
    tls = result.exchanges[0].tls
    assert tls.version in ("TLSv1.2", "TLSv1.3") and tls.cipher
    import hashlib

    assert [c.sha256 for c in tls.chain] == [hashlib.sha256(certs.leaf_der).hexdigest(),
                                             hashlib.sha256(certs.ca_der).hexdigest()]
    leaf = tls.chain[0]
    assert "CN=127.0.0.1" in leaf.subject and "CN=Archiver Test CA" in leaf.issuer
    assert leaf.not_before < leaf.not_after
    assert Provenance(agent="httpx", user_agent=None, software={}, exchanges=result.exchanges).certificates() == {
        tls.chain[0].sha256: certs.leaf_der, tls.chain[1].sha256: certs.ca_der}


def test_an_unknown_authority_is_a_tls_failure(tmp_path):
    certs = make_certs(tmp_path)
    site = Site(tls=certs.server_context()).start()
    try:
        site.set("/", "<html><body><p>Secure page.</p></body></html>")
        result = fetch(site.url("/"))
    finally:
        site.stop()
    assert result.error_kind == "tls"


def test_a_stored_record_reads_back_and_keeps_unknown_keys():
    record = {"agent": "httpx", "user_agent": "UA", "software": {"archiver": "1"}, "version": 1,
              "vantage": "beijing", "exchanges": [{"url": "http://a/", "status": 200, "server_ip": "1.2.3.4",
                                                     "http_version": "HTTP/1.1", "request_headers": [],
                                                     "response_headers": [], "tls": None, "proxy": "p"}]}
    prov = Provenance.from_dict(record)
    assert prov.extra == {"vantage": "beijing"} and prov.exchanges[0].server_ip == "1.2.3.4"
    assert Provenance.from_dict(prov.to_dict()).to_dict() == prov.to_dict()


def test_a_capture_carries_its_provenance_sealed_and_shown(tmp_path, monkeypatch):
    from tests.conftest import make_cli

    certs = make_certs(tmp_path)
    site = Site(tls=certs.server_context()).start()
    cli = make_cli(tmp_path, monkeypatch)
    cli.config.write_text(cli.config.read_text().replace("[fetch]\n", f'[fetch]\nca_file = "{certs.ca_file}"\n'))
    try:
        site.set("/a", "<html><body><article><p>" + "A page whose capture is evidence. " * 5 + "</p></article></body></html>")
        site.redirect("/old", "/a")
        assert cli("add", site.url("/old")).exit_code == 0
        assert cli("run").exit_code == 0
    finally:
        site.stop()
    shown = cli("show", site.url("/old"), "--provenance")
    assert shown.exit_code == 0, shown.output
    assert "request 1: GET " + site.url("/old") in shown.output and "request 2: GET " + site.url("/a") in shown.output
    assert "subject O=Archiver Test,CN=127.0.0.1" in shown.output or "CN=127.0.0.1,O=Archiver Test" in shown.output
    assert shown.output.count("-----BEGIN CERTIFICATE-----") == 4  # two hops, each with leaf and CA
    data = json.loads(cli("show", site.url("/old"), "--provenance", "--json").output)
    exchanges = data["provenance"]["exchanges"]
    assert [e["status"] for e in exchanges] == [301, 200]
    assert exchanges[1]["tls"]["chain"][1]["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert data["provenance"]["software"]["archiver"] and data["provenance"]["agent"] == "httpx"
    assert cli("verify").exit_code == 0
    path = cli.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE captures SET provenance = replace(provenance, '127.0.0.1', '10.9.9.9')")
    tampered = cli("verify")
    assert tampered.exit_code != 0 and "capture 1" in tampered.output


def test_show_provenance_of_a_capture_that_failed(cli):
    cli("add", "http://127.0.0.1:9/nothing-listens")
    cli("run")
    shown = cli("show", "http://127.0.0.1:9/nothing-listens", "--provenance")
    assert shown.exit_code == 0
    assert "collected by: httpx" in shown.output and "no request got an answer" in shown.output
