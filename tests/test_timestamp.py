"""RFC 3161 timestamps of the chain head, against a real timestamp authority running on loopback.

The authority is built here with asn1crypto (the ASN.1 structures) and cryptography (the
key, the certificate and the signature); `openssl ts -verify` checks its tokens
independently of our own verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from archiver.chain import record_hash
from archiver.db import open_database, sqlite_path
from archiver.integrity import verify_store
from archiver.models import Capture, ChainHead
from archiver.timestamp import TimestampError, request_timestamp, timestamp_chain_head, verify_token
from tests.test_integrity import build_store


class LocalTSA:
    """A minimal RFC 3161 timestamp authority: signs a TSTInfo for each request, answers over HTTP."""

    def __init__(self, *, time_stamping_usage: bool = True, refuse: bool = False, echo_nonce: bool = True) -> None:
        now = datetime.now(UTC)
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loopback Test Root CA")])
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loopback Test TSA"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Authority")])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(self.key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True))
        if time_stamping_usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        self.cert = builder.sign(self.ca_key, hashes.SHA256())
        self.cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        self.refuse = refuse
        self.echo_nonce = echo_nonce
        self.serial = 0
        self.requests = 0
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                tsa.requests += 1
                answer = tsa.answer(tsp.TimeStampReq.load(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/tsr"

    def answer(self, request: tsp.TimeStampReq) -> bytes:
        """The DER TimeStampResp for `request`."""
        if self.refuse:
            status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["policy not accepted"]}).dump()
            return b"\x30" + bytes([len(status)]) + status
        self.serial += 1
        tst = tsp.TSTInfo({
            "version": "v1",
            "policy": "1.3.6.1.4.1.99999.1",
            "message_imprint": request["message_imprint"],
            "serial_number": self.serial,
            "gen_time": datetime.now(UTC).replace(microsecond=0),
            "nonce": request["nonce"].native if self.echo_nonce else 12345,
        })
        tst_der = tst.dump()
        cert = ax509.Certificate.load(self.cert_der)
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {"issuer": cert.issuer,
                                                                      "serial_number": cert.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
                {"type": "signing_certificate_v2",
                 "values": [{"certs": [{"cert_hash": hashlib.sha256(self.cert_der).digest()}]}]},
            ],
            "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
            "signature": b"",
        })
        to_sign = b"\x31" + signer["signed_attrs"].dump()[1:]
        signer["signature"] = self.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": tsp.TSTInfo.load(tst_der)},
            "certificates": [cert] if request["cert_req"].native else [],
            "signer_infos": [signer],
        })
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

    def __enter__(self) -> LocalTSA:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


HASH = hashlib.sha256(b"a sealed capture record").hexdigest()


def test_token_from_a_real_authority_verifies():
    with LocalTSA() as tsa:
        token, info = request_timestamp(HASH, tsa.url)
    assert info.authority == "Organization: Test Authority, Common Name: Loopback Test TSA"
    assert info.serial_number == 1 and info.policy == "1.3.6.1.4.1.99999.1"
    assert abs((info.gen_time - datetime.now(UTC)).total_seconds()) < 60
    assert verify_token(token, HASH).serial_number == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_token_independently(tmp_path):
    with LocalTSA() as tsa:
        token, _ = request_timestamp(HASH, tsa.url)
        (tmp_path / "ca.pem").write_bytes(tsa.ca_cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "token.der").write_bytes(token)
    result = subprocess.run(["openssl", "ts", "-verify", "-digest", HASH, "-token_in", "-in", str(tmp_path / "token.der"),
                             "-CAfile", str(tmp_path / "ca.pem")], capture_output=True, text=True)
    assert "Verification: OK" in result.stdout, result.stdout + result.stderr


def test_a_token_for_another_hash_or_altered_bytes_is_refused():
    with LocalTSA() as tsa:
        token, _ = request_timestamp(HASH, tsa.url)
    with pytest.raises(TimestampError, match=f"not record hash {'0' * 64}"):
        verify_token(token, "0" * 64)
    forged = bytearray(token)
    forged[-5] ^= 0x01
    with pytest.raises(TimestampError, match="signature does not verify|cannot be read"):
        verify_token(bytes(forged), HASH)
    serial_at = token.find(b"\x02\x01\x01\x18")
    assert serial_at > 0
    swapped = token[:serial_at] + b"\x02\x01\x02" + token[serial_at + 3:]
    with pytest.raises(TimestampError, match="altered after it was signed"):
        verify_token(swapped, HASH)


def test_refusals_and_bad_authorities_are_clear_errors():
    with LocalTSA(refuse=True) as tsa, pytest.raises(TimestampError, match="refused the request .rejection: policy not accepted"):
        request_timestamp(HASH, tsa.url)
    with LocalTSA(time_stamping_usage=False) as tsa, pytest.raises(TimestampError, match="not a timestamping certificate"):
        request_timestamp(HASH, tsa.url)
    with LocalTSA(echo_nonce=False) as tsa, pytest.raises(TimestampError, match="nonce mismatch"):
        request_timestamp(HASH, tsa.url)
    with LocalTSA() as tsa:
        closed = tsa.url
    with pytest.raises(TimestampError, match="cannot reach the timestamp authority"):
        request_timestamp(HASH, closed, timeout=2)


def test_chain_head_timestamp_is_kept_and_checked_by_verify(sqlite_url):
    made = build_store(sqlite_url)
    sessions = open_database(sqlite_url)
    with LocalTSA() as tsa, sessions.begin() as session:
        row, info = timestamp_chain_head(session, tsa.url)
        assert (row.capture_id, row.id) == (made[-1]["id"], 2)
    with sessions() as session:
        report = verify_store(session)
        assert report.ok and report.timestamps_checked == 1
        stored = session.get(ChainHead, 2)
        assert verify_token(stored.tsa_token, stored.record_hash).serial_number == info.serial_number


def test_rewritten_history_is_caught_by_the_timestamp(sqlite_url):
    """Someone deletes a capture and recomputes every later hash and the chain head: the chain
    checks pass again, but the timestamped record hash no longer matches."""
    made = build_store(sqlite_url)
    sessions = open_database(sqlite_url)
    with LocalTSA() as tsa, sessions.begin() as session:
        timestamp_chain_head(session, tsa.url)
    conn = sqlite3.connect(sqlite_path(sqlite_url))
    conn.execute("DELETE FROM captures WHERE id = ?", (made[1]["id"],))
    conn.commit()
    with sessions() as session:
        previous = None
        updates = []
        for capture in session.scalars(select(Capture).order_by(Capture.id)):
            sealed = record_hash(capture, previous)
            updates.append((previous, sealed, capture.id))
            previous = sealed
    conn.executemany("UPDATE captures SET prev_hash = ?, record_hash = ? WHERE id = ?", updates)
    conn.execute("UPDATE chain_heads SET record_hash = ? WHERE id = 1", (previous,))
    conn.commit()
    conn.close()
    with sessions() as session:
        report = verify_store(session)
    assert [(p.kind, p.capture_id) for p in report.problems] == [("capture_altered", made[-1]["id"])]
    assert "trusted timestamp 2" in report.problems[0].message


def test_damaged_stored_token_is_reported(sqlite_url):
    build_store(sqlite_url)
    sessions = open_database(sqlite_url)
    with LocalTSA() as tsa, sessions.begin() as session:
        timestamp_chain_head(session, tsa.url)
    conn = sqlite3.connect(sqlite_path(sqlite_url))
    conn.execute("UPDATE chain_heads SET tsa_token = ? WHERE id = 2", (b"\x30\x03\x02\x01\x00",))
    conn.commit()
    conn.close()
    with sessions() as session:
        assert [p.kind for p in verify_store(session).problems] == ["timestamp_invalid"]


def test_nothing_to_timestamp_and_no_authority(sqlite_url):
    sessions = open_database(sqlite_url)
    with sessions.begin() as session:
        with pytest.raises(TimestampError, match="no timestamp authority configured"):
            timestamp_chain_head(session, "")
        with pytest.raises(TimestampError, match="nothing to timestamp"):
            timestamp_chain_head(session, "http://127.0.0.1:9/")


def test_timestamp_command(sqlite_url, tmp_path):
    from click.testing import CliRunner

    from archiver.cli import main

    build_store(sqlite_url)
    runner = CliRunner()
    config = tmp_path / "config.toml"
    with LocalTSA() as tsa:
        config.write_text(f'[database]\nurl = "{sqlite_url}"\n[integrity]\ntsa_url = "{tsa.url}"\n')
        result = runner.invoke(main, ["--config", str(config), "timestamp", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["capture_id"] == 5 and "Loopback Test TSA" in data["authority"]
        listed = runner.invoke(main, ["--config", str(config), "timestamp", "--list", "--json"])
    tokens = json.loads(listed.stdout)
    assert len(tokens) == 1 and tokens[0]["valid"] is True
    assert base64.b64decode(tokens[0]["token"]).startswith(b"\x30")

    config.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    missing = runner.invoke(main, ["--config", str(config), "timestamp"])
    assert missing.exit_code == 1 and "no timestamp authority configured" in missing.output


def test_the_timestamp_command_keeps_its_token_in_the_anchor_log_too(sqlite_url, tmp_path):
    """Deleting the token rows from the database does not lose the timestamp: the anchor log
    holds it as well, and verify checks it there."""
    from click.testing import CliRunner

    from archiver.anchors import default_log_path, read_log
    from archiver.cli import main

    made = build_store(sqlite_url)
    runner = CliRunner()
    config = tmp_path / "config.toml"
    with LocalTSA() as tsa:
        config.write_text(f'[database]\nurl = "{sqlite_url}"\n[integrity]\ntsa_url = "{tsa.url}"\n')
        assert runner.invoke(main, ["--config", str(config), "timestamp"]).exit_code == 0
    path = default_log_path(sqlite_url)
    [anchor] = read_log(path).anchors
    assert (anchor.capture_id, anchor.command) == (made[-1]["id"], "timestamp")
    assert verify_token(anchor.tsa_token, anchor.record_hash).authority.endswith("Loopback Test TSA")

    conn = sqlite3.connect(sqlite_path(sqlite_url))
    conn.execute("DELETE FROM chain_heads WHERE id = 2")
    conn.commit()
    conn.close()
    result = runner.invoke(main, ["--config", str(config), "verify", "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["anchors"]["timestamps"] == 1 and data["timestamps_checked"] == 0

    entry = json.loads(path.read_text())
    entry["tsa_token"] = base64.b64encode(b"\x30\x03\x02\x01\x00").decode()
    path.write_text(json.dumps(entry) + "\n")
    result = runner.invoke(main, ["--config", str(config), "verify", "--json"])
    kinds = sorted(p["kind"] for p in json.loads(result.stdout)["problems"])
    assert result.exit_code == 1 and kinds == ["anchor_log_altered", "timestamp_invalid"]


def test_a_head_that_is_a_chained_event_is_timestamped_and_checked(sqlite_url):
    from tests.test_integrity import build_full_store, tamper

    made = build_full_store(sqlite_url)
    sessions = open_database(sqlite_url)
    with LocalTSA() as tsa, sessions.begin() as session:
        row, _ = timestamp_chain_head(session, tsa.url)
        assert (row.capture_id, row.event_id) == (made["captures"][-1], made["event"])
    with sessions() as session:
        report = verify_store(session)
        assert report.ok and report.timestamps_checked == 1 and report.anchors["checked"] == 1
    tamper(sqlite_url, "UPDATE chain_events SET payload = '{}' WHERE id = :id", {"id": made["event"]})
    tamper(sqlite_url, "UPDATE chain_events SET record_hash = :h WHERE id = :id", {"h": "e" * 64, "id": made["event"]})
    tamper(sqlite_url, "UPDATE chain_heads SET record_hash = :h WHERE id = 1", {"h": "e" * 64})
    with sessions() as session:
        found = [(p.kind, p.event_id) for p in verify_store(session).problems]
    assert ("event_altered", made["event"]) in found, "the timestamp no longer matches the event it covered"
